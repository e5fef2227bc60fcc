import Foundation
import StrataEngine

/// The loss over a grid of a two-parameter model's (weight, bias) — the lecture's y = m·x + b — as a heat map
/// with contour lines, and the gradient-descent path from the starting point, each step a dot.
public struct LossSurface {
    public var names: (String, String)
    public var path: [(Double, Double)]
    public var xs: [Double]
    public var ys: [Double]
    /// losses[row][column]: row along ys, column along xs.
    public var losses: [[Double]]

    public enum SurfaceError: Error, CustomStringConvertible {
        case notTwoParameters(Int)

        public var description: String {
            switch self {
            case .notTwoParameters(let count):
                return
                    "error: the loss surface needs a model with exactly two trainable parameters, like y = m·x + b (a dense layer of 1 unit on 1 input); this model has \(SummaryTable.grouped(count))\n  help: plot learning curves instead: strata plot CHECKPOINT"
            }
        }
    }

    /// Replays training of `checked` from its initial values, recording the parameters after every step, then
    /// evaluates the loss on the training data over a grid covering the path.
    public static func compute(_ checked: CheckedSpec, epochs: Int? = nil, resolution: Int = 60) throws -> LossSurface {
        var options = TrainOptions()
        options.writeFiles = false
        options.epochs = epochs
        options.threads = 1
        let trainer = try Trainer(checked: checked, options: options)
        let parameters = trainer.plan.optimizer.parameters
        let count = parameters.map(\.value.count).reduce(0, +)
        guard count == 2 else { throw SurfaceError.notTwoParameters(count) }
        func current() -> (Double, Double) {
            let values = parameters.flatMap { $0.value.values }
            return (Double(values[0]), Double(values[1]))
        }
        var path = [current()]
        trainer.afterStep = { _ in path.append(current()) }
        _ = try trainer.run()
        let names =
            trainer.plan.parameterNames.count == 2 && trainer.plan.parameterNames[0].hasSuffix(".weight")
                && trainer.plan.parameterNames[1].hasSuffix(".bias")
            ? ("m (\(trainer.plan.parameterNames[0]))", "b (\(trainer.plan.parameterNames[1]))")
            : (trainer.plan.parameterNames.first ?? "p1", trainer.plan.parameterNames.last ?? "p2")
        // The grid covers the path with a margin, and is at least as wide as the path's longest side.
        let (mx, my) = (path.map(\.0), path.map(\.1))
        let span = max(mx.max()! - mx.min()!, my.max()! - my.min()!, 1)
        let margin = span * 0.25
        let xs = stride(from: 0, through: resolution - 1, by: 1).map {
            mx.min()! - margin + Double($0) * (mx.max()! - mx.min()! + 2 * margin) / Double(resolution - 1)
        }
        let ys = stride(from: 0, through: resolution - 1, by: 1).map {
            my.min()! - margin + Double($0) * (my.max()! - my.min()! + 2 * margin) / Double(resolution - 1)
        }
        var losses: [[Double]] = []
        let classCount = trainer.data.encoding.classCount
        for y in ys {
            var row: [Double] = []
            for x in xs {
                let flat = [Float(x), Float(y)]
                var offset = 0
                for p in parameters {
                    for i in 0..<p.value.count { p.value[i] = flat[offset + i] }
                    offset += p.value.count
                }
                row.append(trainer.plan.evaluate(trainer.data.train, classCount: classCount).loss)
            }
            losses.append(row)
        }
        return LossSurface(names: names, path: path, xs: xs, ys: ys, losses: losses)
    }

