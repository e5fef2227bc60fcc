/// One Keras layer's config as Strata layers, or an error at the key that has no Strata equivalent.
struct KerasLayerReader {
    let config: SourceNode
    let className: String
    /// Where the class name stands, for an error about the class itself.
    let classLocation: SourceLocation
    var spec: ImportedSpec
    private var failed = false

    init(config: SourceNode, className: String, classLocation: SourceLocation, spec: ImportedSpec) {
        self.config = config
        self.className = className
        self.classLocation = classLocation
        self.spec = spec
    }

    /// The layer classes imported, for the help of an unknown one.
    static let classes = [
        "InputLayer", "Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
        "GlobalMaxPooling2D", "Flatten", "Dropout", "Activation", "BatchNormalization", "ReLU", "LeakyReLU",
    ]

    mutating func layers() -> [ImportedSpec.Layer]? {
        requireChannelsLast()
        var made: [ImportedSpec.Layer]
        switch className {
        case "InputLayer": return []
        case "Dense":
            made = [ImportedSpec.Layer(kind: "dense", keys: [("units", integer("units", atLeast: 1))] + weighted())]
        case "Conv2D", "Convolution2D":
            require("dilation_rate", equals: 1, help: "Strata's convolutions are not dilated")
            require("groups", equals: 1, help: "Strata's convolutions are not grouped")
            made = [
                ImportedSpec.Layer(
                    kind: "conv2d",
                    keys: [("filters", integer("filters", atLeast: 1)), ("kernel_size", pair("kernel_size"))]
                        + optional("strides", .pair) + optional("padding", .padding) + weighted())
            ]
        case "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D":
            let kind = className.hasPrefix("Max") ? "max_pool2d" : "average_pooling2d"
            let pool = optional("pool_size", .pair)
            // Strides equal to the pool size are Strata's default, as Keras'.
            let strides = optional("strides", .pair).filter { $0.1 != (pool.first?.1 ?? "2") }
            made = [ImportedSpec.Layer(kind: kind, keys: pool + strides + optional("padding", .padding))]
        case "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D":
            require("keepdims", equals: false, help: "Strata's global pooling gives [channels]")
            made = [
                ImportedSpec.Layer(
                    kind: className.contains("Max") ? "global_max_pooling2d" : "global_average_pooling2d")
            ]
        case "Flatten": made = [ImportedSpec.Layer(kind: "flatten")]
        case "Dropout":
            requireNull("noise_shape", help: "Strata drops values independently")
            made = [ImportedSpec.Layer(kind: "dropout", keys: [("rate", number("rate", atLeast: 0, below: 1))])]
        case "Activation":
            made = [ImportedSpec.Layer(kind: "activation", keys: [("function", activation("activation") ?? "linear")])]
        case "ReLU": made = [ImportedSpec.Layer(kind: "activation", keys: [("function", relu())])]
        case "LeakyReLU":
            // Keras 3 names the slope negative_slope, Keras 2 alpha; both default to 0.3.
            let slope = config["negative_slope"] ?? config["alpha"]
            let alpha = slope.map { numberText($0, what: "the slope", atLeast: 0) } ?? "0.3"
            made = [ImportedSpec.Layer(kind: "activation", keys: [("function", "{leaky_relu: {alpha: \(alpha)}}")])]
        case "BatchNormalization": made = [batchNormalization()]
        default:
            spec.error(
                "Keras layer \(className) has no Strata equivalent", at: classLocation,
                help: "Strata imports \(Self.classes.joined(separator: ", "))")
            return nil
        }
        warnUnread()
        if config["trainable"]?.bool == false {
            spec.warning(
                "layer is not trainable in Keras; Strata trains every layer", at: config["trainable"]?.location)
        }
        return failed ? nil : made
    }

