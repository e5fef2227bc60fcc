import Foundation
import Yams

/// Turns spec text into a Yams node tree, mapping every failure to a located diagnostic.
enum YAMLLoader {
    /// A spec that expands (through aliases) past this many nodes is refused: an alias bomb would otherwise hang.
    static let maximumNodeCount = 2_000_000

    static func compose(
        text: String, file: String, into diagnostics: inout Diagnostics, nodeLimit: Int = maximumNodeCount
    ) -> Node? {
        // Yams hashes mapping keys while composing: a key built from nested aliases is hashed through its whole
        // expansion, which no budget checked afterwards can stop. Spec keys are plain words, so refuse first.
        if let (line, column) = aliasInKey(text) {
            diagnostics.error(
                "a mapping key made of aliases (`? *a`, `[*a]: …`, `*a : …`) is not allowed in a spec",
                at: SourceLocation(file: file, line: line, column: column),
                help: "spec keys are plain words such as `layers:`; aliases may stand only for values")
            return nil
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            diagnostics.append(diagnostic(for: error, text: text, file: file))
            return nil
        } catch {
            diagnostics.error("cannot read YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
            return nil
        }
        guard let root else {
            diagnostics.error(
                "the spec is empty", at: SourceLocation(file: file, line: 1, column: 1),
                help: "a spec needs at least `input`, `layers`, `loss`, `optimizer` and `data`; see docs/spec.md")
            return nil
        }
        // Without aliases a text holds fewer nodes than bytes, so only expansion can pass this budget: a large
        // spec of inline data is not mistaken for an alias bomb.
        let limit = max(nodeLimit, text.utf8.count)
        var budget = limit
        if !fitsBudget(root, &budget) {
            diagnostics.error(
                "the spec expands to more than \(limit) values through aliases",
                at: location(root.mark, file: file),
                help: "aliases that nest other aliases grow exponentially; write the values out or use fewer levels")
            return nil
        }
        return root
    }

    /// Where a mapping key could hold an alias, in a text that has aliases: an explicit key (`? …`), a flow
    /// collection as a key (`[…]:`, `{…}:`), or a key that starts with an alias (`*a :`, and `[*a 1: x]`, whose
    /// entry is a one-pair mapping keyed `*a 1`). Lexical and conservative: no spec needs any of these.
    static func aliasInKey(_ text: String) -> (line: Int, column: Int)? {
        guard text.contains("*") else { return nil }
        // In block context `?` marks a key when a blank follows; in flow context (after `[`, `{` or `,`) always.
        let patterns = [
            #"^\s*(-\s+)*\?(\s|$)"#, #"[\[{,]\s*\?"#, #"[\]}]\s*:(\s|$)"#, #"\*[^\s,\[\]{}]+[^,\[\]{}]*:(\s|$)"#,
        ]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = line.prefix { $0 != "#" }
            for pattern in patterns {
                if let range = code.range(of: pattern, options: .regularExpression) {
                    return (index + 1, code.distance(from: code.startIndex, to: range.lowerBound) + 1)
                }
            }
        }
        return nil
    }

    /// Counts nodes as if aliases were expanded, stopping as soon as the budget runs out.
    private static func fitsBudget(_ node: Node, _ budget: inout Int) -> Bool {
        budget -= 1
        if budget < 0 { return false }
        switch node {
        case .scalar, .alias:
            return true
        case .sequence(let sequence):
            for child in sequence where !fitsBudget(child, &budget) { return false }
            return true
        case .mapping(let mapping):
            for (key, value) in mapping {
                if !fitsBudget(key, &budget) || !fitsBudget(value, &budget) { return false }
            }
            return true
        }
    }

