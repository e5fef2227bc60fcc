import Foundation

/// `curves.svg` of a sweep: every run's loss (and first metric) per epoch on shared axes — training dashed,
/// validation solid, one colour per run, the legend giving each run's settings — and, when one value was swept
/// over numbers, the monitored value against it (on a log axis when the values span decades).
public enum SweepCurves {
    static let colors = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]

    public static func render(_ table: SweepTable, title: String) -> String {
        let panels = ["loss"] + (table.metric.map { [$0] } ?? [])
        let sweepPoints = keyPoints(table)
        let (left, right, top, panelHeight, gap, width) = (72.0, 260.0, 56.0, 220.0, 50.0, 900.0)
        let panelCount = Double(panels.count + (sweepPoints == nil ? 0 : 1))
        let legendHeight = Double(table.runs.count) * 18 + 20
        let height = top + max(panelCount * (panelHeight + gap), legendHeight) + 10
        var svg = SVGDocument(width: width, height: height)
        svg.text(title, x: width / 2, y: 28, size: 18, anchor: "middle", weight: "bold")
        let epochs = table.runs.flatMap { $0.history.map { Double($0.epoch) } }
        let first = epochs.min() ?? 1, last = epochs.max() ?? 1
        let x = Scale(domain: first == last ? (first - 0.5, last + 0.5) : (first, last), range: (left, width - right))
        for (index, name) in panels.enumerated() {
            let y0 = top + Double(index) * (panelHeight + gap)
            var series: [(color: String, dashed: Bool, points: [(Double, Double)])] = []
            for (runIndex, run) in table.runs.enumerated() {
                let color = colors[runIndex % colors.count]
                for (key, dashed) in [(name, true), ("val_" + name, false)] {
                    let points = run.history.compactMap { r in
                        r.values[key].flatMap { $0.isFinite ? (Double(r.epoch), $0) : nil }
                    }
                    if !points.isEmpty { series.append((color, dashed, points)) }
                }
            }
            let y = frame(
                &svg, name, y0: y0, height: panelHeight, left: left, right: width - right, x: x,
                values: series.flatMap { $0.points.map(\.1) }, xLabel: "epoch")
            for entry in series {
                svg.polyline(
                    entry.points.map { (x($0.0), y($0.1)) }, stroke: entry.color, width: 1.8,
                    attributes: entry.dashed ? "stroke-dasharray=\"6 4\" class=\"training\"" : "class=\"validation\"")
            }
        }
        if let (path, points, logarithmic) = sweepPoints {
            let y0 = top + Double(panels.count) * (panelHeight + gap)
            let xs = points.map { logarithmic ? log10($0.0) : $0.0 }
            let low = xs.min() ?? 0, high = xs.max() ?? 1
            let keyX = Scale(domain: low == high ? (low - 0.5, high + 0.5) : (low, high), range: (left, width - right))
            let y = frame(
                &svg, "best " + table.monitor, y0: y0, height: panelHeight, left: left, right: width - right,
                x: keyX, values: points.map(\.1), xLabel: path + (logarithmic ? " (log scale)" : ""),
                xTicks: logarithmic
                    ? points.map { (log10($0.0), tickLabel($0.0)) } : points.map { ($0.0, tickLabel($0.0)) })
            let pixels = zip(xs, points).map { (keyX($0), y($1.1)) }
            svg.polyline(pixels, stroke: "#333", width: 1.5, attributes: "class=\"against-key\"")
            for p in pixels { svg.circle(p.0, p.1, radius: 3.5, fill: "#333") }
        }
        // Legend: one colour per run, with its settings; line styles once.
        let lx = width - right + 18
        svg.line(lx, top + 2, lx + 24, top + 2, stroke: "#555", width: 2, extra: "stroke-dasharray=\"6 4\"")
        svg.text("training", x: lx + 30, y: top + 6, size: 11)
        svg.line(lx + 90, top + 2, lx + 114, top + 2, stroke: "#555", width: 2)
        svg.text("validation", x: lx + 120, y: top + 6, size: 11)
        for (index, run) in table.runs.enumerated() {
            let ly = top + 26 + Double(index) * 18
            svg.line(lx, ly - 4, lx + 24, ly - 4, stroke: colors[index % colors.count], width: 3)
            let label = run.report.settings.map { "\($0.path.split(separator: ".").last ?? "")=\($0.value)" }
                .joined(separator: " ")
            svg.text(label.isEmpty ? run.name : label, x: lx + 30, y: ly, size: 11, extra: "class=\"legend\"")
        }
        return svg.render()
    }

    /// For a sweep of one numeric value: (its path, (value, best monitored) per run, whether a log axis fits).
    private static func keyPoints(_ table: SweepTable) -> (String, [(Double, Double)], Bool)? {
        guard table.paths.count == 1, let path = table.paths.first else { return nil }
        var points: [(Double, Double)] = []
        for run in table.runs {
            guard let text = run.report.settings.last(where: { $0.path == path })?.value, let value = Double(text)
            else { return nil }
            if let best = run.best(table.monitor)?.value { points.append((value, best)) }
        }
        points.sort { $0.0 < $1.0 }
        guard points.count >= 2, let low = points.first?.0, let high = points.last?.0 else { return nil }
        let logarithmic = low > 0 && high / low >= 100
        return (path, points, logarithmic)
    }

    /// Draws a panel's frame, grid, ticks and labels; returns its y scale.
    private static func frame(
        _ svg: inout SVGDocument, _ name: String, y0: Double, height: Double, left: Double, right: Double, x: Scale,
        values: [Double], xLabel: String, xTicks: [(Double, String)]? = nil
    ) -> Scale {
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high == low { (low, high) = (low - 0.5 * max(abs(low), 1e-3), high + 0.5 * max(abs(high), 1e-3)) }
        let pad = (high - low) * 0.05
        let ticks = niceTicks(low - pad, high + pad)
        let y = Scale(
            domain: (min(ticks.first ?? low, low - pad), max(ticks.last ?? high, high + pad)), range: (y0 + height, y0))
        svg.rect(x: left, y: y0, width: right - left, height: height, fill: "none", extra: "stroke=\"#999\"")
        for tick in ticks {
            svg.line(left, y(tick), right, y(tick), stroke: "#eee")
            svg.text(tickLabel(tick), x: left - 6, y: y(tick) + 4, size: 11, anchor: "end")
        }
        let xs =
            xTicks
            ?? niceTicks(x.domain.0, x.domain.1, count: 8).filter { $0 == $0.rounded() }.map { ($0, tickLabel($0)) }
        for (value, label) in xs {
            svg.line(x(value), y0 + height, x(value), y0 + height + 4, stroke: "#999")
            svg.text(label, x: x(value), y: y0 + height + 16, size: 11, anchor: "middle")
        }
        svg.text(xLabel, x: (left + right) / 2, y: y0 + height + 34, size: 12, anchor: "middle")
        svg.text(
            name, x: 18, y: y0 + height / 2, size: 13, anchor: "middle",
            extra: "transform=\"rotate(-90 18 \(n(y0 + height / 2)))\"")
        return y
    }
}
