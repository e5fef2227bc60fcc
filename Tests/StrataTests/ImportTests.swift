import Foundation
import Testing

@testable import Strata

/// `strata import`'s fixtures: the classic nets and one of each mapped layer, with their expected specs and
/// their warnings marked where they point (carets in prototxt and cfg files; listed here for JSON).
private let importFolder = Paths.fixtures.appendingPathComponent("import")

private func fixture(_ name: String) -> String { importFolder.appendingPathComponent(name).path }

private func text(_ name: String) -> String {
    (try? String(contentsOfFile: fixture(name), encoding: .utf8)) ?? ""
}

/// Every marked diagnostic of these files is reported, and every reported one is marked.
private func expectMarked(
    _ result: ImportResult, files: [String], also extra: [Expectation] = [], in source: String? = nil
) {
    var expected: [(String, Expectation)] = files.flatMap { name in
        Expectation.parse(text(name)).map { (fixture(name), $0) }
    }
    expected += extra.map { (source ?? fixture(files[0]), $0) }
    for (file, e) in expected {
        let found = result.diagnostics.items.contains {
            $0.location?.file == file && $0.location?.line == e.line && $0.location?.column == e.column
                && $0.severity.rawValue == e.severity && $0.message.hasPrefix(e.message)
        }
        #expect(
            found, "expected \(file):\(e), got:\n\(result.diagnostics.items.map(\.description).joined(separator: "\n"))"
        )
    }
    for diagnostic in result.diagnostics.items {
        let marked = expected.contains { file, e in
            diagnostic.location?.file == file && diagnostic.location?.line == e.line
                && diagnostic.location?.column == e.column && diagnostic.message.hasPrefix(e.message)
        }
        #expect(marked, "unexpected \(diagnostic)")
    }
}

struct GoldenImport: Sendable, CustomStringConvertible {
    var file: String
    var expected: String
    var solver: String?
    var input: [Int]?
    var trainExamples: Int?
    var description: String { file }
}

private let goldens = [
    GoldenImport(
        file: "caffe/lenet_train_test.prototxt", expected: "caffe/lenet.expected.yaml",
        solver: "caffe/lenet_solver.prototxt", input: [28, 28, 1], trainExamples: 60_000),
    GoldenImport(
        file: "caffe/features.prototxt", expected: "caffe/features.expected.yaml",
        solver: "caffe/features_solver.prototxt"),
    GoldenImport(file: "darknet/small.cfg", expected: "darknet/small.expected.yaml"),
    GoldenImport(file: "darknet/regression.cfg", expected: "darknet/regression.expected.yaml", trainExamples: 1000),
    GoldenImport(file: "keras/tf_keras_cnn.json", expected: "keras/tf_keras_cnn.expected.yaml"),
    GoldenImport(file: "keras/mlp.json", expected: "keras/mlp.expected.yaml"),
    GoldenImport(file: "keras/chain.json", expected: "keras/chain.expected.yaml"),
    GoldenImport(file: "keras/cnn.keras", expected: "keras/cnn.expected.yaml"),
]

/// What the JSON fixtures warn, by line and column (JSON has no comments to mark them in).
private let jsonWarnings: [String: [Expectation]] = [
    "keras/tf_keras_cnn.json": [
        Expectation(line: 1, column: 1, severity: "warning", message: "the config has no loss or optimizer")
    ],
    "keras/mlp.json": [
        Expectation(line: 1, column: 1, severity: "warning", message: "the config has no loss or optimizer")
    ],
    "keras/chain.json": [
        Expectation(line: 1, column: 1, severity: "warning", message: "the config has no loss or optimizer")
    ],
    "keras/cnn.keras": [
        Expectation(
            line: 1, column: 6173, severity: "warning",
            message: "the loss is computed from logits: the output gets a softmax")
    ],
]

