import Foundation

/// Learning curves as an SVG: a panel for the loss and one per metric, on shared epoch axes; training and
/// validation series in each; the best epoch marked; where validation loss rises while training loss still
/// falls, that stretch shaded and labelled as overfitting.
public enum LearningCurves {
    static let trainColor = "#1f77b4"
    static let validationColor = "#ff7f0e"

    /// The epochs from the best validation loss (or training loss without validation) to the end, when over
    /// that stretch validation loss ended higher and training loss ended lower than at the best epoch.
    public static func overfitting(_ history: [EpochRecord]) -> ClosedRange<Int>? {
        guard let best = bestEpoch(history), history.last.map({ $0.values["val_loss"] != nil }) == true,
            let bestRecord = history.first(where: { $0.epoch == best }), let last = history.last, last.epoch > best,
            let bestVal = bestRecord.values["val_loss"], let lastVal = last.values["val_loss"],
            let bestTrain = bestRecord.values["loss"], let lastTrain = last.values["loss"],
            lastVal > bestVal, lastTrain < bestTrain
        else { return nil }
        return best...last.epoch
    }

    public static func bestEpoch(_ history: [EpochRecord]) -> Int? {
        let key = history.contains { $0.values["val_loss"] != nil } ? "val_loss" : "loss"
        return history.filter { $0.values[key]?.isFinite == true }.min { $0.values[key]! < $1.values[key]! }?.epoch
    }

    public static func render(_ history: [EpochRecord], title: String) -> String {
        let metrics = Set(history.flatMap { $0.values.keys }.filter { !$0.hasPrefix("val_") && $0 != "loss" }).sorted()
        let panels = ["loss"] + metrics
        let (left, right, top, panelHeight, gap, width) = (72.0, 170.0, 56.0, 200.0, 46.0, 760.0)
        let height = top + Double(panels.count) * (panelHeight + gap) + 10
        var svg = SVGDocument(width: width, height: height)
        svg.text(title, x: width / 2, y: 28, size: 18, anchor: "middle", weight: "bold")
        let epochs = history.map(\.epoch)
        let first = Double(epochs.min() ?? 1), last = Double(epochs.max() ?? 1)
        let xDomain = first == last ? (first - 0.5, last + 0.5) : (first, last)
        let x = Scale(domain: xDomain, range: (left, width - right))
        let best = bestEpoch(history)
        let overfit = overfitting(history)
        for (index, name) in panels.enumerated() {
            let y0 = top + Double(index) * (panelHeight + gap)
            let series = [(name, trainColor, "training"), ("val_" + name, validationColor, "validation")]
                .compactMap { key, color, label -> (String, String, String, [(Double, Double)])? in
                    let points = history.compactMap { r in
                        r.values[key].flatMap { $0.isFinite ? (Double(r.epoch), $0) : nil }
                    }
                    return points.isEmpty ? nil : (key, color, label, points)
                }
            let values = series.flatMap { $0.3.map(\.1) }
            var low = values.min() ?? 0, high = values.max() ?? 1
            if name == "accuracy" {
                low = min(low, 1)
                high = max(high, low)
            }
            if high == low { (low, high) = (low - 0.5 * max(abs(low), 1e-3), high + 0.5 * max(abs(high), 1e-3)) }
            let pad = (high - low) * 0.05
            let ticks = niceTicks(low - pad, high + pad)
            let yDomain = (min(ticks.first ?? low, low - pad), max(ticks.last ?? high, high + pad))
            let y = Scale(domain: yDomain, range: (y0 + panelHeight, y0))
            // Frame, grid and ticks.
            svg.rect(
                x: left, y: y0, width: width - left - right, height: panelHeight, fill: "none",
                extra:
                    "stroke=\"#999\" class=\"frame\" data-panel=\"\(escape(name))\" data-y-min=\"\(yDomain.0)\" data-y-max=\"\(yDomain.1)\" data-x-min=\"\(xDomain.0)\" data-x-max=\"\(xDomain.1)\""
            )
            if let overfit {
                svg.rect(
                    x: x(Double(overfit.lowerBound)), y: y0,
                    width: x(Double(overfit.upperBound)) - x(Double(overfit.lowerBound)), height: panelHeight,
                    fill: "#d62728", extra: "fill-opacity=\"0.10\" class=\"overfitting\"")
                if index == 0 {
                    svg.text(
                        "overfitting: validation loss rises while training loss falls",
                        x: x(Double(overfit.upperBound)) - 6, y: y0 + 16, size: 11, anchor: "end", fill: "#d62728")
                }
            }
            for tick in ticks where tick >= yDomain.0 && tick <= yDomain.1 {
                svg.line(left, y(tick), width - right, y(tick), stroke: "#eee")
                svg.text(
                    tickLabel(tick), x: left - 6, y: y(tick) + 4, size: 11, anchor: "end", extra: "class=\"y-tick\"")
            }
            for tick in niceTicks(xDomain.0, xDomain.1, count: 8) where tick == tick.rounded() {
                svg.line(x(tick), y0 + panelHeight, x(tick), y0 + panelHeight + 4, stroke: "#999")
                svg.text(
                    tickLabel(tick), x: x(tick), y: y0 + panelHeight + 16, size: 11, anchor: "middle",
                    extra: "class=\"x-tick\"")
            }
            svg.text("epoch", x: (left + width - right) / 2, y: y0 + panelHeight + 32, size: 12, anchor: "middle")
            svg.text(
                name, x: 18, y: y0 + panelHeight / 2, size: 13, anchor: "middle",
                extra: "transform=\"rotate(-90 18 \(n(y0 + panelHeight / 2)))\"")
            if let best {
                svg.line(
                    x(Double(best)), y0, x(Double(best)), y0 + panelHeight, stroke: "#2ca02c", width: 1.5,
                    extra: "stroke-dasharray=\"5 4\" class=\"best-epoch\" data-epoch=\"\(best)\"")
                if index == 0 {
                    // Label on the side with room.
                    let onLeft = x(Double(best)) > (left + width - right) / 2
                    svg.text(
                        "best epoch \(best)", x: x(Double(best)) + (onLeft ? -4 : 4), y: y0 + panelHeight - 6, size: 11,
                        anchor: onLeft ? "end" : "start", fill: "#2ca02c")
                }
            }
            for (key, color, _, points) in series {
                let pixels = points.map { (x($0.0), y($0.1)) }
                svg.polyline(pixels, stroke: color, attributes: "class=\"series\" data-series=\"\(escape(key))\"")
                if pixels.count <= 60 { for p in pixels { svg.circle(p.0, p.1, radius: 2.5, fill: color) } }
            }
            // Legend.
            for (row, entry) in series.enumerated() {
                let ly = y0 + 16 + Double(row) * 20
                svg.line(width - right + 14, ly - 4, width - right + 38, ly - 4, stroke: entry.1, width: 3)
                svg.text("\(entry.2) \(name)", x: width - right + 44, y: ly, size: 12, extra: "class=\"legend\"")
            }
        }
        return svg.render()
    }

