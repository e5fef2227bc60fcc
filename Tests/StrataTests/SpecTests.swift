import Foundation
import Testing

@testable import Strata

/// Fixtures whose expectation cannot be written inside them.
private let outsideExpectations: [String: Expectation] = [
    "empty-file.yaml": Expectation(line: 1, column: 1, severity: "error", message: "the spec is empty"),
    "binary-file.yaml": Expectation(
        line: 1, column: 1, severity: "error", message: "this is not a text file: byte 0x00 at offset 0"),
    "latin1.yaml": Expectation(
        line: 2, column: 10, severity: "error", message: "this is not UTF-8 text: invalid byte 0xe9"),
]

private let invalidFixtures: [String] = {
    let folder = Paths.fixtures.appendingPathComponent("invalid")
    return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".yaml") }
        .sorted()
}()

@Test func thereAreAtLeastFortyInvalidFixtures() {
    #expect(invalidFixtures.count >= 40)
}

@Test(arguments: invalidFixtures)
func invalidSpecReportsMarkedDiagnostics(fixture: String) throws {
    let path = Paths.fixtures.appendingPathComponent("invalid/\(fixture)").path
    let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
    var expectations = Expectation.parse(text)
    if let outside = outsideExpectations[fixture] { expectations.append(outside) }
    #expect(!expectations.isEmpty, "fixture \(fixture) marks no expected diagnostic")
    let (checked, _, diagnostics) = Checker.check(path: path)
    #expect(checked == nil || !expectations.contains { $0.severity == "error" } == true)
    for expected in expectations {
        let found = diagnostics.items.contains {
            $0.severity.rawValue == expected.severity && $0.location?.line == expected.line
                && $0.location?.column == expected.column && $0.message.contains(expected.message)
        }
        #expect(
            found,
            "\(fixture): expected \(expected), got:\n\(diagnostics.items.map(\.description).joined(separator: "\n"))")
    }
    for diagnostic in diagnostics.items where diagnostic.severity == .error {
        let wanted = expectations.contains {
            $0.severity == "error" && $0.line == diagnostic.location?.line && $0.column == diagnostic.location?.column
        }
        #expect(wanted, "\(fixture): unexpected \(diagnostic)")
    }
}

@Test func expectationsParseCaretColumns() {
    let text = "a: 1\nlayers: [x]\n#       ^ error: bad\n# expect: 1:1 warning: odd thing\n"
    let parsed = Expectation.parse(text)
    #expect(parsed.map(\.description) == ["2:9 error: bad", "1:1 warning: odd thing"])
}

/// Specs at the edges of what sizes allow, which once trapped: they check clean (in this process, so a trap
/// would end the test run).
@Test(arguments: ["overflow-conv-strides.yaml", "overflow-pool-strides.yaml"])
func edgeSpecsCheckClean(fixture: String) {
    let (checked, _, diagnostics) = Checker.check(path: Paths.fixtures.appendingPathComponent("valid/\(fixture)").path)
    #expect(checked != nil, "\(diagnostics.items.map(\.description))")
    #expect(checked?.summary.layers.first?.outputShape.prefix(2) == [1, 1])
}

/// The alias budget scales with the text: data written out (here 3,000 values against a budget of 1,000) is data,
/// not an alias bomb; a few lines of nested aliases expanding past the budget are still refused.
@Test func largeInlineDataIsNotMistakenForAnAliasBomb() {
    let values = (0..<1000).map { "[\($0 % 7), 1]" }.joined(separator: ",")
    var diagnostics = Diagnostics()
    #expect(YAMLLoader.compose(text: "x: [\(values)]\n", file: "big.yaml", into: &diagnostics, nodeLimit: 1000) != nil)
    let bomb =
        "a: &a [1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n"
    #expect(YAMLLoader.compose(text: bomb, file: "bomb.yaml", into: &diagnostics, nodeLimit: 100) == nil)
    #expect(diagnostics.items.last?.message.contains("through aliases") == true)
}

/// An image layer on a flat input or an image without its channel: the help says which fix.
@Test(arguments: [
    ("[64]", "conv2d: {filters: 2, kernel_size: 3}", "set `input` to the image shape, e.g. [28, 28, 1]"),
    ("[8, 8]", "conv2d: {filters: 2, kernel_size: 3}", "give the channels too, last: [8, 8, 1] for a grayscale image"),
    ("[8, 8]", "max_pool2d: {pool_size: 2}", "give the channels too, last: [8, 8, 1]"),
    ("[8, 8]", "global_average_pooling2d", "give the channels too, last: [8, 8, 1]"),
])
func imageLayersSayHowToShapeTheirInput(input: String, layer: String, help: String) {
    let text =
        "input: \(input)\nlayers:\n  - \(layer)\n  - flatten\n  - dense: {units: 1}\nloss: mse\noptimizer: sgd\n"
        + "data: {train: {inline: {x: [[0]], y: [0]}}}\n"
    let (spec, parsed) = SpecParser.parse(text: text, file: "image.yaml")
    #expect(!parsed.hasErrors, "\(parsed.items)")
    guard let spec else { return }
    let (_, _, diagnostics) = Checker.check(spec)
    let error = diagnostics.items.first { $0.severity == .error }
    #expect(error?.message.contains("needs [height, width, channels]") == true, "\(diagnostics.items)")
    #expect(error?.help?.contains(help) == true, "\(error?.help ?? "no help")")
}

/// Keras' names in a spec get Strata's word as the suggestion: the words a Keras user types first.
@Test func kerasNamesSuggestStrataWords() {
    let text = """
        input: [4]
        layers:
          - dense: {output_dim: 3, activation: softmax}
        loss: mean_squared_error
        metrics: [acc]
        optimizer: {adam: {lr: 0.01}}
        data: {train: {inline: {x: [[0, 0, 0, 0]], y: [[1, 0, 0]]}}}

        """
    let (_, diagnostics) = SpecParser.parse(text: text, file: "keras.yaml")
    let helps = diagnostics.items.map { "\($0.message) | \($0.help ?? "")" }
    for (word, strata) in [
        ("output_dim", "units"), ("mean_squared_error", "mse"), ("acc", "accuracy"),
        ("lr", "learning_rate"),
    ] {
        #expect(
            helps.contains { $0.contains("'\(word)'") && $0.contains("did you mean '\(strata)'?") }, "\(helps)")
    }
}

/// The cosine warning's counts may be as large as an Int holds: it computes no sum or product that overflows
/// (both trapped), and without a whole-run decay_steps to offer it still names alpha.
@Test(arguments: [("9223372036854775807", "3", nil), ("1", "9223372036854775807", "help: set alpha above 0")])
func cosineWarningSurvivesHugeCounts(decaySteps: String, epochs: String, help: String?) {
    let text = """
        input: [1]
        layers:
          - dense: {units: 1}
        loss: mse
        optimizer: {sgd: {learning_rate: 0.1, schedule: {cosine: {decay_steps: \(decaySteps)}}}}
        training: {batch_size: 2, epochs: \(epochs)}
        data: {train: {inline: {x: [[0], [1], [2]], y: [0, 1, 2]}}}

        """
    let (spec, parsed) = SpecParser.parse(text: text, file: "cosine.yaml")
    #expect(!parsed.hasErrors, "\(parsed.items)")
    guard let spec else { return }
    let warnings = Checker.check(spec).diagnostics.items.filter { $0.message.contains("cosine schedule") }
    #expect(warnings.count == (help == nil ? 0 : 1), "\(warnings)")
    if let help { #expect(warnings.first.map { "help: " + ($0.help ?? "") } == help) }
}
