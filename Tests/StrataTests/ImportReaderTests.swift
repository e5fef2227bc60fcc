import Foundation
import StrataTestSupport
import Testing
import ZIPFoundation

@testable import Strata

/// Writes `text` to a scratch file and imports it.
private func importText(
    _ text: String, name: String = "model.json", options: ImportOptions = .init()
) -> (ImportResult, String) {
    let path = ScratchFolder.make("import").appendingPathComponent(name).path
    FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return (Importer.run(path: path, options: options), path)
}

/// A reader's failure as `line:column message`, or nil when it read the text.
private func readFailure(_ read: () throws(ImportFailure) -> Void) -> String? {
    do {
        try read()
        return nil
    } catch {
        let d = error.diagnostic
        return "\(d.location?.line ?? 0):\(d.location?.column ?? 0) \(d.message)"
    }
}

/// The first error, as `line:column message`.
private func firstError(_ result: ImportResult) -> String? {
    result.diagnostics.errors.first.map { "\($0.location?.line ?? 0):\($0.location?.column ?? 0) \($0.message)" }
}

/// A Keras 3 Sequential config with these layer objects after an input of `shape`.
private func sequential(_ layers: [String], shape: String = "[null, 8, 8, 1]", compile: String? = nil) -> String {
    let input = #"{"class_name": "InputLayer", "config": {"batch_shape": \#(shape), "name": "input"}}"#
    return """
        {"class_name": "Sequential",
         "config": {"name": "m", "layers": [
          \(([input] + layers).joined(separator: ",\n  "))
         ]}\(compile.map { ",\n \"compile_config\": \($0)" } ?? "")
        }
        """
}

