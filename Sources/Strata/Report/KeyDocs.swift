import StrataEngine

/// The docs' key tables, from the same key rules the parser reads: `strata schema --format markdown` prints them,
/// and a test holds docs/spec.md to them.
public enum KeyDocs {
    /// One table per layer kind, headed by its name and summary.
    public static func layerTables() -> String {
        LayerRegistry.kinds.map { kind in
            var text = "#### `\(kind.typeName)`: \(kind.summary)\n\n"
            if let bodyKey = kind.bodyKey, let rule = kind.keys.first(where: { $0.name == bodyKey }) {
                return text + "Its value is the \(type(rule.type)) itself: \(rule.doc).\n"
            }
            if kind.keys.isEmpty { return text + "No keys besides `name`: `- \(kind.typeName)`.\n" }
            text += table(kind.keys)
            return text
        }.joined(separator: "\n")
    }

    /// One table per optimizer.
    public static func optimizerTables() -> String {
        OptimizerDescriptor.all.map { "#### `\($0.name)`: \($0.summary)\n\n" + table($0.keys) }.joined(separator: "\n")
    }

    static func table(_ rules: [KeyRule]) -> String {
        var lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for rule in rules {
            lines.append(
                "| `\(rule.name)` | \(type(rule.type)) | \(defaultText(rule.defaultValue)) | \(rule.doc.replacingOccurrences(of: "|", with: "\\|")) |"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func type(_ type: KeyType) -> String {
        switch type {
        case .integer(let range): return "integer " + bound(range)
        case .pair(let range): return "integer \(bound(range)) or `[h, w]`"
        case .number(let b):
            if let low = b.above ?? b.atLeast, let high = b.below ?? b.atMost {
                return
                    "number in \(b.above != nil ? "(" : "[")\(format(low)), \(format(high))\(b.below != nil ? ")" : "]")"
            }
            if let x = b.above { return "number > \(format(x))" }
            if let x = b.atLeast { return "number ≥ \(format(x))" }
            return "number"
        case .boolean: return "boolean"
        case .word(let words):
            let quoted = words.map { "`\($0)`" }
            return quoted.count <= 1
                ? quoted.joined() : quoted.dropLast().joined(separator: ", ") + " or " + (quoted.last ?? "")
        case .activation: return "[activation](#activations)"
        case .initializer: return "[initializer](#initializers)"
        case .regularizer: return "`{l1: x, l2: y}`, either or both ≥ 0"
        case .schedule: return "[schedule](#schedules)"
        }
    }

    static func bound(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max ? "≥ \(range.lowerBound)" : "in \(range.lowerBound)…\(range.upperBound)"
    }

    static func defaultText(_ value: KeyRule.Default) -> String {
        switch value {
        case .required: return "**required**"
        case .derived(let text): return text
        case .value(let v):
            switch v {
            case .integer(let x): return "\(x)"
            case .pair(let x): return x.count == 2 && x[0] == x[1] ? "\(x[0])" : "`\(x)`"
            case .number(let x): return format(x)
            case .boolean(let x): return "`\(x)`"
            case .word(let x): return "`\(x)`"
            case .activation(let x): return "`\(x.name)`"
            case .initializer(let x): return "`\(x.name)`"
            case .regularizer, .schedule: return "none"
            }
        }
    }
}