    /// Keys every layer may carry that do not change the model (names, dtypes, build records).
    private static let metadata: Set<String> = [
        "name", "trainable", "dtype", "seed", "autocast", "batch_input_shape", "batch_shape", "input_shape",
        "input_dim", "data_format", "build_config", "sparse", "ragged", "optional",
    ]
    private static let weightKeys: Set<String> = [
        "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
        "activity_regularizer", "kernel_constraint", "bias_constraint", "lora_rank", "lora_alpha",
        "quantization_config",
    ]
    /// The keys each class's mapping reads.
    private static let read: [String: Set<String>] = [
        "Dense": weightKeys.union(["units"]),
        "Conv2D": weightKeys.union(["filters", "kernel_size", "strides", "padding", "dilation_rate", "groups"]),
        "Pooling": ["pool_size", "strides", "padding"], "GlobalPooling": ["keepdims"], "Flatten": [],
        "Dropout": ["rate", "noise_shape"], "Activation": ["activation"],
        "ReLU": ["max_value", "negative_slope", "threshold"], "LeakyReLU": ["negative_slope", "alpha"],
        "BatchNormalization": [
            "axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
            "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
            "beta_constraint", "gamma_constraint", "renorm", "renorm_clipping", "renorm_momentum", "synchronized",
        ],
    ]

    /// A key no rule reads, with a value (not null), is warned about rather than dropped without a word.
    private mutating func warnUnread() {
        let family =
            className.hasPrefix("Global")
            ? "GlobalPooling"
            : className.contains("Pool") ? "Pooling" : className == "Convolution2D" ? "Conv2D" : className
        guard let known = Self.read[family] else { return }
        for field in config.fields where !field.node.isNull && !Self.metadata.contains(field.key) {
            if ["lora_rank", "quantization_config"].contains(field.key) {
                fail("\(field.key) \(field.node.described) has no Strata equivalent", at: field.node.location)
            } else if !known.contains(field.key) {
                spec.warning(
                    "\(className) key \(field.key) has no Strata equivalent and is not imported", at: field.keyLocation)
            }
        }
    }

    // MARK: Keys shared by Dense and Conv2D

    /// activation, use_bias, initializers, regularizer.
    private mutating func weighted() -> [(String, String)] {
        var keys: [(String, String)] = []
        if let a = activation("activation"), a != "linear" { keys.append(("activation", a)) }
        if let useBias = config["use_bias"], useBias.bool == false { keys.append(("use_bias", "false")) }
        for key in ["kernel_initializer", "bias_initializer"] {
            if let node = config[key], let value = initializer(node, key: key) { keys.append((key, value)) }
        }
        if let node = config["kernel_regularizer"], !node.isNull, let value = regularizer(node) {
            keys.append(("kernel_regularizer", value))
        }
        for key in ["bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"] {
            requireNull(key, help: "Strata has kernel_regularizer only, and no constraints")
        }
        return keys
    }

    /// Strata's name for a Keras initializer; an initializer Strata lacks keeps Strata's default, with a warning
    /// (it changes where training starts, not the model).
    private mutating func initializer(_ node: SourceNode, key: String) -> String? {
        let (name, settings) = Self.classAndConfig(node)
        let plain = [
            "GlorotUniform": "glorot_uniform", "glorot_uniform": "glorot_uniform", "HeNormal": "he_normal",
            "he_normal": "he_normal", "HeUniform": "he_uniform", "he_uniform": "he_uniform", "Zeros": "zeros",
            "zeros": "zeros", "Ones": "ones", "ones": "ones",
        ]
        if let name, let strata = plain[name] {
            let isDefault = strata == (key == "kernel_initializer" ? "glorot_uniform" : "zeros")
            return isDefault ? nil : strata
        }
        if name == "Constant" || name == "constant", let value = settings?["value"]?.number {
            return "{constant: \(YAMLText.number(value))}"
        }
        spec.warning(
            "\(key) \(name ?? node.described) has no Strata equivalent; the spec keeps Strata's default",
            at: node.location,
            help: "Strata initializes with glorot_uniform, he_normal, he_uniform, zeros, ones, constant")
        return nil
    }

