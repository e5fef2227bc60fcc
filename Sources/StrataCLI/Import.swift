import ArgumentParser
import Foundation
import Strata

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a spec from a Keras model (JSON or .keras), a Caffe net prototxt or a Darknet .cfg.",
        discussion: """
            The format is recognized by the file's content. The spec is parsed and checked before it is written; \
            anything Strata cannot represent is an error at its place in the source file, and approximations are \
            warnings. The data is left for you to add (docs/import.md).
            """)

    @Argument(help: "The model description: a Keras .json or .keras, a Caffe .prototxt, a Darknet .cfg.")
    var file: String

    @Option(help: "A Caffe solver prototxt: the optimizer, its learning-rate policy, weight decay, max_iter.")
    var solver: String?

    @Option(help: "The spec to write (default: print it).")
    var output: String?

    @Option(help: "The shape of one example as HEIGHT,WIDTH,CHANNELS (or N), when the source does not give it.")
    var input: String?

    @Option(help: "How many training examples there are, to turn max_iter or max_batches into epochs.")
    var trainExamples: Int?

    func validate() throws {
        try requireNonEmpty([("the file", file), ("--solver", solver), ("--output", output), ("--input", input)])
        if let trainExamples, trainExamples < 1 { throw ValidationError("--train-examples must be at least 1") }
        if let input, Self.shape(input) == nil {
            throw ValidationError("--input \(input): write HEIGHT,WIDTH,CHANNELS or N, whole numbers ≥ 1, e.g. 28,28,1")
        }
    }

    static func shape(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let dims = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 >= 1 }
        guard dims.count == parts.count, dims.count == 1 || dims.count == 3 else { return nil }
        return dims
    }

    func run() throws {
        do {
            if let output { try AtomicFile.checkWritable(output) }
            let options = ImportOptions(
                solver: solver, input: input.flatMap(Self.shape), trainExamples: trainExamples,
                specName: output ?? "imported.yaml")
            let result = Importer.run(path: file, options: options)
            let rendered = DiagnosticPrinter(sources: result.sources).render(result.diagnostics)
            if !rendered.isEmpty { printError(rendered) }
            guard let yaml = result.yaml else { throw ExitCode(ExitStatus.specOrDataError) }
            guard let output else { return print(yaml, terminator: "") }
            try AtomicFile.write(Array(yaml.utf8), to: output)
            printError(
                "Wrote \(output) from \(result.format?.rawValue ?? "") \(file); add its data, then `strata check \(output)`."
            )
        } catch let exit as ExitCode {
            throw exit
        } catch {
            try exitForLibraryError(error)
        }
    }
}
