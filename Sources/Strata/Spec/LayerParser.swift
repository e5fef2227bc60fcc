import Yams

extension SpecBuilder {
    static let denseKeys = ["name", "units", "activation", "use_bias", "kernel_initializer", "bias_initializer"]
    static let conv2dKeys = [
        "name", "filters", "kernel_size", "strides", "padding", "activation", "use_bias", "kernel_initializer",
        "bias_initializer",
    ]
    static let maxPoolKeys = ["name", "pool_size", "strides", "padding"]

    func parseLayers(_ node: Node) -> [LayerSpec]? {
        guard let items = reader.sequence(node, what: "layers") else { return nil }
        if items.isEmpty {
            reader.error("layers is empty", at: node, help: "a model needs at least one layer, e.g. `- dense: {units: 1}`")
            return nil
        }
        let parsed = items.map(parseLayer)
        guard !parsed.contains(where: { $0 == nil }) else { return nil }
        return nameLayers(parsed.map { $0! })
    }

    /// Keras-style default names (`dense_1`, `dense_2`, `conv2d_1`), skipping names the user took.
    private func nameLayers(_ layers: [(kind: LayerKind, name: Located<String>?, location: SourceLocation)]) -> [LayerSpec]? {
        var taken: [String: SourceLocation] = [:]
        var ok = true
        for layer in layers {
            guard let name = layer.name else { continue }
            if let first = taken[name.value] {
                reader.diagnostics.error(
                    "layer name '\(name.value)' is already used", at: name.location,
                    help: "the first layer named '\(name.value)' is at line \(first.line); layer names must be unique")
                ok = false
            } else {
                taken[name.value] = name.location
            }
        }
        var counters: [String: Int] = [:]
        let named = layers.map { layer -> LayerSpec in
            if let name = layer.name { return LayerSpec(name: name, location: layer.location, kind: layer.kind) }
            var candidate: String
            repeat {
                counters[layer.kind.typeName, default: 0] += 1
                candidate = "\(layer.kind.typeName)_\(counters[layer.kind.typeName]!)"
            } while taken[candidate] != nil
            taken[candidate] = layer.location
            return LayerSpec(name: Located(candidate, at: layer.location), location: layer.location, kind: layer.kind)
        }
        return ok ? named : nil
    }

    private func parseLayer(_ node: Node) -> (kind: LayerKind, name: Located<String>?, location: SourceLocation)? {
        guard let (kind, kindNode, body) = reader.tagged(node, what: "layer type", kinds: LayerKind.typeNames) else { return nil }
        let location = reader.location(kindNode)
        if kind == "activation" {
            // `- activation: relu` names the function directly.
            guard let body else {
                reader.error("an activation layer needs a function, e.g. `- activation: relu`", at: kindNode)
                return nil
            }
            return parseActivation(body).map { (.activation($0), nil, location) }
        }
        let keys: [String]
        switch kind {
        case "dense": keys = Self.denseKeys
        case "conv2d": keys = Self.conv2dKeys
        case "max_pool2d": keys = Self.maxPoolKeys
        case "dropout": keys = ["name", "rate"]
        default: keys = ["name"]
        }
        let fields: Fields?
        if let body {
            fields = reader.fields(body, what: "\(kind) layer", keys: keys)
            if fields == nil { return nil }
        } else {
            fields = nil
        }
        let anchor = body ?? kindNode
        let name = fields?["name"].flatMap(parseLayerName)
        if fields?.has("name") == true && name == nil { return nil }
        let required = { (key: String, help: String) -> Node? in
            guard let fields else {
                reader.error("\(kind) layer needs '\(key)'", at: anchor, help: help)
                return nil
            }
            return fields.required(key, help: help)
        }
        let layer: LayerKind?
        switch kind {
        case "dense":
            layer = parseDense(fields, required: required)
        case "conv2d":
            layer = parseConv2D(fields, required: required)
        case "max_pool2d":
            layer = parseMaxPool(fields, at: reader.location(anchor))
        case "dropout":
            layer = required("rate", "the fraction of inputs to drop while training, e.g. `rate: 0.5`").flatMap { v in
                reader.double(v, what: "dropout rate", atLeast: 0, below: 1, help: "rate is the fraction dropped: 0 keeps all, 1 would drop everything")
                    .map { LayerKind.dropout(rate: Located($0, at: reader.location(v))) }
            }
        default:
            layer = .flatten
        }
        return layer.map { ($0, name, location) }
    }