@Test func kerasRefusalsPointAtTheKey() {
    let cases: [(String, String)] = [
        (
            sequential([
                #"{"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}}"#
            ]),
            "4:86 data_format channels_first has no Strata equivalent"
        ),
        (
            sequential([#"{"class_name": "LSTM", "config": {"units": 4}}"#]),
            "4:18 Keras layer LSTM has no Strata equivalent"
        ),
        (
            sequential([
                #"{"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3, "dilation_rate": [2, 2]}}"#
            ]),
            "4:88 dilation_rate [2, 2] has no Strata equivalent"
        ),
        (
            sequential(
                [
                    #"{"class_name": "Flatten", "config": {}}"#,
                    #"{"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}}"#,
                ],
                compile:
                    #"{"loss": {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": true}}, "optimizer": "adam"}"#
            ),
            "7:103 the loss is computed from logits, but the last layer already ends in softmax"
        ),
        (
            sequential(
                [#"{"class_name": "Flatten", "config": {}}"#, #"{"class_name": "Dense", "config": {"units": 1}}"#],
                compile:
                    #"{"loss": "mse", "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01, "clipnorm": 1.0}}}"#
            ),
            "7:118 clipnorm has no Strata equivalent"
        ),
        (
            sequential([#"{"class_name": "Dense", "config": {"units": 2, "activation": "selu"}}"#], shape: "[null, 4]"),
            "4:64 activation selu has no Strata equivalent"
        ),
        (
            #"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 2}}]}}"#,
            "1:40 the config does not give the input shape"
        ),
        ("{\"weights\": [1, 2]}", "1:1 not a Keras model config: it has no `class_name` and `config`"),
    ]
    for (json, expected) in cases {
        let (result, _) = importText(json)
        #expect(result.yaml == nil)
        #expect(firstError(result) == expected, "\(json)")
    }
}

/// A spec whose shapes the checker refuses is refused at the source layer, with the written line as a note.
@Test func checkerProblemsPointIntoTheSource() {
    let json = sequential([#"{"class_name": "Dense", "config": {"units": 3}}"#], shape: "[null, 8, 8, 1]")
    let (result, path) = importText(json)
    #expect(result.yaml == nil)
    let error = result.diagnostics.errors.first
    #expect(error?.location == SourceLocation(file: path, line: 4, column: 3))
    #expect(error?.notes.contains { $0.contains("imported.yaml:6: - dense: {units: 3}") } == true)
}

@Test func jsonReaderLocatesItsErrors() {
    let cases: [(String, String)] = [
        ("{\"a\": 1,\n }", "2:2 expected a quoted key"),
        ("{\"a\": \"open\n}", "1:7 unterminated string"),
        ("[1, 2] x", "1:8 unexpected text after the JSON value"),
        (String(repeating: "[", count: 300), "1:201 JSON nested deeper than 200 levels"),
        ("{\"a\": tru}", "1:7 expected a JSON value"),
        ("{\"a\": \"\\q\"}", "1:9 unknown escape '\\q'"),
    ]
    for (json, expected) in cases {
        #expect(readFailure { () throws(ImportFailure) in _ = try JSONReader.read(json, file: "x.json") } == expected)
    }
    let value = try? JSONReader.read(#"{"s": "a\u00e9\ud83d\ude00\n", "n": -1.5e3, "b": [true, null]}"#, file: "x.json")
    #expect(value?["s"]?.text == "aé😀\n")
    #expect(value?["n"]?.number == -1500)
    #expect(value?["b"]?.array?.first?.bool == true)
    #expect(value?["b"]?.array?.last?.isNull == true)
}

@Test func protoTextReaderReadsCaffesForms() throws {
    let text = """
        # a comment
        name: "a" 'b'   # adjacent strings are one
        layer < type: "Input" dim: [1, 2] >
        layer { pool: MAX ratio: 0.5 flag: true }
        """
    let root = try ProtoTextReader.read(text, file: "n.prototxt")
    #expect(root["name"]?.text == "ab")
    #expect(root.all("layer").count == 2)
    #expect(root.all("layer")[0]["dim"]?.array?.compactMap(\.integer) == [1, 2])
    #expect(root.all("layer")[1]["pool"]?.text == "MAX")
    #expect(root.all("layer")[1]["ratio"]?.number == 0.5)
    #expect(root.all("layer")[1]["flag"]?.bool == true)
    #expect(root.all("layer")[1].location == SourceLocation(file: "n.prototxt", line: 4, column: 7))
    for (bad, expected) in [
        ("layer {\n  name: \"x\"\n", "3:1 the file ends inside a message; a '}' is missing"),
        ("name \"x\"", "1:6 expected ':' or '{' after 'name'"),
        ("{", "1:1 expected a field name, found '{'"),
    ] {
        #expect(
            readFailure { () throws(ImportFailure) in _ = try ProtoTextReader.read(bad, file: "n.prototxt") }
                == expected)
    }
}

@Test func darknetReaderReadsSectionsAndPlaces() throws {
    let sections = try DarknetReader.read(
        "# c\n[net]\nwidth = 28\n; note\n\n[convolutional]\nfilters=8\r\n", file: "a.cfg")
    #expect(sections.map(\.name) == ["net", "convolutional"])
    #expect(sections[0].values["width"]?.integer == 28)
    #expect(sections[0].values["width"]?.location == SourceLocation(file: "a.cfg", line: 3, column: 9))
    #expect(sections[1].values["filters"]?.text == "8")
    do {
        _ = try DarknetReader.read("width=28\n[net]", file: "a.cfg")
        Issue.record("a value before any section was read")
    } catch {
        #expect(error.diagnostic.message == "a value comes before any `[section]`")
    }
}

@Test func importRefusesFilesItCannotRead() {
    let (binary, _) = importText("\u{0}\u{1}\u{2}", name: "x.bin")
    #expect(binary.diagnostics.errors.first?.message.hasSuffix("x.bin is not a text file") == true)
    let (prose, _) = importText("This is a note about a model.\n", name: "notes.txt")
    #expect(
        prose.diagnostics.errors.first?.message.hasSuffix("notes.txt: cannot tell what this file describes") == true)
    let (zip, _) = importText("PK\u{3}\u{4}not really a zip archive", name: "model.keras")
    #expect(zip.diagnostics.errors.first?.message.hasSuffix("model.keras is not a zip archive Strata can read") == true)
    let missing = Importer.run(path: "/nonexistent/model.json")
    #expect(missing.diagnostics.errors.first?.message == "/nonexistent/model.json: no such file")
    let (keras, _) = importText(sequential([], shape: "[null, 4]"), options: ImportOptions(solver: "s.prototxt"))
    #expect(keras.diagnostics.errors.contains { $0.message.hasPrefix("--solver is for Caffe nets") })
}

/// Writes a zip archive of these entries, each stored (not compressed), so the archive is as large as they are.
private func zipArchive(_ entries: [(String, Data)]) throws -> String {
    let url = ScratchFolder.make("import-zip").appendingPathComponent("model.keras")
    let archive = try Archive(url: url, accessMode: .create)
    for (name, data) in entries {
        try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count)) { position, size in
            data.subdata(in: Int(position)..<Int(position) + size)
        }
    }
    return url.path
}

/// A `.keras` file carries its weights: the archive may be far larger than the cap on a description, which
/// bounds config.json alone.
@Test func aKerasArchiveIsReadForItsConfigAlone() throws {
    let config = Data(sequential([#"{"class_name": "Dense", "config": {"units": 2}}"#], shape: "[null, 4]").utf8)
    let large = try zipArchive([("config.json", config), ("model.weights.h5", Data(count: 17 << 20))])
    let result = Importer.run(path: large)
    #expect(result.yaml?.contains("- dense: {units: 2}") == true, "\(result.diagnostics.items)")
    let oversized = try zipArchive([("config.json", Data(repeating: 0x20, count: (16 << 20) + 1))])
    #expect(
        Importer.run(path: oversized).diagnostics.errors.first?.message.hasSuffix("config.json holds more than 16 MiB")
            == true)
    let missing = try zipArchive([("weights.h5", Data(count: 10))])
    #expect(Importer.run(path: missing).diagnostics.errors.first?.message.hasSuffix("has no config.json") == true)
}
