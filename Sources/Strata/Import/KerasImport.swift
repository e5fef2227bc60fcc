/// A Keras model config (`model.to_json()`, or a `.keras` archive's config.json) as a spec: Sequential models,
/// and functional ones whose layers form one chain. Keras 3 and Keras 2 (tf.keras) write the same classes
/// with a few keys renamed; both are read.
struct KerasImport {
    var spec: ImportedSpec
    /// The last layer's activation as written, for a loss computed `from_logits`.
    private var lastActivation: (layer: Int, key: Bool)?

    init(file: String) { spec = ImportedSpec(format: "Keras", file: file, name: "imported") }

    mutating func run(_ root: SourceNode) {
        guard let className = root["class_name"]?.text, let config = root["config"] else {
            spec.error(
                "not a Keras model config: it has no `class_name` and `config`", at: root.location,
                help: "give the JSON of `model.to_json()` or a `.keras` file")
            return
        }
        let layers: [SourceNode]
        switch className {
        case "Sequential":
            // Keras before 2.2.3 wrote the layer list as the config itself.
            layers = config.array ?? config["layers"]?.array ?? []
        case "Functional", "Model":
            guard let list = config["layers"]?.array else {
                return spec.error("the model has no layers", at: config.location)
            }
            guard checkChain(list) else { return }
            layers = list
        default:
            return spec.error(
                "a Keras \(className) is not a model Strata can import", at: root["class_name"]?.location,
                help: "import a Sequential model, or a functional model whose layers form one chain")
        }
        if let name = config["name"]?.text { spec.name = name }
        spec.input = inputShape(layers: layers, config: config, root: root) ?? []
        if spec.input.isEmpty {
            spec.error(
                "the config does not give the input shape", at: config.location,
                help: "build the model first (an `Input(shape=…)` layer, or call `model.build((None, …))`)")
        }
        for layer in layers { add(layer) }
        if let compile = root["compile_config"], !compile.fields.isEmpty {
            var settings = KerasCompile(spec: spec)
            settings.run(compile)
            spec = settings.spec
        } else {
            spec.trainingNotes.append("The Keras config has no compile settings; loss and optimizer were chosen here.")
            chooseLoss(at: root.location)
        }
        spec.trainingNotes.append("Keras sets batch_size and epochs in fit(), not in the model: set them below.")
    }

    /// The shape of one example: an InputLayer's batch shape, or the first layer's, or the built model's.
    private func inputShape(layers: [SourceNode], config: SourceNode, root: SourceNode) -> [Int]? {
        var candidates: [SourceNode?] = []
        if let first = layers.first?["config"] {
            candidates += [first["batch_shape"], first["batch_input_shape"]]
        }
        candidates += [config["build_input_shape"], root["build_config"]?["input_shape"]]
        for case let node? in candidates {
            guard let items = node.array, items.count >= 2 else { continue }
            let dims = items.dropFirst().compactMap(\.integer).filter { $0 >= 1 }
            if dims.count == items.count - 1 { return dims }
        }
        return nil
    }

    /// A functional model is imported when each layer takes the one before it; merges and branches are refused.
    private mutating func checkChain(_ layers: [SourceNode]) -> Bool {
        var previous: String?
        for layer in layers {
            let config = layer["config"]
            let name = config?["name"]?.text ?? "?"
            let inbound = Self.inboundNames(layer["inbound_nodes"])
            if let previous, inbound != [previous] {
                let what =
                    inbound.count > 1
                    ? "merges the outputs of \(inbound.joined(separator: " and "))"
                    : "takes \(inbound.first ?? "no input") rather than \(previous), the layer before it"
                spec.error(
                    "layer \(name) \(what): the model is not one chain", at: layer.location,
                    help: "Strata's layers form one chain, input to output; models with branches cannot be imported")
                return false
            }
            previous = name
        }
        return true
    }

    /// The layer names an `inbound_nodes` entry refers to: Keras 3 keeps them in `keras_history`, Keras 2 in
    /// `[name, node, tensor, kwargs]` lists.
    static func inboundNames(_ node: SourceNode?) -> [String] {
        guard let node else { return [] }
        if let history = node["keras_history"]?.array, let name = history.first?.text { return [name] }
        if let items = node.array {
            if let name = items.first?.text, items.count >= 3, items[1].integer != nil { return [name] }
            return items.flatMap { inboundNames($0) }
        }
        return node.fields.flatMap { inboundNames($0.node) }
    }

    private mutating func add(_ layer: SourceNode) {
        guard let className = layer["class_name"]?.text else {
            return spec.error("a layer without `class_name`", at: layer.location)
        }
        let config = layer["config"] ?? SourceNode(.object([]), at: layer.location)
        let name = config["name"]?.text
        var reader = KerasLayerReader(
            config: config, className: className, classLocation: layer["class_name"]?.location ?? layer.location,
            spec: spec)
        let made = reader.layers()
        spec = reader.spec
        guard let made else { return }
        for var item in made {
            item.origin = layer.location
            item.source = "\(name.map { "\($0) " } ?? "")(\(className))"
            if item.kind == made.mainKind, let name, Self.validName(name) {
                item.name = name
            }
            spec.layers.append(item)
        }
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
            }
    }

    /// Without compile settings: a loss from the last activation (softmax: class indices; one sigmoid unit:
    /// binary; otherwise squared error) and Keras' default optimizer, each with a warning.
    private mutating func chooseLoss(at location: SourceLocation) {
        let last = spec.layers.last?.keys.first { $0.0 == "activation" || $0.0 == "function" }?.1
        let oneUnit = spec.layers.last?.keys.first { $0.0 == "units" }?.1 == "1"
        let loss =
            last == "softmax"
            ? "sparse_categorical_crossentropy" : last == "sigmoid" && oneUnit ? "binary_crossentropy" : "mse"
        spec.loss = loss
        spec.lossNote = "chosen from the output layer: the Keras config has none"
        spec.optimizer = "rmsprop"
        spec.optimizerNote = "Keras' default in compile(); the Keras config has none"
        spec.warning(
            "the config has no loss or optimizer (they are set by compile()); the spec uses \(loss) and rmsprop",
            at: location, help: "check them, or import the `.keras` file, which keeps the compile settings")
        if loss != "mse" { spec.metrics = ["accuracy"] }
    }
}
