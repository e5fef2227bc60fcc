import Foundation

/// One run of a sweep as its results table shows it: the report and the epochs of its history.
public struct SweepRun: Sendable {
    public var name: String
    public var report: RunReport
    public var history: [EpochRecord]

    public init(name: String, report: RunReport, history: [EpochRecord]) {
        self.name = name
        self.report = report
        self.history = history
    }

    /// The best value of `monitor` over the epochs, and its epoch.
    func best(_ monitor: String) -> (value: Double, epoch: Int)? {
        let points = history.compactMap { record in
            record.values[monitor].flatMap { $0.isFinite ? ($0, record.epoch) : nil }
        }
        return higherIsBetter(monitor) ? points.max { $0.0 < $1.0 } : points.min { $0.0 < $1.0 }
    }

    var final: [String: Double] { history.last?.values ?? [:] }
}

/// The results of a sweep: one row per run with its settings, speed, final and best figures, the
/// validation−training gap and the test metric, ranked by the monitored value (runs that diverged or were
/// pruned last); written as Markdown, CSV and JSON.
public struct SweepTable: Sendable {
    public var runs: [SweepRun]
    /// The swept paths, in order: one column each.
    public var paths: [String]
    /// What ranks the runs: the checkpoint's monitor (val_loss, val_accuracy, …), loss without validation.
    public var monitor: String
    /// The spec's first metric (accuracy, mae, …), shown beside the loss.
    public var metric: String?

    public init(runs: [SweepRun], paths: [String], monitor: String, metric: String?) {
        // Without validation data the runs are ranked by the training figure the monitor names.
        let validated = runs.contains { $0.history.contains { $0.values[monitor] != nil } }
        let monitor = monitor.hasPrefix("val_") && !validated ? String(monitor.dropFirst(4)) : monitor
        self.paths = paths
        self.monitor = monitor
        self.metric = metric
        self.runs = runs.enumerated().sorted { a, b in
            Self.precedes(a.element, b.element, monitor: monitor)
                || (!Self.precedes(b.element, a.element, monitor: monitor) && a.offset < b.offset)
        }.map(\.element)
    }

    private static func precedes(_ a: SweepRun, _ b: SweepRun, monitor: String) -> Bool {
        let ranked: (SweepRun) -> Bool = { [.finished, .stoppedEarly].contains($0.report.status) }
        if ranked(a) != ranked(b) { return ranked(a) }
        guard let x = a.best(monitor)?.value else { return false }
        guard let y = b.best(monitor)?.value else { return true }
        return higherIsBetter(monitor) ? x > y : x < y
    }

    /// The columns after the settings, each with how a run fills it; columns no run fills are left out.
    private var columns: [(title: String, value: (SweepRun) -> Double?, digits: Int)] {
        allColumns.filter { column in runs.contains { column.value($0) != nil } }
    }

    private var allColumns: [(title: String, value: (SweepRun) -> Double?, digits: Int)] {
        var columns: [(String, (SweepRun) -> Double?, Int)] = [
            ("steps", { Double($0.report.steps) }, 0),
            ("ms/step", { $0.report.steps > 0 ? 1000 * $0.report.seconds / Double($0.report.steps) : nil }, 3),
            ("s/epoch", { $0.report.epochs > 0 ? $0.report.seconds / Double($0.report.epochs) : nil }, 3),
            ("loss", { $0.final["loss"] }, 4), ("val_loss", { $0.final["val_loss"] }, 4),
        ]
        if let metric {
            columns += [(metric, { $0.final[metric] }, 4), ("val_" + metric, { $0.final["val_" + metric] }, 4)]
        }
        let monitor = self.monitor
        columns += [
            ("best " + monitor, { $0.best(monitor)?.value }, 4),
            ("best epoch", { $0.best(monitor).map { Double($0.epoch) } }, 0),
            ("gap", { run in run.final["val_loss"].flatMap { v in run.final["loss"].map { v - $0 } } }, 4),
            ("test loss", { $0.report.test?["loss"] }, 4),
        ]
        if let metric { columns.append(("test " + metric, { $0.report.test?[metric] }, 4)) }
        return columns
    }

    private func status(_ run: SweepRun) -> String {
        switch run.report.status {
        case .diverged: "diverged in epoch \(run.report.divergedEpoch ?? run.report.epochs + 1)"
        case .pruned: "pruned after epoch \(run.report.epochs)"
        case .stoppedEarly: "stopped early"
        default: run.report.status.rawValue
        }
    }

    private func setting(_ run: SweepRun, _ path: String) -> String {
        run.report.settings.last { $0.path == path }?.value ?? ""
    }

    private static func format(_ value: Double?, _ digits: Int) -> String {
        guard let value else { return "" }
        guard value.isFinite else { return value.isNaN ? "nan" : value > 0 ? "inf" : "-inf" }
        return digits == 0 ? String(Int(value)) : String(format: "%.\(digits)g", value)
    }

    public func markdown() -> String {
        let short = paths.map { $0.split(separator: ".").last.map(String.init) ?? $0 }
        let header = ["rank", "run"] + short + ["status"] + columns.map(\.title)
        var lines = [
            "| " + header.joined(separator: " | ") + " |", "|" + String(repeating: " --- |", count: header.count),
        ]
        for (rank, run) in runs.enumerated() {
            let cells =
                [String(rank + 1), run.name] + paths.map { setting(run, $0) } + [status(run)]
                + columns.map { Self.format($0.value(run), $0.digits) }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func csv() -> String {
        func quoted(_ cell: String) -> String {
            cell.contains(where: { ",\"\n".contains($0) })
                ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
        }
        let header = ["rank", "run"] + paths + ["status"] + columns.map(\.title)
        var lines = [header.map(quoted).joined(separator: ",")]
        for (rank, run) in runs.enumerated() {
            let cells =
                [String(rank + 1), run.name] + paths.map { setting(run, $0) } + [status(run)]
                + columns.map { column in
                    column.value(run).map { value in
                        !value.isFinite ? Self.format(value, 4) : column.digits == 0 ? String(Int(value)) : "\(value)"
                    } ?? ""
                }
            lines.append(cells.map(quoted).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() -> String {
        let rows: [JSONValue] = runs.enumerated().map { rank, run in
            var fields: [String: JSONValue] = [
                "rank": .number(Double(rank + 1)), "run": .string(run.name),
                "status": .string(run.report.status.rawValue),
                "settings": .object(
                    Dictionary(uniqueKeysWithValues: paths.map { ($0, JSONValue.string(setting(run, $0))) })),
            ]
            for column in columns {
                if let value = column.value(run), value.isFinite { fields[column.title] = .number(value) }
            }
            if let epoch = run.report.divergedEpoch { fields["diverged_epoch"] = .number(Double(epoch)) }
            return .object(fields)
        }
        let document: JSONValue = ["monitor": .string(monitor), "runs": .array(rows)]
        return document.rendered() + "\n"
    }
}
