import Foundation

/// A Darknet `.cfg` as a spec: `[net]` gives the input, the optimizer and its policy; each section after it
/// is one layer (a convolution with `batch_normalize=1` is three: convolution, batch normalization, activation).
struct DarknetImport {
    var spec: ImportedSpec
    let options: ImportOptions
    /// The current shape for one example, channels last.
    var shape: [Int] = []
    /// Indices of layers with kernels, for [net]'s decay, and that decay as a kernel_regularizer.
    var weighted: [Int] = []
    var pendingDecay: String?

    init(file: String, options: ImportOptions) {
        self.options = options
        spec = ImportedSpec(format: "Darknet", file: file, name: "imported")
    }

    static let sections = [
        "net", "convolutional", "maxpool", "avgpool", "connected", "dropout", "softmax", "cost", "batchnorm",
    ]

    mutating func run(_ sections: [DarknetReader.Section]) {
        guard let first = sections.first, first.name == "net" || first.name == "network" else {
            return spec.error(
                "a Darknet cfg starts with [net]", at: sections.first?.location,
                help: "the [net] section gives the input size and the training settings")
        }
        spec.name = (fileName(spec.file) as NSString).deletingPathExtension
        net(first)
        // Every layer is read while the shapes are known: a layer that fails leaves them unknown after it.
        var failed = spec.input.isEmpty
        for section in sections.dropFirst() where !failed {
            let errors = spec.diagnostics.errors.count
            add(section)
            failed = spec.diagnostics.errors.count > errors
        }
        if let decay = pendingDecay {
            for index in weighted where index < spec.layers.count {
                spec.layers[index].keys.append(("kernel_regularizer", decay))
            }
        }
        if !spec.diagnostics.hasErrors, spec.loss == nil {
            spec.error(
                "the cfg has no [softmax] or [cost] layer to train", at: sections.last?.location,
                help: "end a classifier with [softmax], a regression with [cost]")
        }
    }

    private mutating func add(_ section: DarknetReader.Section) {
        var reader = DarknetValues(section: section, spec: spec)
        let made: [ImportedSpec.Layer]
        switch section.name {
        case "convolutional", "conv": made = convolutional(&reader)
        case "maxpool", "max": made = maxpool(&reader)
        case "avgpool", "avg":
            guard shape.count == 3 else { return spec.error("[avgpool] needs an image input", at: section.location) }
            shape = [shape[2]]
            made = [ImportedSpec.Layer(kind: "global_average_pooling2d")]
        case "connected", "conn": made = connected(&reader)
        case "dropout":
            made = [
                ImportedSpec.Layer(
                    kind: "dropout", keys: [("rate", reader.number("probability", 0.5, above: 0, below: 1))])
            ]
        case "softmax", "soft":
            if reader.integer("groups", 1) != 1 {
                reader.fail("groups", "softmax over groups has no Strata equivalent")
            }
            if reader.number("temperature", 1) != "1" {
                reader.fail("temperature", "a softmax temperature has no Strata equivalent")
            }
            reader.spec.loss = "sparse_categorical_crossentropy"
            reader.spec.lossNote = "Darknet's [softmax] trains with this gradient"
            // Darknet's classifier reports top-1 accuracy when it validates.
            reader.spec.metrics = ["accuracy"]
            made = [ImportedSpec.Layer(kind: "activation", keys: [("function", "softmax")])]
        case "cost":
            made = []
            cost(&reader, at: section.location)
        case "batchnorm":
            made = [ImportedSpec.Layer(kind: "batch_normalization", keys: Self.batchNormKeys)]
        case "route", "shortcut":
            return spec.error(
                "[\(section.name)] connects to earlier layers: the net is not one chain", at: section.location,
                help: "Strata's layers form one chain; nets with routes or shortcuts cannot be imported")
        default:
            return spec.error(
                "Darknet layer [\(section.name)] has no Strata equivalent", at: section.location,
                help: "Strata imports [\(Self.sections.joined(separator: "], ["))]")
        }
        reader.warnUnused()
        spec = reader.spec
        guard !reader.failed else { return }
        for var item in made {
            item.origin = section.location
            item.source = "[\(section.name)]"
            spec.layers.append(item)
        }
    }

    /// Darknet's batch normalization: rolling statistics at 0.99, ε = 1e-6 (normalize_cpu).
    static let batchNormKeys = [("momentum", "0.99"), ("epsilon", "0.000001")]