    private mutating func regularizer(_ node: SourceNode) -> String? {
        let (name, settings) = Self.classAndConfig(node)
        var keys: [(String, String)] = []
        for key in ["l1", "l2"] {
            if let value = settings?[key]?.number, value > 0 { keys.append((key, YAMLText.number(value))) }
        }
        guard ["L1", "L2", "L1L2", "l1", "l2", "l1_l2"].contains(name ?? ""), !keys.isEmpty else {
            fail(
                "kernel_regularizer \(name ?? node.described) has no Strata equivalent", at: node.location,
                help: "Strata's kernel_regularizer is {l1: x, l2: y}")
            return nil
        }
        return YAMLText.map(keys)
    }

    /// A Keras object's class name and config: `{"class_name": …, "config": {…}}`, or a bare name string.
    static func classAndConfig(_ node: SourceNode) -> (String?, SourceNode?) {
        if let text = node.text { return (text, nil) }
        return (node["class_name"]?.text, node["config"])
    }

    // MARK: Layers of their own

    private mutating func relu() -> String {
        requireNull("max_value", help: "Strata's relu has no ceiling")
        if let threshold = config["threshold"], threshold.number != 0 {
            fail("ReLU threshold \(threshold.described) has no Strata equivalent", at: threshold.location)
        }
        guard let slope = config["negative_slope"], let value = slope.number, value != 0 else { return "relu" }
        return "{leaky_relu: {alpha: \(YAMLText.number(value))}}"
    }

    private mutating func batchNormalization() -> ImportedSpec.Layer {
        if let axis = config["axis"] {
            let value = axis.array?.count == 1 ? axis.array?.first?.integer : axis.integer
            if value != -1 && value != spec.input.count {
                fail(
                    "BatchNormalization over axis \(axis.described) has no Strata equivalent", at: axis.location,
                    help: "Strata normalizes over the last axis (channels last), Keras' default axis -1")
            }
        }
        var keys: [(String, String)] = []
        if let node = config["momentum"] { keys.append(("momentum", numberText(node, what: "momentum", atLeast: 0))) }
        if let node = config["epsilon"] { keys.append(("epsilon", numberText(node, what: "epsilon", atLeast: 0))) }
        for key in ["center", "scale"] where config[key]?.bool == false { keys.append((key, "false")) }
        let defaults = [
            ("beta_initializer", "Zeros"), ("gamma_initializer", "Ones"), ("moving_mean_initializer", "Zeros"),
            ("moving_variance_initializer", "Ones"),
        ]
        for (key, expected) in defaults {
            guard let node = config[key], let name = Self.classAndConfig(node).0 else { continue }
            if name.lowercased() != expected.lowercased() {
                spec.warning(
                    "\(key) \(name) has no Strata equivalent; Strata starts β and the means at 0, γ and the variances at 1",
                    at: node.location)
            }
        }
        for key in ["beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"] {
            requireNull(key, help: "Strata's batch normalization has none")
        }
        if config["synchronized"]?.bool == true { keys.append(("synchronized", "true")) }
        if config["renorm"]?.bool == true {
            fail("BatchNormalization's renorm has no Strata equivalent", at: config.location)
        }
        return ImportedSpec.Layer(kind: "batch_normalization", keys: keys)
    }

    // MARK: Values

    /// An activation given as a string, in Strata's words; nil for none.
    mutating func activation(_ key: String) -> String? {
        guard let node = config[key], !node.isNull else { return nil }
        guard let name = Self.classAndConfig(node).0 else {
            fail("activation \(node.described) is not a name", at: node.location)
            return nil
        }
        let names = [
            "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax", "linear": "linear",
            "softplus": "softplus", "elu": "elu", "gelu": "gelu", "silu": "silu", "swish": "silu",
            "leaky_relu": "leaky_relu",
        ]
        guard let strata = names[name] else {
            fail(
                "activation \(name) has no Strata equivalent", at: node.location,
                help: "Strata's activations: \(names.keys.sorted().joined(separator: ", "))")
            return nil
        }
        return strata
    }

