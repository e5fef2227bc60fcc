import ArgumentParser
import Foundation
import Strata

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint: loss, metrics, and for classifiers per-class accuracy and a confusion matrix."
    )

    @Argument(help: "The checkpoint (.safetensors) written by `strata train`.")
    var checkpoint: String

    @Option(help: "test, validation, train, or the path of a CSV laid out like the training data.")
    var data: String = "test"

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(help: "Also write the confusion matrix as an SVG heat map to this file.")
    var plot: String?

    func validate() throws {
        try requireNonEmpty([("the checkpoint", checkpoint), ("--data", data), ("--plot", plot)])
    }

    func run() throws {
        do {
            let model = try Model(checkpoint: checkpoint)
            let choice: Model.DataChoice
            switch data {
            case "test": choice = .test
            case "validation": choice = .validation
            case "train": choice = .train
            default: choice = .file(data)
            }
            let evaluation = try model.evaluate(choice)
            let metrics = model.spec.metrics.map(\.value)
            switch format {
            case .text:
                print(
                    EvaluationReport.text(evaluation, metrics: metrics, classNames: model.classNames, split: data),
                    terminator: "")
            case .json:
                print(
                    EvaluationReport.json(evaluation, metrics: metrics, classNames: model.classNames, split: data),
                    terminator: "")
            }
            if let plot {
                guard let confusion = evaluation.confusion, let names = model.classNames else {
                    printError(
                        "error: --plot draws a confusion matrix, which needs a classifier; \(model.spec.name) is a regression"
                    )
                    throw ExitCode(ExitStatus.specOrDataError)
                }
                let title = "\(model.spec.name): confusion matrix (\(data))"
                try AtomicFile.write(
                    Array(ConfusionPlot.render(confusion, classNames: names, title: title).utf8), to: plot)
                printError("Wrote the confusion matrix of the \(data) data to \(plot)")
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            try exitForLibraryError(error)
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Predict with a checkpoint: per example the class and its probabilities, or the regression outputs, as CSV."
    )

    @Argument(help: "The checkpoint (.safetensors) written by `strata train`.")
    var checkpoint: String

    @Option(help: "A CSV of inputs: one example per row, the feature columns (a label column may be present).")
    var input: String

    @Option(help: "Write the CSV here instead of standard output.")
    var output: String?

    @Flag(help: "The input has no header line: columns are taken by position.")
    var noHeader = false

    func validate() throws {
        try requireNonEmpty([("the checkpoint", checkpoint), ("--input", input), ("--output", output)])
    }

    func run() throws {
        do {
            let model = try Model(checkpoint: checkpoint)
            let inputs = try model.readInputs(csv: input, header: !noHeader)
            let outputs = model.predict(inputs)
            let csv = PredictionCSV.render(outputs, width: model.plan.network.outputWidth, classNames: model.classNames)
            if let output {
                try AtomicFile.write(Array(csv.utf8), to: output)
                printError(
                    "Wrote predictions for \(inputs.count / max(1, model.spec.input.value.reduce(1, *))) examples to \(output)"
                )
            } else {
                print(csv, terminator: "")
            }
        } catch {
            try exitForLibraryError(error)
        }
    }
}

/// Maps the library's errors to a message on stderr and exit code 1.
func exitForLibraryError(_ error: Error) throws -> Never {
    switch error {
    case var error as CheckpointError where isSpecPath(error.path):
        // A spec given where its checkpoint belongs: name that checkpoint.
        let checkpoint = trainedCheckpoint(ofSpec: error.path).map { ", \($0)" } ?? ""
        error.help = "it is a spec: give the checkpoint `strata train` wrote from it\(checkpoint)"
        printError(error.rendered)
    case let error as any FileError:
        printError(error.rendered)
    case let error as TrainingError:
        printError(error.description)
    default:
        throw error
    }
    throw ExitCode(ExitStatus.specOrDataError)
}