    private func parseLayerName(_ node: Node) -> Located<String>? {
        guard let name = reader.string(node, what: "layer name") else { return nil }
        let allowed = name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
        guard !name.isEmpty, allowed else {
            reader.error("layer name '\(name)' may only hold letters, digits, '_' and '-'", at: node,
                         help: "names become tensor names such as `\(name).weight` in the checkpoint")
            return nil
        }
        return Located(name, at: reader.location(node))
    }

    private func parseDense(_ fields: Fields?, required: (String, String) -> Node?) -> LayerKind? {
        guard let unitsNode = required("units", "the number of outputs, e.g. `units: 10`") else { return nil }
        guard let fields, let units = reader.int(unitsNode, what: "units", range: 1...Int.max) else { return nil }
        let activation = fields["activation"].map(parseActivation)
        let useBias = fields["use_bias"].map { reader.bool($0, what: "use_bias") }
        let kernel = initializer(fields, "kernel_initializer", default: .glorotUniform)
        let bias = initializer(fields, "bias_initializer", default: .zeros)
        if activation.map({ $0 == nil }) == true || useBias.map({ $0 == nil }) == true { return nil }
        guard let kernel, let bias else { return nil }
        return .dense(
            DenseSpec(
                units: Located(units, at: reader.location(unitsNode)), activation: activation ?? nil,
                useBias: (useBias ?? true) ?? true, kernelInitializer: kernel, biasInitializer: bias))
    }

    private func parseConv2D(_ fields: Fields?, required: (String, String) -> Node?) -> LayerKind? {
        let filtersNode = required("filters", "the number of output channels, e.g. `filters: 32`")
        let kernelNode = required("kernel_size", "the window size, e.g. `kernel_size: 3` or `[3, 3]`")
        guard let fields, let filtersNode, let kernelNode else { return nil }
        let filters = reader.int(filtersNode, what: "filters", range: 1...Int.max)
        let kernel = reader.intTuple(kernelNode, what: "kernel_size", count: 2, range: 1...Int.max)
        let strides = fields["strides"].map { reader.intTuple($0, what: "strides", count: 2, range: 1...Int.max) }
        let padding = fields["padding"].map { reader.choice($0, what: "padding", Padding.self) }
        let activation = fields["activation"].map(parseActivation)
        let useBias = fields["use_bias"].map { reader.bool($0, what: "use_bias") }
        let kernelInit = initializer(fields, "kernel_initializer", default: .glorotUniform)
        let biasInit = initializer(fields, "bias_initializer", default: .zeros)
        let failed = [strides.map { $0 == nil }, padding.map { $0 == nil }, activation.map { $0 == nil }, useBias.map { $0 == nil }]
            .contains(true)
        guard let filters, let kernel, let kernelInit, let biasInit, !failed else { return nil }
        return .conv2d(
            Conv2DSpec(
                filters: Located(filters, at: reader.location(filtersNode)),
                kernelSize: Located(kernel, at: reader.location(kernelNode)),
                strides: Located((strides ?? nil) ?? [1, 1], at: fields["strides"].map(reader.location) ?? fields.location),
                padding: (padding ?? nil) ?? .valid, activation: activation ?? nil, useBias: (useBias ?? true) ?? true,
                kernelInitializer: kernelInit, biasInitializer: biasInit))
    }