    private mutating func convolutional(_ reader: inout DarknetValues) -> [ImportedSpec.Layer] {
        guard shape.count == 3 else {
            reader.fail(nil, "[convolutional] needs an image input")
            return []
        }
        let filters = reader.integer("filters", 1, atLeast: 1)
        let size = reader.integer("size", 1, atLeast: 1)
        let stride = reader.integer("stride", 1, atLeast: 1)
        let pad = reader.integer("pad", 0, atLeast: 0)
        let padding = reader.integer("padding", pad != 0 ? size / 2 : 0, atLeast: 0)
        for key in ["groups", "dilation"] where reader.integer(key, 1) != 1 {
            reader.fail(key, "\(key) has no Strata equivalent")
        }
        for key in ["binary", "xnor"] where reader.integer(key, 0) != 0 {
            reader.fail(key, "\(key) convolutions have no Strata equivalent")
        }
        let out = (shape[0] + 2 * padding - size) / stride + 1, outWidth = (shape[1] + 2 * padding - size) / stride + 1
        guard
            let mode = windowPadding(
                &reader, size: size, stride: stride, padBefore: padding, out: [out, outWidth], what: "convolution")
        else {
            return []
        }
        let batchNorm = reader.integer("batch_normalize", 0) != 0
        let activation = reader.activation("activation", "logistic")
        var keys = [("filters", String(filters)), ("kernel_size", String(size))]
        if stride != 1 { keys.append(("strides", String(stride))) }
        if mode != "valid" { keys.append(("padding", mode)) }
        shape = [out, outWidth, filters]
        weighted.append(spec.layers.count)
        return withActivation(kind: "conv2d", keys: keys, batchNorm: batchNorm, activation: activation)
    }

    private mutating func connected(_ reader: inout DarknetValues) -> [ImportedSpec.Layer] {
        let units = reader.integer("output", 1, atLeast: 1)
        let batchNorm = reader.integer("batch_normalize", 0) != 0
        let activation = reader.activation("activation", "logistic")
        var made: [ImportedSpec.Layer] = []
        if shape.count == 3 {
            made.append(ImportedSpec.Layer(kind: "flatten"))
            shape = [elementCount(shape)]
        }
        weighted.append(spec.layers.count + made.count)
        shape = [units]
        return made
            + withActivation(
                kind: "dense", keys: [("units", String(units))], batchNorm: batchNorm, activation: activation)
    }

    /// A layer with its activation, or with batch normalization between them (then without a bias, as Darknet).
    private func withActivation(
        kind: String, keys: [(String, String)], batchNorm: Bool, activation: String?
    )
        -> [ImportedSpec.Layer]
    {
        guard batchNorm else {
            let active = activation.map { $0 == "linear" ? [] : [("activation", $0)] } ?? []
            return [ImportedSpec.Layer(kind: kind, keys: keys + active)]
        }
        var made = [
            ImportedSpec.Layer(kind: kind, keys: keys + [("use_bias", "false")]),
            ImportedSpec.Layer(kind: "batch_normalization", keys: Self.batchNormKeys),
        ]
        if let activation, activation != "linear" {
            made.append(ImportedSpec.Layer(kind: "activation", keys: [("function", activation)]))
        }
        return made
    }

    private mutating func maxpool(_ reader: inout DarknetValues) -> [ImportedSpec.Layer] {
        guard shape.count == 3 else {
            reader.fail(nil, "[maxpool] needs an image input")
            return []
        }
        let stride = reader.integer("stride", 1, atLeast: 1)
        let size = reader.integer("size", stride, atLeast: 1)
        let padding = reader.integer("padding", size - 1, atLeast: 0)
        // Darknet: (n + padding − size) / stride + 1 windows, the first at −padding/2.
        let out = [0, 1].map { (shape[$0] + padding - size) / stride + 1 }
        guard
            let mode = windowPadding(
                &reader, size: size, stride: stride, padBefore: padding / 2, out: out, what: "pooling")
        else {
            return []
        }
        var keys = [("pool_size", String(size))]
        if stride != size { keys.append(("strides", String(stride))) }
        if mode != "valid" { keys.append(("padding", mode)) }
        shape = [out[0], out[1], shape[2]]
        return [ImportedSpec.Layer(kind: "max_pool2d", keys: keys)]
    }

    private mutating func windowPadding(
        _ reader: inout DarknetValues, size: Int, stride: Int, padBefore: Int, out: [Int], what: String
    ) -> String? {
        let matches = [0, 1].map {
            ImportWindows.match(input: shape[$0], kernel: size, stride: stride, padBefore: padBefore, output: out[$0])
        }
        guard out.allSatisfy({ $0 >= 1 }), let match = ImportWindows.both(matches[0], matches[1]) else {
            reader.fail(
                nil,
                "this \(what) gives \(out[0])x\(out[1]) from \(shape[0])x\(shape[1]) in Darknet; Strata pads as Keras does (valid, or same: ⌈input / stride⌉) and cannot give that"
            )
            return nil
        }
        if case .shifted = match {
            reader.warn(
                nil,
                "Darknet pads \(padBefore) before the first window; Strata's `same` pads as Keras does, so the windows sit a pixel apart (same output size)"
            )
        }
        return ImportWindows.padding(of: match)
    }

    private mutating func cost(_ reader: inout DarknetValues, at location: SourceLocation) {
        let type = reader.word("type", "sse")
        if reader.spec.loss == "sparse_categorical_crossentropy" {
            reader.warn(
                "type",
                "[cost] after [softmax]: Strata trains the softmax with cross-entropy alone, the gradient Darknet's softmax passes back"
            )
            return
        }
        guard type == "sse" else {
            reader.fail("type", "cost type \(type) has no Strata equivalent")
            return
        }
        reader.spec.loss = "mse"
        reader.spec.lossNote = "Darknet's sse cost"
    }
}
