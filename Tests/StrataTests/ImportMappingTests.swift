import Foundation
import StrataTestSupport
import Testing

@testable import Strata

/// Imports `text` from a scratch file named `name`.
private func imported(_ text: String, name: String, options: ImportOptions = .init()) -> ImportResult {
    let path = ScratchFolder.make("import-map").appendingPathComponent(name).path
    FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return Importer.run(path: path, options: options)
}

/// A Keras 3 model of one Dense layer with these compile settings.
private func compiled(_ compile: String) -> String {
    """
    {"class_name": "Sequential", "config": {"name": "m", "layers": [
     {"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}},
     {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "softmax"}}]},
     "compile_config": \(compile)}
    """
}

@Test func kerasCompileSettingsMapToStrata() throws {
    let cases: [(String, String)] = [
        (
            #"{"loss": "categorical_crossentropy", "metrics": [["acc"]], "optimizer": {"class_name": "Adam", "config": {"learning_rate": {"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.01, "decay_steps": 100, "decay_rate": 0.5, "staircase": true}}, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-06, "weight_decay": null}}}"#,
            "optimizer: {adam: {learning_rate: 0.01, schedule: {step: {decay_steps: 100, decay_rate: 0.5}}, beta_1: 0.8, beta_2: 0.99, epsilon: 1.0e-06}}"
        ),
        (
            #"{"loss": {"class_name": "CategoricalCrossentropy", "config": {"from_logits": false}}, "metrics": ["categorical_accuracy"], "optimizer": {"class_name": "RMSprop", "config": {"learning_rate": {"class_name": "InverseTimeDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}}, "rho": 0.8, "momentum": 0.0, "epsilon": 1e-07, "centered": false}}}"#,
            "optimizer: {rmsprop: {learning_rate: 0.1, schedule: {inverse_time: {decay_steps: 10, decay_rate: 0.5}}, rho: 0.8, momentum: 0, epsilon: 1.0e-07}}"
        ),
        (
            #"{"loss": "sparse_categorical_crossentropy", "optimizer": {"class_name": "AdamW", "config": {"learning_rate": {"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.002, "decay_steps": 1000, "alpha": 0.1, "warmup_steps": 0}}, "weight_decay": 0.01}}}"#,
            "optimizer: {adamw: {learning_rate: 0.002, schedule: {cosine: {decay_steps: 1000, alpha: 0.1}}, weight_decay: 0.01}}"
        ),
        // Keras 2: `lr` and the legacy `decay` (lr / (1 + decay·t)).
        (
            #"{"loss": "categorical_crossentropy", "optimizer": {"class_name": "SGD", "config": {"lr": 0.1, "decay": 0.001, "momentum": 0.5, "nesterov": false}}}"#,
            "optimizer: {sgd: {learning_rate: 0.1, momentum: 0.5, nesterov: false, schedule: {inverse_time: {decay_steps: 1, decay_rate: 0.001}}}}"
        ),
    ]
    for (compile, expected) in cases {
        let result = imported(compiled(compile), name: "m.json")
        let yaml = try #require(result.yaml, "\(result.diagnostics.items)")
        #expect(yaml.contains(expected + "\n"), "\(yaml)")
    }
}

@Test func kerasInitializersAndRegularizersMap() throws {
    let json = """
        {"class_name": "Sequential", "config": {"name": "m", "layers": [
         {"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}},
         {"class_name": "Dense", "config": {"name": "a", "units": 4, "kernel_initializer": {"class_name": "HeUniform", "config": {}}, "bias_initializer": {"class_name": "Constant", "config": {"value": 0.1}}, "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}}}},
         {"class_name": "Dense", "config": {"name": "b", "units": 1, "activation": "sigmoid", "kernel_initializer": {"class_name": "Orthogonal", "config": {}}}}]}}
        """
    let result = imported(json, name: "m.json")
    let yaml = try #require(result.yaml)
    #expect(
        yaml.contains(
            "- dense: {name: a, units: 4, kernel_initializer: he_uniform, bias_initializer: {constant: 0.1}, kernel_regularizer: {l1: 0.01, l2: 0.02}}"
        ))
    #expect(yaml.contains("- dense: {name: b, units: 1, activation: sigmoid}"))
    #expect(yaml.contains("loss: binary_crossentropy"))
    #expect(
        result.diagnostics.items.contains {
            $0.message.hasPrefix("kernel_initializer Orthogonal has no Strata equivalent")
        })
}

