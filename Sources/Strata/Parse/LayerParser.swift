import Yams

import StrataEngine

extension SpecBuilder {
    func parseLayers(_ node: Node) -> [LayerSpec]? {
        guard let items = reader.sequence(node, what: "layers") else { return nil }
        if items.isEmpty {
            reader.error(
                "layers is empty", at: node, help: "a model needs at least one layer, e.g. `- dense: {units: 1}`")
            return nil
        }
        let parsed = items.compactMap(parseLayer)
        guard parsed.count == items.count else { return nil }
        return nameLayers(parsed)
    }

    /// Keras-style default names (`dense_1`, `dense_2`, `conv2d_1`), skipping names the user took.
    private func nameLayers(
        _ layers: [(kind: any LayerKind, name: Located<String>?, location: SourceLocation)]
    ) -> [LayerSpec]? {
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

    /// A layer item, read by its kind's key rules: the same reading for every kind.
    private func parseLayer(_ node: Node) -> (kind: any LayerKind, name: Located<String>?, location: SourceLocation)? {
        guard let (word, kindNode, body) = reader.tagged(node, what: "layer type", kinds: LayerRegistry.typeNames),
            let type = LayerRegistry.kind(named: word)
        else { return nil }
        let location = reader.location(kindNode)
        if let bodyKey = type.bodyKey, let rule = type.keys.first(where: { $0.name == bodyKey }) {
            guard let body else {
                reader.error("\(word) layer needs its \(bodyKey)", at: kindNode, help: rule.doc)
                return nil
            }
            guard let value = keyValue(body, rule) else { return nil }
            let arguments = LayerArguments(rules: type.keys, given: [bodyKey: value], location: location)
            return (type.init(arguments), nil, location)
        }
        var fields: Fields?
        if let body {
            fields = reader.fields(body, what: "\(word) layer", keys: ["name"] + type.keys.map(\.name))
            if fields == nil { return nil }
        }
        let anchor = body ?? kindNode
        let name = fields?["name"].flatMap(parseLayerName)
        if fields?.has("name") == true && name == nil { return nil }
        var given: [String: Located<KeyValue>] = [:]
        var ok = true
        for rule in type.keys {
            let valueNode: Node?
            if rule.isRequired {
                if let fields {
                    valueNode = fields.required(rule.name, help: rule.help ?? rule.doc)
                } else {
                    reader.error("\(word) layer needs '\(rule.name)'", at: anchor, help: rule.help ?? rule.doc)
                    valueNode = nil
                }
                if valueNode == nil { ok = false }
            } else {
                valueNode = fields?[rule.name]
            }
            guard let valueNode else { continue }
            guard let value = keyValue(valueNode, rule) else {
                ok = false
                continue
            }
            given[rule.name] = value
        }
        guard ok else { return nil }
        return (
            type.init(LayerArguments(rules: type.keys, given: given, location: reader.location(anchor))), name, location
        )
    }

    /// A key's value read by its rule's type, located where it is written (an initializer's `values` at the
    /// numbers); nil (with a diagnostic) when it does not fit.
    func keyValue(_ node: Node, _ rule: KeyRule) -> Located<KeyValue>? {
        let what = rule.what
        let here = { (value: KeyValue?) in value.map { Located($0, at: self.reader.location(node)) } }
        switch rule.type {
        case .integer(let range):
            return here(reader.int(node, what: what, range: range, help: rule.help).map(KeyValue.integer))
        case .pair(let range):
            return here(reader.intTuple(node, what: what, count: 2, range: range).map(KeyValue.pair))
        case .number(let b):
            let value = reader.double(
                node, what: what, above: b.above, atLeast: b.atLeast, below: b.below, atMost: b.atMost, help: rule.help)
            return here(value.map(KeyValue.number))
        case .boolean:
            return here(reader.bool(node, what: what).map(KeyValue.boolean))
        case .word(let words):
            return here(reader.choice(node, what: what, words.map { ($0, $0) }).map(KeyValue.word))
        case .regularizer:
            return here(parseRegularizer(node, key: rule.name).map(KeyValue.regularizer))
        case .activation:
            return parseActivation(node).map { Located(.activation($0.value), at: $0.location) }
        case .initializer:
            return initializer(node, key: rule.name).map { Located(.initializer($0.value), at: $0.location) }
        case .schedule:
            return parseSchedule(node).map { Located(.schedule($0.value), at: $0.location) }
        }
    }

    /// `{l2: 0.0001}`, `{l1: 0.001}` or both.
    private func parseRegularizer(_ node: Node, key: String) -> Regularizer? {
        guard let fields = reader.fields(node, what: key, keys: ["l1", "l2"]) else { return nil }
        guard fields.has("l1") || fields.has("l2") else {
            reader.error("\(key) needs l1 or l2", at: node, help: "e.g. `\(key): {l2: 0.0001}`")
            return nil
        }
        let l1 = fields["l1"].map { reader.double($0, what: "l1", atLeast: 0) } ?? 0
        let l2 = fields["l2"].map { reader.double($0, what: "l2", atLeast: 0) } ?? 0
        guard let l1, let l2 else { return nil }
        return Regularizer(l1: Float(l1), l2: Float(l2))
    }

    private func parseLayerName(_ node: Node) -> Located<String>? {
        guard let name = reader.string(node, what: "layer name") else { return nil }
        let allowed = name.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        guard !name.isEmpty, allowed else {
            reader.error(
                "layer name '\(name)' may only hold letters, digits, '_' and '-'", at: node,
                help: "names become tensor names such as `\(name).weight` in the checkpoint")
            return nil
        }
        return Located(name, at: reader.location(node))
    }

    func parseActivation(_ node: Node) -> Located<ActivationKind>? {
        let names = ActivationKind.byName.map(\.name)
        guard let (word, kindNode, body) = reader.tagged(node, what: "activation", kinds: names),
            let kind = ActivationKind.byName.first(where: { $0.name == word })?.kind
        else { return nil }
        let location = reader.location(kindNode)
        if kind.alpha != nil {
            guard let body else { return Located(kind, at: location) }
            guard let fields = reader.fields(body, what: word, keys: ["alpha"]) else { return nil }
            guard let v = fields["alpha"] else { return Located(kind, at: location) }
            guard let value = reader.double(v, what: "alpha", atLeast: 0) else { return nil }
            return Located(kind.with(alpha: Float(value)), at: location)
        }
        if let body {
            reader.error("activation '\(word)' takes no parameters", at: body, help: "write just `\(word)`")
            return nil
        }
        return Located(kind, at: location)
    }

    private func initializer(_ node: Node, key: String) -> Located<InitializerKind>? {
        guard let (kind, kindNode, body) = reader.tagged(node, what: key, kinds: InitializerKind.names) else {
            return nil
        }
        let location = reader.location(kindNode)
        switch kind {
        case "constant":
            guard let body else {
                reader.error("constant needs its value, e.g. `\(key): {constant: 0.1}`", at: kindNode)
                return nil
            }
            return reader.double(body, what: "constant").map { Located(.constant(Float($0)), at: location) }
        case "values":
            guard let body else {
                reader.error("values needs the numbers, e.g. `\(key): {values: [[0.5]]}`", at: kindNode)
                return nil
            }
            return tensorValues(body, what: key).map {
                Located(.values($0.values.map(Float.init), shape: $0.shape), at: reader.location(body))
            }
        default:
            if let body {
                reader.error("initializer '\(kind)' takes no parameters", at: body, help: "write just `\(kind)`")
                return nil
            }
            return InitializerKind.plain[kind].map { Located($0, at: location) }
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
