import ArgumentParser
import CStrataSignals
import Foundation
import Strata

/// Runs a sweep's trainings as `strata train` processes (so each run is exactly what that command gives),
/// `jobs` at a time with the cores shared between them. A run whose report says it ended is kept; an
/// interrupted one continues from its checkpoint. Ctrl-C lets the running trainings save, then stops (130).
struct SweepRunner {
    let plan: SweepPlan
    let monitor: String

    /// A run to start: its index, the epochs to train to (nil: its spec's), and whether to resume its checkpoint.
    struct Task {
        var index: Int
        var epochs: Int?
        var resume: Bool
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: plan.folder, withIntermediateDirectories: true)
        try checkSameSweep()
        strata_catch_interrupt(0)
        defer { strata_release_interrupt() }
        guard plan.halving else {
            try execute(plan.runs.indices.compactMap { task(for: $0, epochs: nil) })
            return
        }
        try halve()
    }

    /// The task that brings run `index` to `epochs`, or nil when its report says it already got there.
    private func task(for index: Int, epochs: Int?) -> Task? {
        guard let report = RunReport.read(plan.report(index)), report.settings == plan.settings[index] else {
            return Task(index: index, epochs: epochs, resume: false)
        }
        switch report.status {
        case .diverged, .pruned, .stoppedEarly: return nil
        case .finished:
            return report.epochs >= (epochs ?? plan.epochs[index])
                ? nil : Task(index: index, epochs: epochs, resume: true)
        case .interrupted: return Task(index: index, epochs: epochs, resume: true)
        }
    }

    /// Successive halving: every run to a few epochs, the better half (by the monitored value) on to twice as
    /// many, and so on; the last rung trains to the spec's epochs.
    private func halve() throws {
        var alive = Array(plan.runs.indices)
        let rungs = max(0, Int((log2(Double(alive.count))).rounded(.up)))
        for rung in 0...rungs {
            // Each run's own epochs halved once per rung left; the last rung trains to them.
            let epochs = { (index: Int) in rung == rungs ? nil : max(1, plan.epochs[index] >> (rungs - rung)) }
            try execute(alive.compactMap { task(for: $0, epochs: epochs($0)) })
            guard rung < rungs else { break }
            let aliveNames = Set(alive.map { plan.runs[$0] })
            let ranked = SweepTable(
                runs: plan.collect().filter { aliveNames.contains($0.name) }, paths: plan.paths, monitor: monitor,
                metric: nil)
            let keep = Set(ranked.runs.prefix((alive.count + 1) / 2).map(\.name))
            for index in alive where !keep.contains(plan.runs[index]) {
                guard var report = RunReport.read(plan.report(index)), report.status == .finished else { continue }
                report.status = .pruned
                try report.write(to: plan.report(index))
            }
            alive = alive.filter { keep.contains(plan.runs[$0]) }
            if !plan.quiet {
                print(
                    "halving: rung \(rung + 1) of \(rungs + 1) kept "
                        + alive.map { plan.runs[$0] }.joined(separator: ", "))
            }
        }
    }

    /// A folder that holds another sweep's runs is not reused: its reports would be mistaken for these.
    private func checkSameSweep() throws {
        let manifest = plan.folder + "/sweep.json"
        let expected =
            plan.runs.enumerated().map { "\($1) " + plan.settings[$0].map(\.assignment).joined(separator: " ") }
            .joined(separator: "\n") + "\n"
        if let existing = try? String(contentsOfFile: manifest, encoding: .utf8), existing != expected {
            printError(
                "error: \(plan.folder) holds a different sweep (other values or spec)\n"
                    + "  help: give this one another --name, or remove that folder")
            throw ExitCode(ExitStatus.specOrDataError)
        }
        try AtomicFile.write(Array(expected.utf8), to: manifest)
    }

    /// Runs the tasks, `jobs` at a time; stops starting new ones after Ctrl-C or a failure.
    private func execute(_ tasks: [Task]) throws {
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / plan.jobs)
        var pending = tasks[...]
        var running: [(Task, Process)] = []
        var failure: String?
        while !pending.isEmpty || !running.isEmpty {
            while running.count < plan.jobs, failure == nil, strata_interrupted() == 0, let task = pending.popFirst() {
                running.append((task, try start(task, threads: threads)))
            }
            guard let finished = running.firstIndex(where: { !$0.1.isRunning }) else {
                usleep(20_000)
                continue
            }
            let (task, process) = running.remove(at: finished)
            let status = process.terminationStatus
            let name = plan.runs[task.index]
            if !plan.quiet { print(describe(status, run: name)) }
            if status != 0 && status != ExitStatus.diverged && status != ExitStatus.interrupted {
                failure = "\(name) failed (exit \(status)); its output is in \(plan.log(task.index))"
            }
        }
        if strata_interrupted() != 0 {
            printError("interrupted: the running trainings saved their checkpoints; run the same command to continue")
            throw ExitCode(ExitStatus.interrupted)
        }
        if let failure {
            printError("error: \(failure)")
            throw ExitCode(ExitStatus.specOrDataError)
        }
    }

    private func describe(_ status: Int32, run: String) -> String {
        switch status {
        case 0: return "\(run): done"
        case ExitStatus.diverged: return "\(run): diverged"
        case ExitStatus.interrupted: return "\(run): interrupted"
        default: return "\(run): failed (exit \(status))"
        }
    }

    /// `strata train SPEC --set … --output RUN/model.safetensors --result RUN/result.json`, its output in
    /// RUN/train.log.
    private func start(_ task: Task, threads: Int) throws -> Process {
        let folder = plan.runFolder(task.index)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var arguments = ["train", plan.spec] + plan.settings[task.index].flatMap { ["--set", $0.assignment] }
        arguments += [
            "--output", plan.checkpoint(task.index), "--result", plan.report(task.index), "--threads", String(threads),
            "--quiet",
        ]
        if let epochs = task.epochs { arguments += ["--epochs", String(epochs)] }
        if task.resume { arguments += ["--resume", plan.checkpoint(task.index)] }
        let log = plan.log(task.index)
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        if !plan.quiet { print("\(plan.runs[task.index]): strata " + arguments.joined(separator: " ")) }
        try process.run()
        return process
    }
}
