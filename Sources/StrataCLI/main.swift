import ArgumentParser
import Foundation
import Strata

/// Exit codes: 0 success (warnings allowed), 1 spec or data errors, 2 usage; see README.
enum ExitStatus {
    static let specOrDataError: Int32 = 1
    static let diverged: Int32 = 3
    static let interrupted: Int32 = 130
}

/// Put before every error line of a process of a group other than rank 0 (`[rank 1] `), so one can tell whose
/// they are in a launcher's merged output.
nonisolated(unsafe) var errorPrefix = ""

func printError(_ text: String) {
    let text =
        errorPrefix.isEmpty
        ? text
        : text.split(separator: "\n", omittingEmptySubsequences: false).map { errorPrefix + $0 }.joined(separator: "\n")
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

/// Parses and checks a spec (after `adjust`, e.g. command-line overrides, so the memory budget sees them),
/// printing diagnostics to stderr; nil when any is an error.
/// `adjusted` spells the options `adjust` applies (`--batch-size 8`): the diagnostics show the file's text, so
/// a diagnostic about a value they changed is headed by them, as one about a `--set` value is.
func checkedSpec(
    _ path: String, settings: [SpecSetting] = [], options: CheckOptions = .init(),
    adjusted: [String] = [], adjust: (inout Spec) -> Void = { _ in }
) -> CheckedSpec? {
    let (checked, diagnostics, source, _) = checkSpec(path, settings: settings, options: options, adjust: adjust)
    let changes = settings.map(\.option) + adjusted
    if !changes.isEmpty, diagnostics.hasErrors || (!adjusted.isEmpty && !diagnostics.items.isEmpty) {
        printError(changedSpecHeading(path, changes))
    }
    printDiagnostics(diagnostics, file: path, source: source)
    return checked
}

/// Whether a command-line path names a spec (eval, predict, export and plot take checkpoints).
func isSpecPath(_ path: String) -> Bool { path.hasSuffix(".yaml") || path.hasSuffix(".yml") }

/// Where `strata train` writes the checkpoint of the spec at `path` (without --output); nil when it does not parse.
func trainedCheckpoint(ofSpec path: String) -> String? {
    SpecParser.load(path: path).spec.map { Trainer.checkpointPath($0.checkpoint.path.value, name: $0.name) }
}

/// The line above diagnostics of a spec as the command line changed it: `in PATH with --set … --epochs 3:`.
func changedSpecHeading(_ path: String, _ changes: [String]) -> String {
    "in \(path) with " + changes.joined(separator: " ") + ":"
}

/// Parses (with `settings` applied) and checks a spec; `source` is the text its diagnostics refer to.
func checkSpec(
    _ path: String, settings: [SpecSetting], options: CheckOptions = .init(), adjust: (inout Spec) -> Void = { _ in }
) -> (checked: CheckedSpec?, diagnostics: Diagnostics, source: String?, summary: ModelSummary?) {
    let (parsed, parseDiagnostics, source) = SpecParser.load(path: path, settings: settings)
    guard var spec = parsed else { return (nil, parseDiagnostics, source, nil) }
    adjust(&spec)
    let (checked, summary, diagnostics) = Checker.check(spec, options: options)
    return (checked, Diagnostics(parseDiagnostics.items + diagnostics.items), source, summary)
}

/// `--set PATH=VALUE`, repeatable: the overrides `train` and `check` take alike.
struct SpecSettingOptions: ParsableArguments {
    @Option(
        name: .customLong("set"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "Set a spec value by its path, e.g. training.batch_size=16 or layers.0.dense.units=32 (repeatable).",
            valueName: "path=value"))
    var assignments: [String] = []

    func validate() throws { _ = try specSettings(assignments) }

    var settings: [SpecSetting] { (try? specSettings(assignments)) ?? [] }
}

/// `--set PATH=VALUE` arguments, each split at its first `=` (usage errors name the bad one).
func specSettings(_ assignments: [String]) throws -> [SpecSetting] {
    try assignments.map { assignment in
        guard let setting = SpecSetting(assignment: assignment) else {
            throw ValidationError("--set \(assignment): write PATH=VALUE, e.g. --set training.batch_size=16")
        }
        return setting
    }
}

/// Prints diagnostics to stderr with their source lines (`source` defaults to the file's text); `separated` puts
/// a blank line before them, after a summary.
func printDiagnostics(_ diagnostics: Diagnostics, file: String, source: String? = nil, separated: Bool = false) {
    let text = source ?? (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    let rendered = DiagnosticPrinter(sources: [file: text]).render(diagnostics)
    if !rendered.isEmpty { printError((separated ? "\n" : "") + rendered) }
}

/// A sweep under an MPI launcher would run once per process: refused, exit 1.
func refuseParallelSweep() throws {
    guard let launch = ParallelLaunch(environment: ProcessInfo.processInfo.environment) else { return }
    printError("error: \(launch.sweepRefusal)")
    throw ExitCode(ExitStatus.specOrDataError)
}

/// Empty path arguments are usage errors (exit 2), named.
func requireNonEmpty(_ paths: [(option: String, value: String?)]) throws {
    for (option, value) in paths where value?.isEmpty == true {
        throw ValidationError("\(option) is empty; give a file path")
    }
}

struct StrataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Declarative neural networks: write a YAML spec, check it, train it.",
        subcommands: [
            Check.self, Train.self, Sweep.self, Eval.self, Predict.self, Plot.self, Explain.self, Schema.self,
            Export.self, Import.self,
        ])
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parse and check a spec: every key, type and shape, before any compute.")

    @Argument(help: "The spec file (YAML).")
    var spec: String

    @OptionGroup var overrides: SpecSettingOptions

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(parsing: .unconditional, help: "Refuse specs that need more memory than this many MiB to train.")
    var memoryBudget: Int = CheckOptions.defaultMemoryBudget >> 20

    func validate() throws {
        try requireNonEmpty([("the spec", spec)])
        if memoryBudget < 1 { throw ValidationError("--memory-budget must be at least 1 (MiB)") }
    }

    func run() throws {
        // Budgets past what an Int counts in bytes mean no limit, not a negative one.
        let (bytes, overflow) = memoryBudget.multipliedReportingOverflow(by: 1 << 20)
        let options = CheckOptions(memoryBudgetBytes: overflow ? Int.max : bytes)
        let settings = overrides.settings
        let (checked, diagnostics, source, summary) = checkSpec(spec, settings: settings, options: options)
        switch format {
        case .json:
            print(CheckJSON.render(summary: summary, diagnostics: diagnostics), terminator: "")
        case .text:
            if let checked { print(SummaryTable.render(checked.summary, name: checked.spec.name), terminator: "") }
            if !settings.isEmpty, !diagnostics.items.isEmpty {
                printError((checked != nil ? "\n" : "") + changedSpecHeading(spec, settings.map(\.option)))
                printDiagnostics(diagnostics, file: spec, source: source)
            } else {
                printDiagnostics(diagnostics, file: spec, source: source, separated: checked != nil)
            }
        }
        if diagnostics.hasErrors { throw ExitCode(ExitStatus.specOrDataError) }
    }
}

