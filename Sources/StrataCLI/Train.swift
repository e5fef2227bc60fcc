import ArgumentParser
import Foundation
import Strata

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a spec, train it, and write one checkpoint (plus a history file beside it).")

    @Argument(help: "The spec file (YAML).")
    var spec: String

    @OptionGroup var overrides: SpecSettingOptions

    @Option(parsing: .unconditional, help: "Train for this many epochs instead of the spec's.")
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Use this batch size instead of the spec's.")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Use this learning rate instead of the spec's.")
    var learningRate: Double?

    @Option(parsing: .unconditional, help: "Use this random seed instead of the spec's.")
    var seed: UInt64?

    @Option(help: "Write the checkpoint here instead of the spec's checkpoint path.")
    var output: String?

    @Option(help: "Write a JSON report of the run here: status, epochs, steps, seconds, test metrics.")
    var result: String?

    @Option(help: "Continue training from this checkpoint (weights, optimizer state, epoch, data order).")
    var resume: String?

    @Option(help: "Start from this checkpoint's weights with a fresh optimizer (fine-tuning).")
    var initFrom: String?

    @Option(parsing: .unconditional, help: "Worker threads for the kernels (results are identical for any count).")
    var threads: Int?

    @Flag(help: "Print no progress.")
    var quiet = false

    @Flag(help: "Do not write the learning-curve plot (NAME.svg) beside the checkpoint.")
    var noPlot = false

    func validate() throws {
        if let epochs, epochs < 0 { throw ValidationError("--epochs must be at least 0") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let learningRate, !(learningRate > 0) || !learningRate.isFinite {
            throw ValidationError("--learning-rate must be a positive number")
        }
        if let threads, !(1...TrainOptions.maximumThreads).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(TrainOptions.maximumThreads)")
        }
        try requireNonEmpty([
            ("the spec", spec), ("--output", output), ("--resume", resume), ("--init-from", initFrom),
            ("--result", result),
        ])
        if resume != nil && initFrom != nil { throw ValidationError("--resume and --init-from cannot be combined") }
    }

    func run() throws {
        let group = try joinLaunchedGroup()
        try runInGroup(group) { try train(group: group) }
    }

    /// Trains alone, or as one process of `group`, of which rank 0 alone prints progress and writes files.
    private func train(group: ProcessGroup?) throws {
        let isFirst = (group?.rank ?? 0) == 0
        let settings = overrides.settings
        let chosen = (batchSize, epochs)
        guard
            let checked = checkedSpec(
                spec, settings: settings,
                adjusted: (batchSize.map { ["--batch-size \($0)"] } ?? []) + (epochs.map { ["--epochs \($0)"] } ?? []),
                adjust: { spec in
                    if let size = chosen.0 {
                        spec.training.batchSize.value = size
                        spec.training.batchSizeChosen = true
                    }
                    if let epochs = chosen.1 { spec.training.epochs.value = epochs }
                })
        else { throw ExitCode(ExitStatus.specOrDataError) }
        var options = TrainOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.seed = seed
        options.output = output
        options.resume = resume
        options.initFrom = initFrom
        if let threads {
            options.threads = threads
        } else if group != nil {
            options.threads = ParallelLaunch.threadsPerProcess(environment: ProcessInfo.processInfo.environment)
        }
        options.catchInterrupt = true
        options.group = group
        options.writeFiles = isFirst
        var started: Trainer?
        do {
            let trainer = try Trainer(checked: checked, options: options)
            started = trainer
            let printer = ProgressPrinter(interactive: isatty(STDOUT_FILENO) != 0) { text in
                FileHandle.standardOutput.write(Data(text.utf8))
            }
            if !quiet, isFirst { trainer.observer = printer }
            let planned = trainer.checked.spec.training.epochs.value
            if let resume, isFirst, trainer.state.epoch >= planned, trainer.state.batch == 0 {
                printError(
                    "note: nothing left to train: \(resume) has already trained \(trainer.state.epoch) of \(planned) epochs; "
                        + "pass --epochs with more to continue")
            }
            let result = try trainer.run()
            guard isFirst else {
                if result.interrupted { throw ExitCode(ExitStatus.interrupted) }
                return
            }
            if let path = self.result { try report(result, trainer, settings).write(to: path) }
            if let test = result.test, !quiet {
                let metrics = checked.spec.metrics.map { ($0.value.rawValue, test.metrics.value($0.value)) }
                print("Test - " + Figure.list([("loss", test.loss)] + metrics))
            }
            var plotPath: String?
            if !noPlot, !result.history.isEmpty {
                let path = CompanionFiles.plot(result.checkpointPath)
                let title = "\(checked.spec.name): learning curves"
                try AtomicFile.write(Array(LearningCurves.render(result.history, title: title).utf8), to: path)
                plotPath = path
            }
            if !quiet {
                if result.stoppedEarly, let last = result.history.last {
                    let restored =
                        checked.spec.training.earlyStopping?.restoreBestWeights == true ? result.bestEpoch : nil
                    print(
                        "Stopped early after epoch \(last.epoch)"
                            + (restored.map { "; weights restored from epoch \($0)." } ?? "."))
                }
                print(
                    "Saved \(result.checkpointPath) and \(result.historyPath)"
                        + (plotPath.map { "; learning curves in \($0)" } ?? ""))
            }
            if result.interrupted {
                printError(
                    "interrupted: saved \(result.checkpointPath); continue with --resume \(result.checkpointPath)")
                throw ExitCode(ExitStatus.interrupted)
            }
        } catch let error as TrainingError {
            // Every process of a group diverges together: rank 0 says so.
            if isFirst || !error.isDivergence { printError(error.description) }
            if error.isDivergence, isFirst, let trainer = started, let path = self.result {
                try divergence(error, trainer, settings).write(to: path)
            }
            if error.isDivergence { throw ExitCode(ExitStatus.diverged) }
            throw ExitCode(ExitStatus.specOrDataError)
        } catch let error as any FileError {
            printError(error.rendered)
            throw ExitCode(ExitStatus.specOrDataError)
        } catch let error as ProcessGroupError {
            throw groupFailure(error, group: group)
        }
    }

    private func report(_ result: TrainingResult, _ trainer: Trainer, _ settings: [SpecSetting]) -> RunReport {
        let status: RunReport.Status =
            result.interrupted ? .interrupted : result.stoppedEarly ? .stoppedEarly : .finished
        var test: [String: Double]?
        if let evaluation = result.test {
            test = ["loss": evaluation.loss]
            for metric in trainer.checked.spec.metrics {
                test?[metric.value.rawValue] = evaluation.metrics.value(metric.value)
            }
        }
        var report = RunReport(
            status: status, settings: settings, checkpoint: result.checkpointPath, epochs: trainer.state.epoch,
            steps: trainer.plan.optimizer.iterations, seconds: trainer.secondsTrained, test: test)
        if let group = trainer.options.group {
            report.processes = group.size
            report.sumSeconds = trainer.secondsSumming
        }
        if trainer.plan.network.workspace.threads > 1 { report.stepsAlone = trainer.stepsAlone }
        return report
    }

    private func divergence(_ error: TrainingError, _ trainer: Trainer, _ settings: [SpecSetting]) -> RunReport {
        RunReport(
            status: .diverged, settings: settings, checkpoint: trainer.checkpointPath, epochs: trainer.state.epoch,
            steps: trainer.plan.optimizer.iterations, seconds: trainer.secondsTrained,
            divergedEpoch: trainer.state.epoch + 1,
            message: error.description)
    }
}
