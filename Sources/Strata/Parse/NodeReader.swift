import Yams

/// Typed, located access to Yams nodes; every mismatch becomes a diagnostic and a nil, so parsing goes on.
final class NodeReader {
    let file: String
    var diagnostics = Diagnostics()

    init(file: String) { self.file = file }

    func location(_ node: Node) -> SourceLocation { YAMLLoader.location(node.mark, file: file) }

    func error(_ message: String, at node: Node, help: String? = nil) {
        diagnostics.error(message, at: location(node), help: help)
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if scalar.style != .plain { return "the string \"\(scalar.string)\"" }
            switch node.tagName {
            case .null: return "nothing (null)"
            case .bool: return "the boolean \(scalar.string)"
            case .int: return "the integer \(scalar.string)"
            case .float: return "the number \(scalar.string)"
            default: return "the string \"\(scalar.string)\""
            }
        }
    }

    // MARK: Scalars

    func string(_ node: Node, what: String) -> String? {
        guard case .scalar(let scalar) = node, node.tagName != .null else {
            error("\(what) must be a string, got \(describe(node))", at: node)
            return nil
        }
        return scalar.string
    }

    func int(_ node: Node, what: String, range: ClosedRange<Int>? = nil, help: String? = nil) -> Int? {
        guard case .scalar = node, node.tagName == .int else {
            if case .scalar(let scalar) = node, node.tagName == .float, let value = Double(scalar.string),
                value.rounded() == value
            {
                error(
                    "\(what) must be a whole number, got \(scalar.string)", at: node,
                    help: "write it without a decimal point")
            } else {
                error("\(what) must be an integer, got \(describe(node))", at: node)
            }
            return nil
        }
        guard let value = node.int else {
            error("\(what) is too large", at: node)
            return nil
        }
        if let range, !range.contains(value) {
            error("\(what) must be \(describeRange(range)), got \(value)", at: node, help: help)
            return nil
        }
        return value
    }

    func double(_ node: Node, what: String) -> Double? {
        guard case .scalar(let scalar) = node, node.tagName == .int || node.tagName == .float,
            let value = node.tagName == .int ? node.int.map(Double.init) ?? Double(scalar.string) : node.float
        else {
            error("\(what) must be a number, got \(describe(node))", at: node)
            return nil
        }
        guard value.isFinite else {
            error("\(what) must be a finite number, got \(scalar.string)", at: node)
            return nil
        }
        return value
    }

    /// A number checked against bounds; `open` bounds exclude the endpoint (learning_rate > 0, rate < 1).
    func double(
        _ node: Node, what: String, above lower: Double? = nil, atLeast lowerInclusive: Double? = nil,
        below upper: Double? = nil, atMost upperInclusive: Double? = nil, help: String? = nil
    ) -> Double? {
        guard let value = double(node, what: what) else { return nil }
        var bad: String?
        if let lower, value <= lower { bad = "greater than \(format(lower))" }
        if let lowerInclusive, value < lowerInclusive { bad = "at least \(format(lowerInclusive))" }
        if let upper, value >= upper { bad = "less than \(format(upper))" }
        if let upperInclusive, value > upperInclusive { bad = "at most \(format(upperInclusive))" }
        if let bad {
            var requirement = bad
            if (lower != nil || lowerInclusive != nil) && (upper != nil || upperInclusive != nil) {
                let low = lower.map { "(\(format($0))" } ?? "[\(format(lowerInclusive!))"
                let high = upper.map { "\(format($0)))" } ?? "\(format(upperInclusive!))]"
                requirement = "in \(low), \(high)"
            }
            error("\(what) must be \(requirement), got \(format(value))", at: node, help: help)
            return nil
        }
        return value
    }

    func bool(_ node: Node, what: String) -> Bool? {
        guard case .scalar = node, node.tagName == .bool, let value = node.bool else {
            error("\(what) must be true or false, got \(describe(node))", at: node)
            return nil
        }
        return value
    }

    /// One of a fixed set of words, with "did you mean" for near misses.
    func choice<T>(_ node: Node, what: String, _ options: [(String, T)]) -> T? {
        guard let word = string(node, what: what) else { return nil }
        if let match = options.first(where: { $0.0 == word }) { return match.1 }
        let names = options.map(\.0)
        let list = names.joined(separator: ", ")
        if let suggestion = closestMatch(to: word, in: names) {
            error("unknown \(what) '\(word)'", at: node, help: "did you mean '\(suggestion)'? (one of: \(list))")
        } else {
            error("unknown \(what) '\(word)'", at: node, help: "expected one of: \(list)")
        }
        return nil
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, what: String, _ type: T.Type) -> T?
    where T.RawValue == String {
        choice(node, what: what, T.allCases.map { ($0.rawValue, $0) })
    }

    // MARK: Collections

    func sequence(_ node: Node, what: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            error("\(what) must be a list, got \(describe(node))", at: node)
            return nil
        }
        return Array(sequence)
    }

    /// An integer, or a list of `count` integers (`kernel_size: 3` or `[3, 3]`), each within `range`.
    func intTuple(_ node: Node, what: String, count: Int, range: ClosedRange<Int>) -> [Int]? {
        if case .sequence(let sequence) = node {
            guard sequence.count == count else {
                error("\(what) must have \(count) values, got \(sequence.count)", at: node)
                return nil
            }
            let values = sequence.map { int($0, what: what, range: range) }
            return values.contains(nil) ? nil : values.map { $0! }
        }
        return int(node, what: what, range: range).map { Array(repeating: $0, count: count) }
    }

    func numbers(_ node: Node, what: String) -> [Double]? {
        guard let items = sequence(node, what: what) else { return nil }
        var values: [Double] = []
        values.reserveCapacity(items.count)
        for item in items {
            guard let value = double(item, what: "each value of \(what)") else { return nil }
            values.append(value)
        }
        return values
    }

    func strings(_ node: Node, what: String) -> [String]? {
        guard let items = sequence(node, what: what) else { return nil }
        let values = items.map { string($0, what: "each entry of \(what)") }
        return values.contains(nil) ? nil : values.map { $0! }
    }

    /// Reads a mapping whose keys must all come from `keys`; unknown keys are reported with a suggestion.
    func fields(_ node: Node, what: String, keys: [String]) -> Fields? {
        guard case .mapping(let mapping) = node else {
            error("\(what) must be a mapping of keys to values, got \(describe(node))", at: node)
            return nil
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        var misspelled: Set<String> = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                error("keys of \(what) must be plain words, got \(describe(key))", at: key)
                continue
            }
            let name = scalar.string
            guard keys.contains(name) else {
                let suggestion = closestMatch(to: name, in: keys)
                if let suggestion { misspelled.insert(suggestion) }
                let help =
                    suggestion.map { "did you mean '\($0)'?" }
                    ?? "\(what) takes: \(keys.joined(separator: ", "))"
                error("unknown key '\(name)' in \(what)", at: key, help: help)
                continue
            }
            entries[name] = (key, value)
        }
        return Fields(node: node, what: what, entries: entries, misspelled: misspelled, reader: self)
    }

    /// A `{kind: parameters}` mapping with exactly one key, or a bare `kind` word: the style layers,
    /// activations, optimizers, schedules, initializers and data sources all share.
    func tagged(_ node: Node, what: String, kinds: [String]) -> (kind: String, kindNode: Node, body: Node?)? {
        let kindNode: Node
        let body: Node?
        switch node {
        case .scalar:
            kindNode = node
            body = nil
        case .mapping(let mapping) where mapping.count == 1:
            kindNode = mapping.first!.key
            body = mapping.first!.value
        case .mapping(let mapping):
            let listed = mapping.compactMap { $0.key.string }.joined(separator: ", ")
            error(
                "\(what) must have exactly one kind, got \(mapping.count) keys (\(listed))", at: node,
                help: "write it as `kind: {parameters}`, e.g. `\(kinds[0]): {...}`, with every parameter inside")
            return nil
        default:
            error("\(what) must be one of \(kinds.joined(separator: ", ")), got \(describe(node))", at: node)
            return nil
        }
        guard let kind = choice(kindNode, what: what, kinds.map { ($0, $0) }) else { return nil }
        // `flatten:` with nothing after it is the same as `flatten`.
        if let body, case .scalar = body, body.tagName == .null { return (kind, kindNode, nil) }
        return (kind, kindNode, body)
    }

    private func describeRange(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return "at least \(range.lowerBound)" }
        return "between \(range.lowerBound) and \(range.upperBound)"
    }
}

/// The keys of one mapping, already checked against the allowed set.
struct Fields {
    let node: Node
    let what: String
    let entries: [String: (key: Node, value: Node)]
    /// Keys an unknown key was probably meant to be; their absence is already explained.
    let misspelled: Set<String>
    let reader: NodeReader

    var location: SourceLocation { reader.location(node) }

    subscript(key: String) -> Node? { entries[key]?.value }

    func has(_ key: String) -> Bool { entries[key] != nil }

    /// The value of a key that must be present; a missing key is reported at the mapping.
    func required(_ key: String, help: String? = nil) -> Node? {
        if let value = entries[key]?.value { return value }
        if misspelled.contains(key) { return nil }
        reader.error("missing required key '\(key)' in \(what)", at: node, help: help)
        return nil
    }

    func keyLocation(_ key: String) -> SourceLocation? { entries[key].map { reader.location($0.key) } }
}

extension Node {
    /// The resolved YAML tag (int, float, bool, null, str, …) of a scalar.
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}
