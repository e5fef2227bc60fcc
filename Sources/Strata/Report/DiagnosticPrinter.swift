/// Renders diagnostics like a compiler: `file:line:col: error: message`, the source line, a caret under the
/// column, then `help:` and `note:` lines.
public struct DiagnosticPrinter {
    /// Each file's lines, to show the offending one, counted as the parser counts them (LineBreaks: "\r\n" and
    /// "\r" break lines too).
    private let sourceLines: [String: [Substring]]
    /// At most this many are printed (errors first), then a count of the rest: a one-line spec with thousands of
    /// problems must not print megabytes.
    public static let maximumShown = 50
    /// Source excerpts are cut to this many characters around the column.
    public static let excerptWidth = 100

    public init(sources: [String: String] = [:]) {
        sourceLines = sources.mapValues {
            LineBreaks.normalized($0).split(separator: "\n", omittingEmptySubsequences: false)
        }
    }

    public func render(_ diagnostic: Diagnostic) -> String {
        var lines = [diagnostic.description]
        if let location = diagnostic.location, let fileLines = sourceLines[location.file], location.line >= 1,
            location.line <= fileLines.count
        {
            let sourceLine = String(fileLines[location.line - 1])
            let gutter = String(location.line)
            let pad = String(repeating: " ", count: gutter.count)
            let (excerpt, column) = Self.excerpt(sourceLine, column: location.column)
            lines.append("\(pad) |")
            lines.append("\(gutter) | \(excerpt)")
            // Tabs stay tabs so the caret lines up under them.
            let lead = excerpt.unicodeScalars.prefix(max(0, column - 1)).map { $0 == "\t" ? "\t" : " " }.joined()
            lines.append("\(pad) | \(lead)^")
        }
        if let help = diagnostic.help { lines.append("  help: \(help)") }
        for note in diagnostic.notes { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n")
    }

    public func render(_ diagnostics: Diagnostics) -> String {
        let items = diagnostics.sorted
        guard !items.isEmpty else { return "" }
        let errors = items.filter { $0.severity == .error }.count
        let warnings = items.filter { $0.severity == .warning }.count
        var parts: [String] = []
        if errors > 0 { parts.append("\(errors) error\(errors == 1 ? "" : "s")") }
        if warnings > 0 { parts.append("\(warnings) warning\(warnings == 1 ? "" : "s")") }
        // Errors first when cutting, then shown in source order.
        let ranked =
            items.indices.filter { items[$0].severity == .error }
            + items.indices.filter { items[$0].severity != .error }
        let kept = Set(ranked.prefix(Self.maximumShown))
        let shown = items.indices.filter { kept.contains($0) }.map { items[$0] }
        let hidden = items.count - shown.count
        let more = hidden > 0 ? "\n\n… and \(hidden) more not shown" : ""
        return shown.map(render).joined(separator: "\n\n") + more + "\n\n" + parts.joined(separator: ", ") + "\n"
    }

    /// A long line cut to `excerptWidth` characters around `column`, with … where it was cut; the column within.
    static func excerpt(_ line: String, column: Int) -> (String, Int) {
        let scalars = Array(line.unicodeScalars)
        guard scalars.count > excerptWidth else { return (line, column) }
        let start = max(0, min(column - 1 - excerptWidth / 2, scalars.count - excerptWidth))
        let end = min(scalars.count, start + excerptWidth)
        var text = String(String.UnicodeScalarView(scalars[start..<end]))
        var shifted = column - start
        if start > 0 {
            text = "…" + text
            shifted += 1
        }
        if end < scalars.count { text += "…" }
        return (text, shifted)
    }
}