    private func parseMaxPool(_ fields: Fields?, at location: SourceLocation) -> LayerKind? {
        let poolNode = fields?["pool_size"]
        let pool = poolNode.map { reader.intTuple($0, what: "pool_size", count: 2, range: 1...Int.max) } ?? [2, 2]
        let stridesNode = fields?["strides"]
        let strides = stridesNode.map { reader.intTuple($0, what: "strides", count: 2, range: 1...Int.max) }
        let padding = fields?["padding"].map { reader.choice($0, what: "padding", Padding.self) }
        guard let pool, strides.map({ $0 != nil }) ?? true, padding.map({ $0 != nil }) ?? true else { return nil }
        let poolLocation = poolNode.map(reader.location) ?? location
        // Keras: strides default to the pool size.
        return .maxPool2d(
            MaxPool2DSpec(
                poolSize: Located(pool, at: poolLocation),
                strides: Located((strides ?? nil) ?? pool, at: stridesNode.map(reader.location) ?? poolLocation),
                padding: (padding ?? nil) ?? .valid))
    }

    func parseActivation(_ node: Node) -> Located<Activation>? {
        guard let (kind, kindNode, body) = reader.tagged(node, what: "activation", kinds: Activation.names) else { return nil }
        let location = reader.location(kindNode)
        if kind == "leaky_relu" {
            var alpha = Activation.defaultLeakyAlpha
            if let body {
                guard let fields = reader.fields(body, what: "leaky_relu", keys: ["alpha"]) else { return nil }
                if let v = fields["alpha"] {
                    guard let value = reader.double(v, what: "alpha", atLeast: 0) else { return nil }
                    alpha = value
                }
            }
            return Located(.leakyRelu(alpha: alpha), at: location)
        }
        if let body {
            reader.error("activation '\(kind)' takes no parameters", at: body, help: "write just `\(kind)`")
            return nil
        }
        let table: [String: Activation] = ["linear": .linear, "relu": .relu, "sigmoid": .sigmoid, "tanh": .tanh, "softmax": .softmax]
        return table[kind].map { Located($0, at: location) }
    }

    private func initializer(_ fields: Fields, _ key: String, default value: Initializer) -> Located<Initializer>? {
        guard let node = fields[key] else { return Located(value, at: fields.location) }
        guard let (kind, kindNode, body) = reader.tagged(node, what: key, kinds: Initializer.names) else { return nil }
        let location = reader.location(kindNode)
        switch kind {
        case "constant":
            guard let body else {
                reader.error("constant needs its value, e.g. `\(key): {constant: 0.1}`", at: kindNode)
                return nil
            }
            return reader.double(body, what: "constant").map { Located(.constant($0), at: location) }
        case "values":
            guard let body else {
                reader.error("values needs the numbers, e.g. `\(key): {values: [[0.5]]}`", at: kindNode)
                return nil
            }
            return tensorValues(body, what: key).map { Located(.values($0.values, shape: $0.shape), at: reader.location(body)) }
        default:
            if let body {
                reader.error("initializer '\(kind)' takes no parameters", at: body, help: "write just `\(kind)`")
                return nil
            }
            let table: [String: Initializer] = [
                "glorot_uniform": .glorotUniform, "he_normal": .heNormal, "he_uniform": .heUniform, "zeros": .zeros, "ones": .ones,
            ]
            return table[kind].map { Located($0, at: location) }
        }
    }

    /// Nested lists of numbers of a rectangular shape: `[5]` is shape [1], `[[-1]]` is shape [1, 1].
    private func tensorValues(_ node: Node, what: String) -> (values: [Double], shape: [Int])? {
        if case .scalar = node {
            return reader.double(node, what: what).map { ([$0], []) }
        }
        guard let items = reader.sequence(node, what: what) else { return nil }
        var values: [Double] = []
        var innerShape: [Int]?
        for item in items {
            guard let (inner, shape) = tensorValues(item, what: what) else { return nil }
            if let innerShape, innerShape != shape {
                reader.error("\(what) rows must all have the same shape", at: item)
                return nil
            }
            innerShape = shape
            values += inner
        }
        return (values, [items.count] + (innerShape ?? []))
    }
}
