"""Writes this folder's Keras 3 fixtures with Keras itself, so the import tests read what Keras writes.

    python3 make_fixtures.py   # needs keras (3.x) with any backend

cnn.keras: a Sequential CNN, compiled (the archive keeps the compile settings).
mlp.json: model.to_json() of an uncompiled Sequential MLP.
chain.json: a functional model whose layers form one chain.
merge.json: a functional model with an Add merge (refused by strata import).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras
from keras import layers

here = os.path.dirname(os.path.abspath(__file__))

cnn = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4)),
        layers.BatchNormalization(),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.2),
        layers.Dense(10),
    ],
    name="keras_cnn",
)
cnn.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
cnn.save(os.path.join(here, "cnn.keras"))

mlp = keras.Sequential(
    [
        keras.Input(shape=(64,)),
        layers.Dense(32, activation="relu", kernel_initializer="he_normal"),
        layers.LeakyReLU(negative_slope=0.1),
        layers.Dense(16, activation="tanh"),
        layers.Activation("gelu"),
        layers.Dense(10, activation="softmax"),
    ],
    name="keras_mlp",
)
with open(os.path.join(here, "mlp.json"), "w") as f:
    f.write(mlp.to_json(indent=1))

inputs = keras.Input(shape=(4,))
x = layers.Dense(8, activation="relu")(inputs)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
chain = keras.Model(inputs, outputs, name="keras_chain")
with open(os.path.join(here, "chain.json"), "w") as f:
    f.write(chain.to_json(indent=1))

inputs = keras.Input(shape=(4,))
a = layers.Dense(8)(inputs)
b = layers.Dense(8)(inputs)
outputs = layers.Dense(1)(layers.Add()([a, b]))
merge = keras.Model(inputs, outputs, name="keras_merge")
with open(os.path.join(here, "merge.json"), "w") as f:
    f.write(merge.to_json(indent=1))