    public func render(title: String) -> String {
        let (left, top, size, legend) = (80.0, 56.0, 480.0, 110.0)
        var svg = SVGDocument(width: left + size + legend + 20, height: top + size + 60)
        svg.text(title, x: (left + size) / 2 + 20, y: 28, size: 18, anchor: "middle", weight: "bold")
        let x = Scale(domain: (xs.first!, xs.last!), range: (left, left + size))
        let y = Scale(domain: (ys.first!, ys.last!), range: (top + size, top))
        // Log scale for color: losses span orders of magnitude.
        let flat = losses.flatMap { $0 }.filter(\.isFinite)
        let low = log10(max(flat.min() ?? 1e-12, 1e-12)), high = log10(max(flat.max() ?? 1, 1e-12))
        func level(_ loss: Double) -> Double { high > low ? (log10(max(loss, 1e-12)) - low) / (high - low) : 0 }
        let cellWidth = size / Double(xs.count - 1), cellHeight = size / Double(ys.count - 1)
        svg.add("<g class=\"heatmap\">")
        for (r, row) in losses.enumerated() {
            for (c, loss) in row.enumerated() {
                svg.rect(
                    x: x(xs[c]) - cellWidth / 2, y: y(ys[r]) - cellHeight / 2, width: cellWidth + 0.5,
                    height: cellHeight + 0.5, fill: heatColor(level(loss)))
            }
        }
        svg.add("</g>")
        svg.add(
            "<clipPath id=\"plot\"><rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(size))\" height=\"\(n(size))\"/></clipPath>"
        )
        // Contours at evenly spaced log levels.
        svg.add("<g class=\"contours\" clip-path=\"url(#plot)\">")
        for k in 1...8 {
            let threshold = Double(k) / 9
            for segment in MarchingSquares.segments(losses.map { $0.map(level) }, at: threshold) {
                let (a, b) = segment
                let p1 = (
                    x(xs.first! + a.0 * (xs.last! - xs.first!) / Double(xs.count - 1)),
                    y(ys.first! + a.1 * (ys.last! - ys.first!) / Double(ys.count - 1))
                )
                let p2 = (
                    x(xs.first! + b.0 * (xs.last! - xs.first!) / Double(xs.count - 1)),
                    y(ys.first! + b.1 * (ys.last! - ys.first!) / Double(ys.count - 1))
                )
                svg.line(p1.0, p1.1, p2.0, p2.1, stroke: "white", width: 0.8, extra: "stroke-opacity=\"0.7\"")
            }
        }
        svg.add("</g>")
        // The path: a line through every step, a dot per step, the start and the end marked.
        let pixels = path.map { (x($0.0), y($0.1)) }
        svg.polyline(
            pixels, stroke: "#ff4136", width: 1.5, attributes: "class=\"path\" data-steps=\"\(path.count - 1)\"")
        svg.add("<g class=\"steps\">")
        for p in pixels { svg.circle(p.0, p.1, radius: 2.2, fill: "#ff4136") }
        svg.add("</g>")
        let start = path.first!, end = path.last!
        svg.circle(
            pixels.first!.0, pixels.first!.1, radius: 5, fill: "white",
            extra: "stroke=\"#ff4136\" stroke-width=\"2\" class=\"start\"")
        svg.text(
            "start (\(String(format: "%.3g", start.0)), \(String(format: "%.3g", start.1)))", x: pixels.first!.0 + 8,
            y: pixels.first!.1 - 8, size: 12, weight: "bold", fill: "white")
        svg.circle(
            pixels.last!.0, pixels.last!.1, radius: 5, fill: "#ff4136",
            extra: "stroke=\"white\" stroke-width=\"2\" class=\"end\"")
        svg.text(
            "end (\(String(format: "%.3g", end.0)), \(String(format: "%.3g", end.1)))", x: pixels.last!.0 + 8,
            y: pixels.last!.1 + 16, size: 12, weight: "bold", fill: "white")
        // Axes.
        svg.rect(
            x: left, y: top, width: size, height: size, fill: "none",
            extra:
                "stroke=\"#333\" class=\"frame\" data-x-min=\"\(xs.first!)\" data-x-max=\"\(xs.last!)\" data-y-min=\"\(ys.first!)\" data-y-max=\"\(ys.last!)\""
        )
        for tick in niceTicks(xs.first!, xs.last!) {
            svg.line(x(tick), top + size, x(tick), top + size + 5, stroke: "#333")
            svg.text(
                tickLabel(tick), x: x(tick), y: top + size + 18, size: 11, anchor: "middle", extra: "class=\"x-tick\"")
        }
        for tick in niceTicks(ys.first!, ys.last!) {
            svg.line(left - 5, y(tick), left, y(tick), stroke: "#333")
            svg.text(tickLabel(tick), x: left - 8, y: y(tick) + 4, size: 11, anchor: "end", extra: "class=\"y-tick\"")
        }
        svg.text(names.0, x: left + size / 2, y: top + size + 40, size: 13, anchor: "middle")
        svg.text(
            names.1, x: 24, y: top + size / 2, size: 13, anchor: "middle",
            extra: "transform=\"rotate(-90 24 \(n(top + size / 2)))\"")
        // Color legend.
        let lx = left + size + 30
        for i in 0..<50 {
            let t = Double(i) / 49
            svg.rect(
                x: lx, y: top + size - t * size - size / 50, width: 18, height: size / 50 + 0.5, fill: heatColor(t))
        }
        svg.text("loss", x: lx, y: top - 8, size: 12)
        for (t, label) in [(0.0, pow(10, low)), (0.5, pow(10, (low + high) / 2)), (1.0, pow(10, high))] {
            svg.text(String(format: "%.3g", label), x: lx + 24, y: top + size - t * size + 4, size: 11)
        }
        return svg.render()
    }
}

/// Contour segments of a grid at one level, in grid coordinates (column, row), by marching squares with linear
/// interpolation along cell edges.
enum MarchingSquares {
    static func segments(_ grid: [[Double]], at level: Double) -> [((Double, Double), (Double, Double))] {
        var out: [((Double, Double), (Double, Double))] = []
        guard grid.count > 1, let width = grid.first?.count, width > 1 else { return out }
        for r in 0..<grid.count - 1 {
            for c in 0..<width - 1 {
                let v = [grid[r][c], grid[r][c + 1], grid[r + 1][c + 1], grid[r + 1][c]]
                let corners = [
                    (Double(c), Double(r)), (Double(c + 1), Double(r)), (Double(c + 1), Double(r + 1)),
                    (Double(c), Double(r + 1)),
                ]
                var crossings: [(Double, Double)] = []
                for e in 0..<4 {
                    let (a, b) = (v[e], v[(e + 1) % 4])
                    if (a < level) != (b < level) {
                        let t = (level - a) / (b - a)
                        let (p, q) = (corners[e], corners[(e + 1) % 4])
                        crossings.append((p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1)))
                    }
                }
                if crossings.count == 2 { out.append((crossings[0], crossings[1])) }
                if crossings.count == 4 {
                    out.append((crossings[0], crossings[1]))
                    out.append((crossings[2], crossings[3]))
                }
            }
        }
        return out
    }
}
