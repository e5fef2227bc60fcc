import ArgumentParser
import CStrataSignals
import Foundation
import Strata

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a spec over a grid (or a random sample) of values and compare the runs side by side.",
        discussion: """
            Each run is `strata train SPEC --set PATH=VALUE …` with its files in RUNS/NAME/RUN/; the table of results \
            goes to RUNS/NAME/results.{md,csv,json} and every run's curves to RUNS/NAME/curves.svg. Run the same \
            command again to finish an interrupted sweep: finished runs are kept.
            """)

    @Argument(help: "The spec file (YAML); its `sweep:` section, if any, gives defaults for the options below.")
    var spec: String

    @Option(
        name: .customLong("set"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "A value to sweep: PATH=V1,V2,… (or choice(…), and for --random uniform(A,B), loguniform(A,B)).",
            valueName: "path=values"))
    var axes: [String] = []

    @Option(parsing: .unconditional, help: "Sample this many settings at random instead of the whole grid.")
    var random: Int?

    @Option(parsing: .unconditional, help: "The seed of --random (default: the spec's seed).")
    var seed: UInt64?

    @Option(help: "The sweep's name, its folder under --runs (default: the sweep section's, else the spec's name).")
    var name: String?

    @Option(help: "The folder that holds sweeps.")
    var runs: String = "runs"

    @Option(parsing: .unconditional, help: "Runs at once; the cores are shared between them (default 1).")
    var jobs: Int?

    @Flag(help: "Successive halving: train every run a few epochs, keep the better half, continue, until one is left.")
    var halving = false

    @Flag(help: "Print only the results table.")
    var quiet = false

    func validate() throws {
        try requireNonEmpty([("the spec", spec), ("--name", name), ("--runs", runs)])
        if let name, let problem = FileName.problem(name) {
            throw ValidationError("--name '\(name)' \(problem): it is the sweep's folder under --runs")
        }
        if let random, !(1...SweepSettings.maximumRuns).contains(random) {
            throw ValidationError("--random must be between 1 and \(SweepSettings.maximumRuns)")
        }
        if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs must be between 1 and 64") }
        _ = try commandLineAxes()
    }

    /// The `--set` axes, parsed; a malformed one is a usage error naming it.
    private func commandLineAxes() throws -> [SweepAxis] {
        try axes.map { text in
            switch SweepAxis.parse(text) {
            case .success(let axis): return axis
            case .failure(let error): throw ValidationError(error.message)
            }
        }
    }

    func run() throws {
        try refuseParallelSweep()
        let (parsed, diagnostics) = SpecParser.load(path: spec)
        guard let parsed else {
            printDiagnostics(diagnostics, file: spec)
            throw ExitCode(ExitStatus.specOrDataError)
        }
        let section = parsed.sweep
        var plannedAxes = section?.axes ?? []
        for axis in try commandLineAxes() {
            plannedAxes.removeAll { $0.path == axis.path }
            plannedAxes.append(axis)
        }
        guard !plannedAxes.isEmpty else {
            throw ValidationError("nothing to sweep: give --set PATH=V1,V2,… or a `sweep: {set: …}` section in \(spec)")
        }
        let count = random ?? section?.random
        let settings: [[SpecSetting]]
        if let count {
            settings = SweepSettings.random(plannedAxes, count: count, seed: seed ?? section?.seed ?? parsed.seed)
        } else {
            switch SweepSettings.grid(plannedAxes) {
            case .success(let grid): settings = grid
            case .failure(let error): throw ValidationError(error.message)
            }
        }
        let names = settings.enumerated().map { SweepSettings.runName($0 + 1, of: settings.count, $1) }
        // Every run's spec is checked before any of them starts; the checks give each run's epochs. Runs that fail
        // the same way (a key every setting keeps) are listed once their errors have been shown.
        var shown: [String: String] = [:]
        let checks = zip(names, settings).map { run, runSettings in
            let (checked, diagnostics, source, _) = checkSpec(spec, settings: runSettings)
            if checked == nil || diagnostics.hasErrors {
                let heading = "\(run): " + runSettings.map(\.option).joined(separator: " ")
                let errors = diagnostics.sorted.filter { $0.severity == .error }.map(\.description).joined(
                    separator: "\n")
                if let first = shown[errors] {
                    printError(heading + ": the same errors as \(first)")
                } else {
                    shown[errors] = run
                    printError(heading)
                    printDiagnostics(diagnostics, file: spec, source: source)
                }
            }
            return diagnostics.hasErrors ? nil : checked
        }
        let checked = checks.compactMap { $0 }
        guard checked.count == checks.count, let first = checked.first else {
            printError("error: the sweep was not started: fix the settings above (no run was trained)")
            throw ExitCode(ExitStatus.specOrDataError)
        }
        let sweepName = name ?? section?.name ?? parsed.name
        let plan = SweepPlan(
            spec: spec, folder: (runs as NSString).appendingPathComponent(sweepName), name: sweepName, runs: names,
            settings: settings, paths: plannedAxes.map(\.path), jobs: jobs ?? section?.jobs ?? 1,
            halving: halving || section?.halving == true,
            epochs: checked.map(\.spec.training.epochs.value), quiet: quiet)
        let monitor = sweepMonitor(first)
        let metric = parsed.metrics.first?.value.rawValue
        try SweepRunner(plan: plan, monitor: monitor).run()
        let table = SweepTable(runs: plan.collect(), paths: plan.paths, monitor: monitor, metric: metric)
        try plan.write(table)
        print(table.markdown(), terminator: "")
        if !quiet { print("Results in \(plan.folder)/results.{md,csv,json}; curves in \(plan.folder)/curves.svg") }
    }

    /// What ranks the runs: early stopping's monitor, else the checkpoint's (val_loss by default).
    private func sweepMonitor(_ checked: CheckedSpec) -> String {
        checked.spec.training.earlyStopping?.monitor.value ?? checked.spec.checkpoint.monitor.value
    }
}

/// The runs of a sweep and where their files go.
struct SweepPlan {
    let spec: String
    let folder: String
    let name: String
    let runs: [String]
    let settings: [[SpecSetting]]
    let paths: [String]
    let jobs: Int
    let halving: Bool
    /// Each run's epochs, as its spec (with its settings) says.
    let epochs: [Int]
    let quiet: Bool

    func runFolder(_ index: Int) -> String { (folder as NSString).appendingPathComponent(runs[index]) }
    func checkpoint(_ index: Int) -> String {
        (runFolder(index) as NSString).appendingPathComponent("model.safetensors")
    }
    func report(_ index: Int) -> String { (runFolder(index) as NSString).appendingPathComponent("result.json") }
    func log(_ index: Int) -> String { (runFolder(index) as NSString).appendingPathComponent("train.log") }

    /// Each run's report and history, as far as they exist.
    func collect() -> [SweepRun] {
        runs.indices.compactMap { index in
            guard let report = RunReport.read(report(index)) else { return nil }
            let history = (try? LearningCurves.history(from: CompanionFiles.history(checkpoint(index))).records) ?? []
            return SweepRun(name: runs[index], report: report, history: history)
        }
    }

    func write(_ table: SweepTable) throws {
        try AtomicFile.write(Array(table.markdown().utf8), to: folder + "/results.md")
        try AtomicFile.write(Array(table.csv().utf8), to: folder + "/results.csv")
        try AtomicFile.write(Array(table.json().utf8), to: folder + "/results.json")
        let svg = SweepCurves.render(table, title: "\(name): \(table.runs.count) runs")
        try AtomicFile.write(Array(svg.utf8), to: folder + "/curves.svg")
    }
}
