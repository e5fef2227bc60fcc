/// Keras' names for what Strata spells another way: `strata import` maps a model's names through these tables,
/// and the spec parser suggests Strata's word when a spec uses one (a Keras user's `lr`, `acc` or
/// `mean_squared_error`).
public enum KerasNames {
    /// Keras' loss names (functions and classes) and Strata's loss for each.
    public static let losses = [
        "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
        "categorical_crossentropy": "categorical_crossentropy", "CategoricalCrossentropy": "categorical_crossentropy",
        "binary_crossentropy": "binary_crossentropy", "BinaryCrossentropy": "binary_crossentropy",
        "mse": "mse", "mean_squared_error": "mse", "MeanSquaredError": "mse",
        "mae": "mae", "mean_absolute_error": "mae", "MeanAbsoluteError": "mae",
    ]

    /// Keras' metric names and Strata's metric for each.
    public static let metrics = [
        "accuracy": "accuracy", "acc": "accuracy", "sparse_categorical_accuracy": "accuracy",
        "categorical_accuracy": "accuracy", "binary_accuracy": "accuracy", "SparseCategoricalAccuracy": "accuracy",
        "CategoricalAccuracy": "accuracy", "BinaryAccuracy": "accuracy", "mse": "mse",
        "mean_squared_error": "mse", "MeanSquaredError": "mse", "mae": "mae", "mean_absolute_error": "mae",
        "MeanAbsoluteError": "mae", "RootMeanSquaredError": "rmse", "rmse": "rmse",
    ]

    /// Keys Keras 1 and 2 spelled otherwise (an optimizer's `lr`, a layer's `output_dim`, `nb_filter`).
    public static let keys = [
        "lr": "learning_rate", "nb_epoch": "epochs", "output_dim": "units", "nb_filter": "filters",
        "border_mode": "padding", "subsample": "strides",
    ]

    /// Strata's word for `word` when Keras calls it that and `candidates` (the words allowed there) holds it.
    public static func strataWord(for word: String, in candidates: [String]) -> String? {
        for table in [keys, losses, metrics] {
            if let strata = table[word], strata != word, candidates.contains(strata) { return strata }
        }
        return nil
    }
}