    private mutating func integer(_ key: String, atLeast low: Int) -> String {
        guard let node = config[key] else {
            fail("\(className) has no `\(key)`", at: config.location)
            return "0"
        }
        guard let value = node.integer, value >= low else {
            fail("\(key) must be a whole number ≥ \(low), got \(node.described)", at: node.location)
            return "0"
        }
        return String(value)
    }

    private mutating func number(_ key: String, atLeast low: Double, below high: Double? = nil) -> String {
        guard let node = config[key] else {
            fail("\(className) has no `\(key)`", at: config.location)
            return "0"
        }
        return numberText(node, what: key, atLeast: low, below: high)
    }

    private mutating func numberText(
        _ node: SourceNode, what: String, atLeast low: Double, below high: Double? = nil
    )
        -> String
    {
        guard let value = node.number, value >= low, high.map({ value < $0 }) ?? true else {
            fail("\(what) \(node.described) is out of Strata's range", at: node.location)
            return "0"
        }
        return YAMLText.number(value)
    }

    /// `3` or `[3, 3]` as Strata's pair.
    private mutating func pair(_ node: SourceNode) -> String? {
        if let value = node.integer, value >= 1 { return String(value) }
        if let items = node.array, items.count == 2, let a = items[0].integer, let b = items[1].integer, a >= 1, b >= 1
        {
            return a == b ? String(a) : "[\(a), \(b)]"
        }
        fail("\(node.described) is not a window size Strata takes", at: node.location)
        return nil
    }

    private mutating func pair(_ key: String) -> String {
        guard let node = config[key] else {
            fail("\(className) has no `\(key)`", at: config.location)
            return "1"
        }
        return pair(node) ?? "1"
    }

    private mutating func padding(_ node: SourceNode) -> String? {
        guard let text = node.text, ["valid", "same"].contains(text) else {
            fail(
                "padding \(node.described) has no Strata equivalent", at: node.location,
                help: "Strata pads `valid` or `same`")
            return nil
        }
        return text == "valid" ? nil : text
    }

    /// `key: value` when the config has the key with a non-null value that is not Strata's default.
    private enum Value { case pair, padding }

    private mutating func optional(_ key: String, _ kind: Value) -> [(String, String)] {
        guard let node = config[key], !node.isNull else { return [] }
        guard let value = kind == .pair ? pair(node) : padding(node) else { return [] }
        if key == "strides", value == "1", className.hasPrefix("Conv") { return [] }
        return [(key, value)]
    }

    private mutating func requireChannelsLast() {
        if let format = config["data_format"], let text = format.text, text != "channels_last" {
            fail(
                "data_format \(text) has no Strata equivalent", at: format.location,
                help: "Strata's images are channels last ([height, width, channels])")
        }
    }

    /// Fails unless the key is absent, or is `value` (or a list of it).
    private mutating func require(_ key: String, equals value: Int, help: String) {
        guard let node = config[key] else { return }
        let values = node.array?.map(\.integer) ?? [node.integer]
        if !values.allSatisfy({ $0 == value }) {
            fail("\(key) \(node.described) has no Strata equivalent", at: node.location, help: help)
        }
    }

    private mutating func require(_ key: String, equals value: Bool, help: String) {
        guard let node = config[key], let b = node.bool, b != value else { return }
        fail("\(key) \(node.described) has no Strata equivalent", at: node.location, help: help)
    }

    private mutating func requireNull(_ key: String, help: String) {
        guard let node = config[key], !node.isNull else { return }
        fail("\(key) \(node.described) has no Strata equivalent", at: node.location, help: help)
    }

    private mutating func fail(_ message: String, at location: SourceLocation?, help: String? = nil) {
        spec.error(message, at: location, help: help)
        failed = true
    }
}