    static func location(_ mark: Mark?, file: String) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    private static func diagnostic(for error: YamlError, text: String, file: String) -> Diagnostic {
        func syntax(_ problem: String, _ mark: Mark, _ context: YamlError.Context?) -> Diagnostic {
            // The scanner's words for a tab in the indentation do not always say "tab"; the line does.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if mark.line >= 1, mark.line <= lines.count,
                lines[mark.line - 1].prefix(while: { $0 == " " || $0 == "\t" }).contains("\t")
            {
                return Diagnostic(
                    .error, "YAML syntax: a tab in the indentation of line \(mark.line)",
                    at: location(mark, file: file),
                    help: "YAML indents with spaces, never tabs: replace the tab with spaces")
            }
            var message = "YAML syntax: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            return Diagnostic(.error, message, at: location(mark, file: file), help: syntaxHelp(problem))
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _):
            return syntax(problem, mark, context)
        case .composer(let context, let problem, let mark, _):
            return syntax(problem, mark, context)
        case .reader(let problem, let offset, _, _):
            let (line, column) = lineAndColumn(ofUTF8Offset: offset ?? 0, in: text)
            return Diagnostic(
                .error, "cannot decode the spec: \(problem) at byte \(offset ?? 0)",
                at: SourceLocation(file: file, line: line, column: column))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            let first = (line: context.mark.line, column: context.mark.column)
            let second = DuplicateKeyLocator.secondOccurrence(of: key, after: first, in: text) ?? first
            return Diagnostic(
                .error, "duplicate key '\(key)'",
                at: SourceLocation(file: file, line: second.line, column: second.column),
                help: "'\(key)' is already set at line \(first.line), column \(first.column); keep one of them")
        default:
            return Diagnostic(.error, "cannot read YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    private static func syntaxHelp(_ problem: String) -> String? {
        if problem.contains("tab") { return "YAML indents with spaces, never tabs" }
        if problem.contains("mapping values are not allowed") {
            return "a value containing ': ' must be quoted, or a key is indented inconsistently"
        }
        return nil
    }

    static func lineAndColumn(ofUTF8Offset offset: Int, in text: String) -> (Int, Int) {
        var line = 1, column = 1, consumed = 0
        for scalar in text.unicodeScalars {
            if consumed >= offset { break }
            consumed += String(scalar).utf8.count
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}

/// Yams reports a duplicated key at its first occurrence; users need the second, the one to delete.
enum DuplicateKeyLocator {
    static func secondOccurrence(
        of key: String, after first: (line: Int, column: Int), in text: String
    ) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            Array(String($0).unicodeScalars)
        }
        guard first.line - 1 < lines.count else { return nil }
        let keyScalars = Array(key.unicodeScalars)
        // Flow mappings: the second key usually sits later on the same line.
        let firstLine = lines[first.line - 1]
        var index = first.column - 1 + keyScalars.count
        while index < firstLine.count {
            if startsKey(keyScalars, in: firstLine, at: index), index > 0,
                "{, ".unicodeScalars.contains(firstLine[index - 1])
            {
                return (first.line, index + 1)
            }
            index += 1
        }
        // Block mappings: a later line with the key at the same column, before the mapping is left.
        for lineIndex in first.line..<lines.count {
            let line = lines[lineIndex]
            let indent = line.prefix { $0 == " " || $0 == "-" }.count
            if indent == line.count || line[indent] == "#" { continue }
            if indent + 1 < first.column { return nil }
            if indent + 1 == first.column, startsKey(keyScalars, in: line, at: indent) {
                return (lineIndex + 1, first.column)
            }
        }
        return nil
    }

    private static func startsKey(_ key: [Unicode.Scalar], in line: [Unicode.Scalar], at start: Int) -> Bool {
        for quote in ["", "\"", "'"] {
            let q = Array(quote.unicodeScalars)
            let token = q + key + q
            guard start + token.count <= line.count, Array(line[start..<start + token.count]) == token else { continue }
            var after = start + token.count
            while after < line.count, line[after] == " " { after += 1 }
            if after < line.count, line[after] == ":" { return true }
        }
        return false
    }
}
