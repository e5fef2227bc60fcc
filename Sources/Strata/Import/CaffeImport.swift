/// A Caffe net prototxt (and its solver) as a spec. Caffe is channels first ([N, C, H, W]); shapes are mapped
/// to Strata's channels last, and each window is checked to give Caffe's output size (Caffe rounds pooling up).
struct CaffeImport {
    var spec: ImportedSpec
    let options: ImportOptions
    /// The current blob and its shape for one example, channels last.
    var top: String?
    var shape: [Int] = []
    /// Indices of the layers with kernels, for the solver's weight decay.
    var weighted: [Int] = []
    var warnedFillers = false
    var warnedMultipliers = false

    init(file: String, options: ImportOptions) {
        self.options = options
        spec = ImportedSpec(format: "Caffe", file: file, name: "imported")
    }

    static let types = [
        "Input", "Data", "ImageData", "HDF5Data", "MemoryData", "Convolution", "Pooling", "InnerProduct", "ReLU",
        "Sigmoid", "TanH", "Dropout", "Softmax", "SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss",
        "Accuracy", "BatchNorm", "Scale", "Flatten",
    ]

    mutating func run(_ net: SourceNode) {
        if let legacy = net.all("layers").first {
            return spec.error(
                "this net uses Caffe's old `layers { type: ENUM }` format", at: legacy.location,
                help: "convert it with Caffe's upgrade_net_proto_text, then import the result")
        }
        if let name = net["name"]?.text { spec.name = name }
        netInput(net)
        // A layer is placed at its `layer` key.
        let layers = net.fields.filter { $0.key == "layer" }.map { SourceNode($0.node.value, at: $0.keyLocation) }
            .filter { inTraining($0) || $0["type"]?.text == "Accuracy" }
        guard !layers.isEmpty else { return spec.error("the net has no layers", at: net.location) }
        var index = 0
        // A layer that fails leaves the shapes after it unknown: the import stops there.
        while index < layers.count, !spec.diagnostics.hasErrors {
            let layer = layers[index]
            let next = index + 1 < layers.count ? layers[index + 1] : nil
            index += add(layer, next: next) ? 2 : 1
        }
        if !spec.diagnostics.hasErrors, spec.loss == nil {
            spec.error(
                "the net has no loss layer", at: net.location,
                help: "Strata imports SoftmaxWithLoss, EuclideanLoss and SigmoidCrossEntropyLoss")
        }
    }

    /// A layer takes part in training unless its rules say otherwise (`include { phase: TEST }`).
    private func inTraining(_ layer: SourceNode) -> Bool {
        if layer["phase"]?.text == "TEST" { return false }
        let includes = layer.all("include"), excludes = layer.all("exclude")
        if excludes.contains(where: { $0["phase"]?.text == "TRAIN" }) { return false }
        return includes.isEmpty || includes.contains { $0["phase"] == nil || $0["phase"]?.text == "TRAIN" }
    }

    /// `input:` with `input_shape { dim… }` or four `input_dim`s, at the net's top level.
    private mutating func netInput(_ net: SourceNode) {
        guard let input = net["input"]?.text else { return }
        let dims = net["input_shape"].map { $0.all("dim") } ?? net.all("input_dim")
        setInput(dims, at: net["input"]?.location)
        top = input
    }

    mutating func setInput(_ dims: [SourceNode], at location: SourceLocation?) {
        let values = dims.compactMap(\.integer)
        guard values.count == dims.count, values.allSatisfy({ $0 >= 1 }) else {
            return spec.error("the input shape must be whole numbers from 1 to \(Int32.max)", at: location)
        }
        switch values.count {
        case 4: spec.input = [values[2], values[3], values[1]]
        case 2: spec.input = [values[1]]
        default:
            return spec.error(
                "an input of \(values.count) dimensions has no Strata equivalent", at: location,
                help: "Strata takes [N, C, H, W] images or [N, D] vectors")
        }
        shape = spec.input
    }