/// The message for an error and, for a usage error, the usage of the command that threw it: ArgumentParser shows
/// the root's ("strata <subcommand>") for one thrown while a subcommand runs (a sweep's grid too large).
func usageErrorMessage(_ error: Error, thrownBy command: ParsableCommand.Type) -> String {
    guard command != StrataCommand.self, error is ValidationError else { return StrataCommand.fullMessage(for: error) }
    return """
        Error: \(StrataCommand.message(for: error))
        Usage: \(StrataCommand.usageString(for: command))
          See 'strata \(command._commandName) --help' for more information.
        """
}

/// ArgumentParser exits 64 on usage errors; Strata documents 2, as most Unix tools do.
func runMain() -> Never {
    // A misspelled command gets a suggestion rather than "unexpected arguments".
    let arguments = CommandLine.arguments.dropFirst()
    let commands = StrataCommand.configuration.subcommands.map { $0._commandName } + ["help"]
    if let word = arguments.first, !word.hasPrefix("-"), !commands.contains(word) {
        let suggestion = closestMatch(to: word, in: commands).map { "did you mean '\($0)'? " } ?? ""
        printError(
            "error: unknown command '\(word)'\n  help: \(suggestion)(commands: \(commands.dropLast().joined(separator: ", ")))"
        )
        exit(2)
    }
    // An error the command throws while running is shown with that command's usage, not the root's.
    var commandType: ParsableCommand.Type = StrataCommand.self
    do {
        var command = try StrataCommand.parseAsRoot()
        commandType = type(of: command)
        try command.run()
        exit(0)
    } catch {
        let code = StrataCommand.exitCode(for: error)
        let message = usageErrorMessage(error, thrownBy: commandType)
        if code.isSuccess {
            if !message.isEmpty { print(message) }
            exit(0)
        }
        if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        exit(code == .validationFailure ? 2 : code.rawValue)
    }
}

runMain()
