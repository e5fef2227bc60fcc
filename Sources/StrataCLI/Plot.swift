import ArgumentParser
import Foundation
import Strata

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Plot learning curves from a checkpoint or history file, or the loss surface of a two-parameter model.")

    @Argument(
        help: "A checkpoint (.safetensors) or history file (.history.jsonl); with --surface, a checkpoint or a spec.")
    var source: String

    @Option(help: "The SVG file to write (default: beside the source, NAME.svg or NAME.surface.svg).")
    var output: String?

    @Flag(help: "Plot the loss over a grid of the model's two parameters with the gradient-descent path.")
    var surface = false

    func validate() throws { try requireNonEmpty([("the source", source), ("--output", output)]) }

    func run() throws {
        let base = (source as NSString).deletingPathExtension.replacingOccurrences(of: ".history", with: "")
        let isSpec = isSpecPath(source)
        if isSpec && !surface {
            // The curves are a training's, kept beside the checkpoint it wrote: name that file when the spec says.
            let trained = trainedCheckpoint(ofSpec: source).map { " (\($0))" } ?? ""
            throw ValidationError(
                "\(source) is a spec: plot the checkpoint `strata train` wrote from it\(trained), or add --surface for the loss surface of a two-parameter model"
            )
        }
        do {
            if surface {
                let checked: CheckedSpec
                var epochs: Int?
                if isSpec {
                    guard let spec = checkedSpec(source) else { throw ExitCode(ExitStatus.specOrDataError) }
                    checked = spec
                } else {
                    let model = try Model(checkpoint: source)
                    guard let spec = checkedSpec(fromCheckpointOf: model) else {
                        throw ExitCode(ExitStatus.specOrDataError)
                    }
                    checked = spec
                    epochs = model.checkpoint.state.epoch
                }
                let surface = try LossSurface.compute(checked, epochs: epochs)
                let path = output ?? base + ".surface.svg"
                try AtomicFile.write(
                    Array(surface.render(title: "\(checked.spec.name): loss surface and gradient descent").utf8),
                    to: path)
                print("Wrote \(path)")
            } else {
                let (records, title) = try LearningCurves.history(from: source)
                let path = output ?? base + ".svg"
                try AtomicFile.write(Array(LearningCurves.render(records, title: title).utf8), to: path)
                print("Wrote \(path)")
            }
        } catch let error as LossSurface.SurfaceError {
            printError("\(source): \(error.description)")
            throw ExitCode(ExitStatus.specOrDataError)
        } catch let error as ExitCode {
            throw error
        } catch {
            try exitForLibraryError(error)
        }
    }
}

/// The spec a checkpoint carries, checked again with its data (for replaying training).
func checkedSpec(fromCheckpointOf model: Model) -> CheckedSpec? {
    let (checked, _, diagnostics) = Checker.check(model.spec)
    if diagnostics.hasErrors { printDiagnostics(diagnostics, file: model.spec.file, source: model.spec.source) }
    return checked
}

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Explain a spec: each layer's math, parameter count and FLOPs, then the loss and optimizer as formulas.")

    @Argument(help: "The spec file (YAML).")
    var spec: String

    @Option(help: "Output format: text or markdown.")
    var format: ExplainFormat = .text

    enum ExplainFormat: String, ExpressibleByArgument, CaseIterable {
        case text, markdown
    }

    func run() throws {
        let (checked, summary, diagnostics) = Checker.check(path: spec, options: CheckOptions(readData: false))
        if diagnostics.hasErrors || checked == nil {
            printDiagnostics(diagnostics, file: spec)
            throw ExitCode(ExitStatus.specOrDataError)
        }
        print(
            Strata.Explain.render(checked!.spec, summary: summary!, style: format == .markdown ? .markdown : .text),
            terminator: "")
    }
}