    /// Adds one layer; true when it also used `next` (a BatchNorm's Scale).
    private mutating func add(_ layer: SourceNode, next: SourceNode?) -> Bool {
        let type = layer["type"]?.text ?? ""
        let name = layer["name"]?.text ?? type
        let location = layer.location
        guard Self.types.contains(type) else {
            spec.error(
                "Caffe layer \(name) of type \(type.isEmpty ? "(none)" : type) has no Strata equivalent", at: location,
                help: "Strata imports \(Self.types.joined(separator: ", "))")
            return false
        }
        if ["Input", "Data", "ImageData", "HDF5Data", "MemoryData"].contains(type) {
            dataLayer(layer, type: type)
            return false
        }
        warnUnread(layer)
        guard followsChain(layer, name: name, type: type) else { return false }
        var usedNext = false
        let made: [ImportedSpec.Layer]
        switch type {
        case "Convolution": made = convolution(layer)
        case "Pooling": made = pooling(layer)
        case "InnerProduct": made = innerProduct(layer)
        case "ReLU":
            let slope = layer["relu_param"]?["negative_slope"]?.number ?? 0
            made = [activation(slope == 0 ? "relu" : "{leaky_relu: {alpha: \(YAMLText.number(slope))}}")]
        case "Sigmoid": made = [activation("sigmoid")]
        case "TanH": made = [activation("tanh")]
        case "Softmax": made = [activation("softmax")]
        case "Dropout":
            let ratio = layer["dropout_param"]?["dropout_ratio"]?.number ?? 0.5
            made = [ImportedSpec.Layer(kind: "dropout", keys: [("rate", YAMLText.number(ratio))])]
        case "Flatten":
            made = shape.count == 3 ? [ImportedSpec.Layer(kind: "flatten")] : []
            if shape.count == 3 { shape = [elementCount(shape)] }
        case "BatchNorm":
            usedNext = next?["type"]?.text == "Scale" && next?["bottom"]?.text == layer["top"]?.text
            made = [batchNorm(layer, scale: usedNext ? next : nil)]
        case "Scale":
            spec.error("a Scale layer not after a BatchNorm has no Strata equivalent", at: location)
            return false
        case "Accuracy":
            if let k = layer["accuracy_param"]?["top_k"], k.integer != 1 {
                spec.warning(
                    "top-\(k.described) accuracy has no Strata equivalent; the spec reports accuracy", at: k.location)
            }
            if !spec.metrics.contains("accuracy") { spec.metrics.append("accuracy") }
            return false
        default:
            made = loss(layer, type: type)
        }
        for var item in made {
            item.origin = location
            item.source = "\(name) (\(type))"
            if item.kind == made.mainKind, KerasImport.validName(name),
                !spec.layers.contains(where: { $0.name == name })
            {
                item.name = name
            }
            spec.layers.append(item)
        }
        if usedNext, let next { top = next["top"]?.text ?? top }
        return usedNext
    }

    /// Each layer must take the blob the layer before it made: a net that branches is refused.
    private mutating func followsChain(_ layer: SourceNode, name: String, type: String) -> Bool {
        let bottoms = layer.all("bottom").compactMap(\.text)
        let tops = layer.all("top").compactMap(\.text)
        let isLoss = type.hasSuffix("Loss") || type == "Accuracy"
        guard let first = bottoms.first, first == top, bottoms.count == (isLoss ? 2 : 1) else {
            let given = bottoms.isEmpty ? "no input" : bottoms.joined(separator: ", ")
            spec.error(
                "layer \(name) takes \(given), but the layer before it made \(top ?? "nothing"): the net is not one chain",
                at: layer["bottom"]?.location ?? layer.location,
                help: "Strata's layers form one chain; nets with branches or merges cannot be imported")
            return false
        }
        if tops.count > 1 {
            spec.error("layer \(name) has \(tops.count) outputs; Strata's layers have one", at: layer.location)
            return false
        }
        if let output = tops.first, !isLoss { top = output }
        return true
    }

    private func activation(_ function: String) -> ImportedSpec.Layer {
        ImportedSpec.Layer(kind: "activation", keys: [("function", function)])
    }

    /// The fields of a layer and of its parameter messages that the mapping reads; "engine" picks an
    /// implementation, not a model.
    static let layerFields: Set<String> = [
        "name", "type", "bottom", "top", "phase", "include", "exclude", "param", "convolution_param", "pooling_param",
        "inner_product_param", "relu_param", "dropout_param", "batch_norm_param", "scale_param", "accuracy_param",
        "input_param", "data_param", "image_data_param", "hdf5_data_param", "memory_data_param", "transform_param",
        "loss_param", "softmax_param", "sigmoid_param", "tanh_param", "flatten_param", "loss_weight",
    ]
    static let parameterFields: [String: Set<String>] = [
        "convolution_param": [
            "num_output", "kernel_size", "kernel_h", "kernel_w", "stride", "stride_h", "stride_w", "pad", "pad_h",
            "pad_w", "bias_term", "weight_filler", "bias_filler", "group", "dilation", "engine",
        ],
        "pooling_param": [
            "pool", "kernel_size", "kernel_h", "kernel_w", "stride", "stride_h", "stride_w", "pad", "pad_h", "pad_w",
            "global_pooling", "engine", "round_mode",
        ],
        "inner_product_param": ["num_output", "bias_term", "weight_filler", "bias_filler", "axis"],
        "relu_param": ["negative_slope", "engine"], "dropout_param": ["dropout_ratio"],
        "batch_norm_param": ["use_global_stats", "moving_average_fraction", "eps"], "scale_param": ["bias_term"],
        "accuracy_param": ["top_k"], "softmax_param": ["engine"], "sigmoid_param": ["engine"], "tanh_param": ["engine"],
    ]

    /// Warns about each field no rule reads (a loss_weight other than 1 scales the loss), so nothing is dropped
    /// without a word.
    mutating func warnUnread(_ layer: SourceNode) {
        for field in layer.fields {
            if field.key == "loss_weight" {
                if field.node.number != 1 {
                    spec.warning(
                        "loss_weight \(field.node.described) has no Strata equivalent: the loss is not scaled",
                        at: field.node.location)
                }
            } else if !Self.layerFields.contains(field.key) {
                spec.warning(
                    "layer field \(field.key) has no Strata equivalent and is not imported", at: field.keyLocation)
            } else if let known = Self.parameterFields[field.key] {
                for inner in field.node.fields where !known.contains(inner.key) {
                    spec.warning(
                        "\(field.key) \(inner.key) has no Strata equivalent and is not imported", at: inner.keyLocation)
                }
            }
        }
    }
}