    /// A history file is input like any other: bounded in size, its epochs checked before use.
    static let maximumEpoch = 100_000_000

    /// Reads epochs from a checkpoint's metadata or from a `.history.jsonl` file.
    public static func history(from path: String) throws -> (records: [EpochRecord], title: String) {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent.replacingOccurrences(
            of: ".history", with: "")
        if path.hasSuffix(".jsonl") {
            let text = String(
                decoding: try FileBytes.read(path, limit: FileBytes.maximumTextSize, text: true), as: UTF8.self)
            var records: [EpochRecord] = []
            // Lines as the spec parser counts them (LineBreaks), blank ones skipped but counted.
            let lines = LineBreaks.normalized(text).split(separator: "\n", omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double],
                    let epoch = object["epoch"]
                else {
                    throw DataError(
                        path: path, place: "line \(index + 1)", "not a history record (a JSON object with an epoch)")
                }
                guard epoch == epoch.rounded(), (1...Double(maximumEpoch)).contains(epoch) else {
                    throw DataError(
                        path: path, place: "line \(index + 1)",
                        "epoch \(epoch) is not a whole number from 1 to \(maximumEpoch)")
                }
                var values = object
                for key in ["epoch", "seconds", "learning_rate"] { values.removeValue(forKey: key) }
                records.append(
                    EpochRecord(
                        epoch: Int(epoch), learningRate: object["learning_rate"] ?? 0, values: values,
                        seconds: object["seconds"]))
            }
            return (records, "\(name): learning curves")
        }
        let checkpoint = try Checkpoint.read(path)
        return (checkpoint.state.history, "\(name): learning curves")
    }
}