@Test(arguments: goldens)
func importWritesTheExpectedSpec(_ golden: GoldenImport) throws {
    let options = ImportOptions(
        solver: golden.solver.map(fixture), input: golden.input, trainExamples: golden.trainExamples)
    let result = Importer.run(path: fixture(golden.file), options: options)
    let yaml = try #require(result.yaml, "\(result.diagnostics.items)")
    #expect(yaml == text(golden.expected))
    let archive = golden.file.hasSuffix(".keras") ? fixture(golden.file) + ":config.json" : nil
    expectMarked(
        result, files: [golden.file] + (golden.solver.map { [$0] } ?? []), also: jsonWarnings[golden.file] ?? [],
        in: archive)
}

private let refusals: [(file: String, solver: String?)] = [
    ("caffe/branch.prototxt", nil), ("caffe/unsupported.prototxt", nil), ("caffe/grouped.prototxt", nil),
    ("caffe/pooling.prototxt", nil), ("caffe/stochastic.prototxt", nil), ("caffe/legacy.prototxt", nil),
    ("caffe/tiny.prototxt", "caffe/adagrad_solver.prototxt"), ("darknet/refused.cfg", nil),
    ("darknet/yolo.cfg", nil), ("darknet/route.cfg", nil), ("darknet/maxpool.cfg", nil),
]

@Test(arguments: refusals.map(\.file))
func importRefusesWhatStrataCannotRepresentAtItsPlace(_ file: String) {
    let solver = refusals.first { $0.file == file }?.solver
    let result = Importer.run(path: fixture(file), options: ImportOptions(solver: solver.map(fixture)))
    #expect(result.yaml == nil)
    #expect(result.diagnostics.hasErrors)
    expectMarked(result, files: [file] + (solver.map { [$0] } ?? []))
}

/// The classic nets' imported specs check, and explain counts their parameters as the source frameworks do.
@Test func importedLeNetHasCaffesParameterCount() throws {
    let golden = goldens[0]
    let result = Importer.run(
        path: fixture(golden.file),
        options: ImportOptions(solver: fixture(golden.solver!), input: [28, 28, 1], trainExamples: 60_000))
    let yaml = try #require(result.yaml)
    let spec = try #require(
        SpecParser.parse(text: yaml + "data: {train: {inline: {x: [[0]], y: [0]}}}\n", file: "lenet.yaml").spec)
    let (_, summary, diagnostics) = Checker.check(spec, options: CheckOptions(readData: false))
    #expect(!diagnostics.hasErrors)
    let s = try #require(summary)
    // conv1 5·5·1·20 + 20, conv2 5·5·20·50 + 50, ip1 800·500 + 500, ip2 500·10 + 10: Caffe's LeNet, 431,080.
    #expect(s.layers.map(\.params) == [520, 0, 25_050, 0, 0, 400_500, 0, 5_010, 0])
    #expect(s.layers.reduce(0) { $0 + $1.params } == 431_080)
    let explained = Explain.render(spec, summary: s, style: .text)
    #expect(explained.contains("conv1 (conv2d): [28, 28, 1] → [24, 24, 20]"))
    #expect(explained.contains("inverse_time") || explained.contains("(1 + 0.0001·t / 1)^−0.75"))
}

/// A source model's name that would be a path as a spec's name (it names the checkpoint's file) is made one
/// file's name: the imported spec checks.
@Test func importedNameIsAFileName() throws {
    for (source, expected) in [("nets/mlp", "nets_mlp"), ("..", "imported")] {
        let json = text("keras/mlp.json").replacingOccurrences(
            of: "\"name\": \"keras_mlp\"", with: "\"name\": \"\(source)\"")
        let file = temporaryFolder().appendingPathComponent("renamed.json")
        try json.write(to: file, atomically: true, encoding: .utf8)
        let yaml = try #require(Importer.run(path: file.path).yaml)
        #expect(yaml.contains("\nname: \(expected)\n"), "\(yaml)")
        let parsed = SpecParser.parse(text: yaml + "data: {train: {inline: {x: [[0]], y: [0]}}}\n", file: "r.yaml")
        #expect(!parsed.diagnostics.hasErrors, "\(parsed.diagnostics.items)")
    }
}
