import Foundation

/// A minimal SVG writer: elements appended in drawing order, text escaped, numbers rounded for small files.
struct SVGDocument {
    let width: Double
    let height: Double
    private var body: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    mutating func add(_ element: String) { body.append(element) }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, extra: String = "") {
        add(
            "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"\(fill)\"\(extra.isEmpty ? "" : " " + extra)/>"
        )
    }

    mutating func line(
        _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, extra: String = ""
    ) {
        add(
            "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\"\(extra.isEmpty ? "" : " " + extra)/>"
        )
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2, attributes: String = "") {
        let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        add(
            "<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\" points=\"\(list)\"\(attributes.isEmpty ? "" : " " + attributes)/>"
        )
    }

    mutating func circle(_ x: Double, _ y: Double, radius: Double, fill: String, extra: String = "") {
        add(
            "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(radius))\" fill=\"\(fill)\"\(extra.isEmpty ? "" : " " + extra)/>"
        )
    }

    mutating func text(
        _ string: String, x: Double, y: Double, size: Double = 12, anchor: String = "start", weight: String = "normal",
        fill: String = "#222", extra: String = ""
    ) {
        add(
            "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\" text-anchor=\"\(anchor)\" font-weight=\"\(weight)\" fill=\"\(fill)\"\(extra.isEmpty ? "" : " " + extra)>\(escape(string))</text>"
        )
    }

    func render() -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" font-family="Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        \(body.joined(separator: "\n"))
        </svg>

        """
    }
}

func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

/// Numbers with at most 2 decimals, no trailing zeros.
func n(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    if rounded == rounded.rounded() && abs(rounded) < 1e15 { return String(Int(rounded)) }
    return String(format: "%.2f", rounded).replacingOccurrences(of: "0+$", with: "", options: .regularExpression)
}

/// Tick positions at 1, 2 or 5 times a power of ten, covering [low, high] with about `count` ticks.
func niceTicks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
    guard high > low, low.isFinite, high.isFinite else { return [low] }
    let raw = (high - low) / Double(max(count, 1))
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    // Ticks by index, so a step below the values' precision (1e17 to 1e17 + 16) cannot loop for ever.
    let start = (low / step).rounded(.down) * step
    var ticks: [Double] = []
    for index in 0...count * 3 {
        let tick = start + Double(index) * step
        guard tick <= high + step * 1e-9 else { break }
        if tick >= low - step * 1e-9, tick != ticks.last { ticks.append(abs(tick) < step * 1e-9 ? 0 : tick) }
    }
    return ticks.isEmpty ? [low] : ticks
}

func tickLabel(_ value: Double) -> String {
    if value == 0 { return "0" }
    if abs(value) >= 1e4 || abs(value) < 1e-3 { return String(format: "%.0e", value) }
    let text = String(format: "%.4g", value)
    return text
}

/// A linear map from data to pixels.
struct Scale {
    let domain: (Double, Double)
    let range: (Double, Double)

    func callAsFunction(_ value: Double) -> Double {
        let span = domain.1 - domain.0
        let t = span == 0 ? 0.5 : (value - domain.0) / span
        return range.0 + t * (range.1 - range.0)
    }
}

/// Viridis-like colors for t in [0, 1], interpolated between five anchors.
func heatColor(_ t: Double) -> String {
    let anchors: [(Double, Double, Double)] = [
        (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37),
    ]
    let x = min(max(t, 0), 1) * Double(anchors.count - 1)
    let i = min(Int(x), anchors.count - 2)
    let f = x - Double(i)
    let (a, b) = (anchors[i], anchors[i + 1])
    let r = a.0 + (b.0 - a.0) * f, g = a.1 + (b.1 - a.1) * f, bl = a.2 + (b.2 - a.2) * f
    return String(format: "#%02x%02x%02x", Int(r.rounded()), Int(g.rounded()), Int(bl.rounded()))
}
