import Foundation
import Strata

/// Fuzz targets over Strata's untrusted inputs: a spec (parse and check), a CSV, an IDX file (plain or gzip), a
/// checkpoint (decode and validate against a model), a history file, a model description for `strata import`. Each must end in a value or a diagnostic /
/// error, never a trap, a hang or an unbounded allocation.
///
/// Built normally, `strata-fuzz TARGET FILE…` replays files through a target (the regression corpus in CI). Built
/// with `-D FUZZING -sanitize=fuzzer` (scripts/fuzz), libFuzzer drives the target named by STRATA_FUZZ_TARGET.
enum FuzzTargets {
    static let names = ["spec", "csv", "idx", "safetensors", "history", "import"]

    /// A scratch file per process: the targets that read files get the input through it.
    static let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("strata-fuzz-\(getpid())")

    static func run(_ target: String, _ bytes: [UInt8]) {
        switch target {
        case "spec": spec(bytes)
        case "csv": csv(bytes)
        case "idx": idx(bytes)
        case "safetensors": safetensors(bytes)
        case "history": history(bytes)
        case "import": importModel(bytes)
        default: fatalError("unknown fuzz target '\(target)'; one of \(names.joined(separator: ", "))")
        }
    }

    static func spec(_ bytes: [UInt8]) {
        let (spec, _) = SpecParser.parse(data: Data(bytes), file: "fuzz.yaml")
        guard let spec else { return }
        // Data written in the spec itself is checked too (its example counts reach the splits, batch and
        // schedule checks); files named by a fuzzed spec are not opened.
        _ = Checker.check(spec, options: CheckOptions(readData: isInline(spec.data)))
    }

    static func isInline(_ data: DataSpec?) -> Bool {
        guard let data else { return false }
        return [data.train, data.validation, data.test].allSatisfy { source in
            guard let source else { return true }
            if case .inline = source.value { return true }
            return false
        }
    }

    static func write(_ bytes: [UInt8], suffix: String) -> String {
        let path = scratch.path + suffix
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    static func csv(_ bytes: [UInt8]) {
        let path = write(bytes, suffix: ".csv")
        let here = SourceLocation(file: "fuzz.yaml", line: 1, column: 1)
        let source = DataSource.csv(CSVSource(path: Located(path, at: here), features: nil, label: nil, header: true))
        guard let probe = try? SourceProbe.probe(source, specFile: "/fuzz.yaml") else { return }
        let encoding = LabelEncoding(format: .values, oneHot: false, classNames: nil, classCount: nil, targetWidth: 1)
        let loader = DatasetLoader(
            encoding: encoding, loss: .mse, specFile: "/fuzz.yaml",
            featureCount: max(1, probe.featureShape.reduce(1, *)))
        _ = try? loader.load(source)
    }

    static func idx(_ bytes: [UInt8]) {
        // The first byte picks the file name, so both the plain and the gzip reader are driven.
        let gzip = bytes.first.map { $0 & 1 == 1 } ?? false
        _ = try? IDXFile.read(write(Array(bytes.dropFirst()), suffix: gzip ? ".idx.gz" : ".idx"))
    }

    /// A small model whose checkpoints the fuzzer damages.
    static let model: ModelPlan? = {
        let text =
            "input: [2]\nlayers: [{dense: {units: 3, activation: relu}}, {dense: {units: 1, activation: sigmoid}}]\n"
            + "loss: binary_crossentropy\noptimizer: adam\ndata: {train: {inline: {x: [[0, 1]], y: [1]}}}\n"
        return SpecParser.parse(text: text, file: "fuzz.yaml").spec.map {
            ModelPlan(spec: $0, batchSize: 4, threads: 1)
        }
    }()

    static func safetensors(_ bytes: [UInt8]) {
        guard let checkpoint = try? Checkpoint.decode(bytes, path: "fuzz.safetensors"), let model else { return }
        do {
            try checkpoint.validate(
                path: "fuzz.safetensors", loss: .binaryCrossentropy, outputWidth: 1, featureCount: 2)
            try model.load(checkpoint, path: "fuzz.safetensors", optimizerState: true)
        } catch {}
    }

    /// The first byte picks the file name (`.json`, `.prototxt`, `.cfg`, `.keras`): the import recognizes the
    /// format by content, the name only changes messages. Odd first bytes also import a Caffe solver.
    static func importModel(_ bytes: [UInt8]) {
        let suffixes = [".json", ".prototxt", ".cfg", ".keras"]
        let pick = Int(bytes.first ?? 0)
        let path = write(Array(bytes.dropFirst()), suffix: suffixes[pick % suffixes.count])
        let options = ImportOptions(
            solver: pick & 4 != 0 ? path : nil, input: pick & 8 != 0 ? [28, 28, 1] : nil,
            trainExamples: pick & 16 != 0 ? 1000 : nil)
        _ = Importer.run(path: path, options: options)
    }

    static func history(_ bytes: [UInt8]) {
        if let (records, title) = try? LearningCurves.history(from: write(bytes, suffix: ".history.jsonl")) {
            _ = LearningCurves.render(records, title: title)
        }
    }
}

#if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    /// The executable's entry point (SwiftPM links `main` to it) hands the command line to libFuzzer.
    @_cdecl("StrataFuzz_main")
    public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments) { data, size in
            let target = ProcessInfo.processInfo.environment["STRATA_FUZZ_TARGET"] ?? "spec"
            FuzzTargets.run(target, size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : [])
            return 0
        }
    }
#else
    @main
    struct Replay {
        /// `strata-fuzz TARGET FILE_OR_FOLDER…`: every file through the target; prints how many.
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard let target = arguments.first, FuzzTargets.names.contains(target) else {
                FileHandle.standardError.write(
                    Data("usage: strata-fuzz \(FuzzTargets.names.joined(separator: "|")) FILE…\n".utf8))
                exit(2)
            }
            var files: [String] = []
            for path in arguments.dropFirst() {
                var isFolder: ObjCBool = false
                FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
                if isFolder.boolValue {
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                    files += names.sorted().map { path + "/" + $0 }
                } else {
                    files.append(path)
                }
            }
            for file in files { FuzzTargets.run(target, [UInt8](FileManager.default.contents(atPath: file) ?? Data())) }
            print("\(target): \(files.count) inputs replayed, none crashed")
        }
    }
#endif
