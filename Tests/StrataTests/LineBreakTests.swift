import Testing

@testable import Strata

// Specs saved on Windows ("\r\n"), by old Mac editors ("\r") or with a byte-order mark read as the same spec, and
// every line-based check sees their lines.

private let spec = """
    input: [2]
    layers: [{dense: {units: 0}}]
    loss: mse
    optimizer: sgd
    data: {train: {inline: {x: [[0, 1]], y: [1]}}}

    """

/// The error names the same place whatever the line breaks, and the printer shows that line under it.
@Test(arguments: ["\n", "\r\n", "\r"])
func lineBreaksDoNotMoveDiagnostics(_ lineBreak: String) {
    let text = spec.replacingOccurrences(of: "\n", with: lineBreak)
    let (_, diagnostics) = SpecParser.parse(text: text, file: "s.yaml")
    let error = diagnostics.items.first { $0.message.contains("units must be at least 1") }
    #expect(error?.location?.line == 2 && error?.location?.column == 26, "\(diagnostics.items)")
    let rendered = DiagnosticPrinter(sources: ["s.yaml": text]).render(diagnostics)
    #expect(rendered.contains("2 | layers: [{dense: {units: 0}}]\n  |                          ^"), "\(rendered)")
}

/// The guard against aliases in keys reads every line of a "\r\n" text: before, it saw one line starting with a
/// comment, let the key through, and Yams hashed its expansion for minutes.
@Test func aliasInAKeyIsRefusedWithWindowsLineBreaks() {
    var lines = ["# a bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in 1...8 {
        lines.append(
            "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
    }
    lines.append("k: [?*a8, 1]")
    let (spec, diagnostics) = SpecParser.parse(text: lines.joined(separator: "\r\n") + "\r\n", file: "b.yaml")
    #expect(spec == nil)
    let error = diagnostics.items.first
    #expect(error?.message.contains("a mapping key made of aliases") == true, "\(diagnostics.items)")
    #expect(error?.location?.line == 11 && error?.location?.column == 4)
}

/// A byte-order mark (Notepad writes one) is not part of the first key.
@Test func byteOrderMarkIsNotPartOfTheFirstKey() {
    let (parsed, diagnostics) = SpecParser.parse(
        text: "\u{FEFF}" + spec.replacingOccurrences(of: "units: 0", with: "units: 1"), file: "m.yaml")
    #expect(!diagnostics.hasErrors, "\(diagnostics.items)")
    #expect(parsed?.input.value == [2])
}

@Test func normalizedKeepsEveryLineAndDropsOnlyBreaks() {
    #expect(LineBreaks.normalized("a\r\nb\rc\n\r\nd") == "a\nb\nc\n\nd")
    #expect(LineBreaks.normalized("\u{FEFF}x: 1\r\n") == "x: 1\n")
    #expect(LineBreaks.normalized("x: \u{FEFF}1") == "x: \u{FEFF}1")
}
