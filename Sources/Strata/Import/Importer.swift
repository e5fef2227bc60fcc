import Foundation

/// What `strata import` is given besides the file.
public struct ImportOptions: Sendable {
    /// A Caffe solver prototxt.
    public var solver: String?
    /// The shape of one example, for sources that do not say it (a Caffe Data layer): [height, width, channels].
    public var input: [Int]?
    /// How many training examples there are, to turn an iteration count (Caffe's max_iter, Darknet's
    /// max_batches) into epochs.
    public var trainExamples: Int?
    /// The name the spec will be written under, for the check's messages.
    public var specName: String

    public init(
        solver: String? = nil, input: [Int]? = nil, trainExamples: Int? = nil, specName: String = "imported.yaml"
    ) {
        self.solver = solver
        self.input = input
        self.trainExamples = trainExamples
        self.specName = specName
    }
}

public enum ImportFormat: String, Sendable {
    case keras = "Keras", kerasArchive = "Keras archive", caffe = "Caffe", darknet = "Darknet"
}

/// The spec an import wrote (nil when any diagnostic is an error), its diagnostics, and the texts they point
/// into, by path, for the diagnostics printer.
public struct ImportResult: Sendable {
    public var yaml: String?
    public var format: ImportFormat?
    public var diagnostics: Diagnostics
    public var sources: [String: String]
}

/// `strata import`: reads a Keras, Caffe or Darknet description, recognized by its content, and writes a spec
/// that has passed the parser and the checker (all but the data, which the source does not give in a form
/// Strata reads).
public enum Importer {
    /// Model descriptions are small; a larger file is refused before it is parsed.
    static let maximumSize = 16 << 20

    public static func run(path: String, options: ImportOptions = .init()) -> ImportResult {
        var result = ImportResult(yaml: nil, format: nil, diagnostics: Diagnostics(), sources: [:])
        do throws(ImportFailure) {
            var spec: ImportedSpec
            // A `.keras` archive holds the weights too, so only its config.json is read (and bounded).
            if try read(path, prefix: 4) == [0x50, 0x4B, 0x03, 0x04] {
                result.format = .kerasArchive
                let (text, member) = try KerasArchive.config(path: path, limit: maximumSize)
                result.sources[member] = text
                spec = keras(try JSONReader.read(text, file: member), file: path)
            } else {
                let text = try decode(try read(path), path: path)
                result.sources[path] = text
                let format = try detect(text, path: path)
                result.format = format
                switch format {
                case .keras, .kerasArchive: spec = keras(try JSONReader.read(text, file: path), file: path)
                case .darknet:
                    var importer = DarknetImport(file: path, options: options)
                    importer.run(try DarknetReader.read(text, file: path))
                    spec = importer.spec
                case .caffe:
                    var importer = CaffeImport(file: path, options: options)
                    importer.run(try ProtoTextReader.read(text, file: path))
                    if let solver = options.solver, !importer.spec.diagnostics.hasErrors {
                        let solverText = try decode(try read(solver), path: solver)
                        result.sources[solver] = solverText
                        importer.solve(try ProtoTextReader.read(solverText, file: solver))
                    }
                    spec = importer.spec
                }
            }
            if options.solver != nil, result.format != .caffe {
                spec.error("--solver is for Caffe nets; \(path) is \(result.format?.rawValue ?? "not Caffe")", at: nil)
            }
            result.diagnostics = spec.diagnostics
            if !spec.diagnostics.hasErrors {
                let (yaml, problems) = check(spec, name: options.specName)
                result.diagnostics.append(contentsOf: problems)
                if !problems.hasErrors { result.yaml = yaml }
            }
        } catch {
            result.diagnostics.append(error.diagnostic)
        }
        return result
    }

    private static func keras(_ root: SourceNode, file: String) -> ImportedSpec {
        var importer = KerasImport(file: file)
        importer.run(root)
        return importer.spec
    }

    /// The file, or its first `prefix` bytes, bounded.
    private static func read(_ path: String, prefix: Int? = nil) throws(ImportFailure) -> [UInt8] {
        do {
            if let prefix { return try FileBytes.prefix(path, count: prefix) }
            return try FileBytes.read(path, limit: maximumSize)
        } catch let error as DataError {
            throw ImportFailure("\(path): \(error.message)", at: nil, help: error.help)
        } catch {
            throw ImportFailure("\(path): cannot be read", at: nil)
        }
    }

    private static func decode(_ bytes: [UInt8], path: String) throws(ImportFailure) -> String {
        guard let text = String(validating: bytes, as: UTF8.self), !bytes.contains(0) else {
            throw ImportFailure(
                "\(path) is not a text file", at: nil,
                help: "give a Keras JSON or .keras file, a Caffe prototxt, or a Darknet .cfg")
        }
        return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
    }

    /// JSON is Keras; a first `[section]` is Darknet; `layer {`, `input:` or `name:` is Caffe.
    static func detect(_ text: String, path: String) throws(ImportFailure) -> ImportFormat {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let first = lines.first { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix(";") } ?? ""
        if first.hasPrefix("{") { return .keras }
        if first.hasPrefix("[") && first.hasSuffix("]") { return .darknet }
        let word = first.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        if !word.isEmpty,
            first.dropFirst(word.count).trimmingCharacters(in: .whitespaces).first.map({ ":{<".contains($0) }) == true
        {
            return .caffe
        }
        throw ImportFailure(
            "\(path): cannot tell what this file describes", at: nil,
            help: "strata import reads a Keras model's JSON or .keras archive, a Caffe net prototxt, or a Darknet .cfg")
    }

    /// Parses and checks the written spec, with a stand-in for the data (the checker reads no data here); a
    /// problem is reported at the source line of the layer it concerns.
    static func check(_ spec: ImportedSpec, name: String) -> (String, Diagnostics) {
        let (yaml, origins) = spec.rendered
        let probe = yaml + "data: {train: {inline: {x: [[0]], y: [0]}}}\n"
        let (parsed, parseProblems) = SpecParser.parse(text: probe, file: name)
        var problems = parseProblems
        if let parsed {
            problems.append(contentsOf: Checker.check(parsed, options: CheckOptions(readData: false)).diagnostics)
        }
        var located = Diagnostics()
        for var diagnostic in problems.items {
            if let line = diagnostic.location?.line, let origin = origins[line] {
                diagnostic.notes.append("in the imported spec: \(name):\(line): \(yamlLine(yaml, line))")
                diagnostic.location = origin
            } else if diagnostic.severity == .error {
                diagnostic.notes.append("the imported spec was:\n\(yaml)")
            }
            located.append(diagnostic)
        }
        return (yaml, located)
    }

    private static func yamlLine(_ yaml: String, _ line: Int) -> String {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        return line - 1 < lines.count ? lines[line - 1].trimmingCharacters(in: .whitespaces) : ""
    }
}