/// One refusal per rule not covered by a fixture file: the first error's line and message.
@Test func eachFormatRefusesWhatItCannotRepresent() {
    let keras = { (layer: String) in
        """
        {"class_name": "Sequential", "config": {"name": "m", "layers": [
         {"class_name": "InputLayer", "config": {"batch_shape": [null, 8, 8, 2]}},
         \(layer)]}}
        """
    }
    let caffe = { (layers: String) in
        "name: \"n\"\ninput: \"data\"\ninput_shape { dim: 1 dim: 2 dim: 8 dim: 8 }\n\(layers)\n"
    }
    let darknet = { (sections: String) in "[net]\nwidth=8\nheight=8\nchannels=2\ndecay=0\n\n\(sections)\n" }
    let cases: [(name: String, text: String, line: Int, message: String)] = [
        (
            "m.json", keras(#"{"class_name": "Dropout", "config": {"rate": 0.5, "noise_shape": [1, 1, 2]}}"#), 3,
            "noise_shape"
        ),
        (
            "m.json", keras(#"{"class_name": "GlobalAveragePooling2D", "config": {"keepdims": true}}"#), 3,
            "keepdims true"
        ),
        (
            "m.json",
            keras(#"{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3, "padding": "causal"}}"#), 3,
            "padding \"causal\""
        ),
        (
            "m.json",
            keras(
                #"{"class_name": "Dense", "config": {"units": 2, "bias_regularizer": {"class_name": "L2", "config": {"l2": 0.1}}}}"#
            ), 3, "bias_regularizer"
        ),
        ("m.json", keras(#"{"class_name": "ReLU", "config": {"max_value": 6.0}}"#), 3, "max_value 6.0"),
        (
            "m.json", keras(#"{"class_name": "BatchNormalization", "config": {"axis": 1}}"#), 3,
            "BatchNormalization over axis 1"
        ),
        ("m.json", keras(#"{"class_name": "Sequential", "config": {"layers": []}}"#), 3, "Keras layer Sequential"),
        (
            "n.prototxt",
            caffe(
                #"layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 dilation: 2 } }"#
            ), 4, "dilation 2"
        ),
        (
            "n.prototxt", caffe(#"layer { name: "s" type: "Scale" bottom: "data" top: "data" }"#), 4,
            "a Scale layer not after a BatchNorm"
        ),
        (
            "n.prototxt",
            caffe(
                #"layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 axis: 2 } }"#
            ), 4, "InnerProduct axis 2"
        ),
        (
            "n.prototxt",
            caffe(
                #"layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" top: "extra" inner_product_param { num_output: 2 } }"#
            ), 4, "layer ip has 2 outputs"
        ),
        (
            "n.prototxt",
            caffe(
                "layer { name: \"f\" type: \"Flatten\" bottom: \"data\" top: \"f\" }\nlayer { name: \"l1\" type: \"EuclideanLoss\" bottom: \"f\" bottom: \"t\" top: \"l1\" }\nlayer { name: \"l2\" type: \"EuclideanLoss\" bottom: \"f\" bottom: \"t\" top: \"l2\" }"
            ), 6, "a second loss layer"
        ),
        (
            "n.prototxt", caffe(#"layer { name: "f" type: "Flatten" bottom: "data" top: "f" }"#), 1,
            "the net has no loss layer"
        ),
        (
            "n.cfg", darknet("[convolutional]\nfilters=2\nsize=3\nxnor=1\nactivation=relu\n\n[softmax]"), 10,
            "xnor convolutions"
        ),
        ("n.cfg", darknet("[avgpool]\n\n[softmax]\ngroups=2"), 10, "softmax over groups"),
        ("n.cfg", darknet("[avgpool]\n\n[softmax]\ntemperature=2"), 10, "a softmax temperature"),
        ("n.cfg", darknet("[connected]\noutput=1\nactivation=linear\n\n[cost]\ntype=smooth"), 12, "cost type smooth"),
        ("n.cfg", darknet("[local]\nfilters=2"), 7, "Darknet layer [local]"),
        ("n.cfg", "[convolutional]\nfilters=2\n", 1, "a Darknet cfg starts with [net]"),
    ]
    for c in cases {
        let result = imported(c.text, name: c.name)
        let error = result.diagnostics.errors.first
        #expect(result.yaml == nil, "\(c.message)")
        #expect(
            error?.location?.line == c.line && error?.message.contains(c.message) == true,
            "\(c.message): \(result.diagnostics.items)")
    }
}

/// Caffe's iteration-count solver without the training set's size keeps the arithmetic as a comment.
@Test func caffeSolverWithoutExamplesExplainsEpochs() throws {
    let net =
        "name: \"n\"\nlayer { name: \"d\" type: \"Input\" top: \"d\" input_param { shape { dim: 1 dim: 4 } } }\n"
        + "layer { name: \"ip\" type: \"InnerProduct\" bottom: \"d\" top: \"ip\" inner_product_param { num_output: 3 } }\n"
        + "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"ip\" bottom: \"label\" top: \"loss\" }\n"
    let folder = ScratchFolder.make("import-map")
    let netPath = folder.appendingPathComponent("n.prototxt").path,
        solverPath = folder.appendingPathComponent("s.prototxt").path
    FileManager.default.createFile(atPath: netPath, contents: Data(net.utf8))
    FileManager.default.createFile(
        atPath: solverPath,
        contents: Data(
            "base_lr: 0.1\nlr_policy: \"step\"\ngamma: 0.5\nstepsize: 100\nmax_iter: 500\ntype: \"Nesterov\"\nmomentum: 0.9\n"
                .utf8))
    let result = Importer.run(path: netPath, options: ImportOptions(solver: solverPath))
    let yaml = try #require(result.yaml)
    #expect(
        yaml.contains(
            "optimizer: {sgd: {learning_rate: 0.1, momentum: 0.9, nesterov: true, schedule: {step: {decay_steps: 100, decay_rate: 0.5}}}}"
        ))
    #expect(
        yaml.contains(
            "# Caffe's max_iter 500 × batch 32 = 16000 examples: set epochs to that ÷ your training set's size."))
    #expect(
        result.diagnostics.items.contains {
            $0.location?.line == 5 && $0.message.hasPrefix("max_iter 500 counts batches")
        })
}

/// Keys no rule reads are warned about where they stand, never dropped without a word; Caffe's FLOOR rounding is
/// honoured.
@Test func unreadKeysAreWarnedAbout() throws {
    let caffe = """
        name: "n"
        input: "data"
        input_shape { dim: 1 dim: 1 dim: 13 dim: 13 }
        layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 round_mode: FLOOR } }
        layer { name: "f" type: "Flatten" bottom: "p" top: "f" propagate_down: false }
        layer { name: "ip" type: "InnerProduct" bottom: "f" top: "ip" inner_product_param { num_output: 3 transpose: true } }
        layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" loss_weight: 0.5 }
        """
    let result = imported(caffe, name: "n.prototxt")
    let yaml = try #require(result.yaml, "\(result.diagnostics.items)")
    // FLOOR: ⌊(13 − 2) / 2⌋ + 1 = 6, Strata's valid padding, no warning about rounding.
    #expect(yaml.contains("- max_pool2d: {name: p, pool_size: 2}"))
    let warnings = result.diagnostics.items.map { "\($0.location?.line ?? 0) \($0.message)" }
    #expect(
        warnings == [
            "5 layer field propagate_down has no Strata equivalent and is not imported",
            "6 inner_product_param transpose has no Strata equivalent and is not imported",
            "7 loss_weight 0.5 has no Strata equivalent: the loss is not scaled",
        ])
    let keras = """
        {"class_name": "Sequential", "config": {"name": "m", "layers": [
         {"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}},
         {"class_name": "BatchNormalization", "config": {"gamma_initializer": {"class_name": "Zeros", "config": {}}}},
         {"class_name": "Dense", "config": {"units": 1, "activation": "sigmoid", "future_option": 3}}]}}
        """
    let kerasResult = imported(keras, name: "m.json")
    #expect(kerasResult.yaml != nil)
    let kerasWarnings = kerasResult.diagnostics.items.map { "\($0.location?.line ?? 0) \($0.message)" }
    #expect(kerasWarnings.contains { $0.hasPrefix("3 gamma_initializer Zeros has no Strata equivalent") })
    #expect(kerasWarnings.contains("4 Dense key future_option has no Strata equivalent and is not imported"))
    let lora = imported(
        keras.replacingOccurrences(of: "\"future_option\": 3", with: "\"lora_rank\": 4"), name: "m.json")
    #expect(lora.yaml == nil)
    #expect(lora.diagnostics.errors.first?.message == "lora_rank 4 has no Strata equivalent")
}

/// Sizes past what any model holds are refused as out of range, never multiplied into an overflow.
@Test func hugeSizesAreRefusedNotOverflowed() {
    let caffe = imported(
        "name: \"n\"\ninput: \"data\"\ninput_shape { dim: 1 dim: 4000000000000 dim: 4000000000000 dim: 4000000000000 }\n"
            + "layer { name: \"ip\" type: \"InnerProduct\" bottom: \"data\" top: \"ip\" inner_product_param { num_output: 3 } }\n",
        name: "n.prototxt")
    #expect(caffe.diagnostics.errors.first?.message == "the input shape must be whole numbers from 1 to 2147483647")
    let darknet = imported(
        "[net]\nbatch=9000000000000000\nwidth=8\nheight=8\nchannels=1\nmax_batches=9000000000000000\n[avgpool]\n[softmax]\n",
        name: "n.cfg", options: ImportOptions(trainExamples: 5))
    #expect(
        darknet.diagnostics.errors.map(\.message) == [
            "batch=9000000000000000 must be a whole number from 1 to 2147483647",
            "max_batches=9000000000000000 must be a whole number from 0 to 2147483647",
        ])
    // The largest sizes allowed multiply without overflow: 2^31 − 1 squared, and a flattened image.
    let wide = imported(
        "[net]\nbatch=2147483647\nwidth=46340\nheight=46340\nchannels=2147483647\nmax_batches=2147483647\n[connected]\noutput=2\n[softmax]\n",
        name: "w.cfg", options: ImportOptions(trainExamples: 1))
    #expect(wide.yaml == nil)
    #expect(wide.diagnostics.hasErrors)
}
