/// A confusion matrix as an SVG heat map: rows the actual class, columns the predicted one, each cell's count
/// written in it, colored by its share of its row.
public enum ConfusionPlot {
    public static func render(_ confusion: [[Int]], classNames: [String], title: String) -> String {
        let count = confusion.count
        let cell = max(28.0, min(64.0, 560.0 / Double(max(count, 1))))
        let labelWidth = Double((classNames.map(\.count).max() ?? 4) * 7 + 16)
        let (left, top) = (labelWidth + 40, 90.0)
        // Wide enough for the title, the accuracy line and the slanted column labels, not only the grid: with two
        // or three classes the grid alone is narrower than the text around it.
        let grid = left + cell * Double(count) + 40
        let longest = Double(classNames.map(\.count).max() ?? 0)
        let slanted = left + cell * (Double(count) - 0.5) + longest * 6.5 * 0.82 + 20
        let width = max(grid, Double(title.count) * 10 + 40, left + 440, slanted)
        var svg = SVGDocument(width: width, height: top + cell * Double(count) + 70)
        svg.text(title, x: svg.width / 2, y: 28, size: 18, anchor: "middle", weight: "bold")
        svg.text("predicted", x: left + cell * Double(count) / 2, y: 52, size: 13, anchor: "middle")
        svg.text(
            "actual", x: 16, y: top + cell * Double(count) / 2, size: 13, anchor: "middle",
            extra: "transform=\"rotate(-90 16 \(n(top + cell * Double(count) / 2)))\"")
        for (c, name) in classNames.enumerated() {
            let cx = left + (Double(c) + 0.5) * cell
            svg.text(
                name, x: cx, y: top - 8, size: 11, anchor: "start",
                extra: "transform=\"rotate(-35 \(n(cx)) \(n(top - 8)))\" class=\"column-label\"")
            svg.text(
                name, x: left - 8, y: top + (Double(c) + 0.5) * cell + 4, size: 11, anchor: "end",
                extra: "class=\"row-label\"")
        }
        for (r, row) in confusion.enumerated() {
            let total = max(row.reduce(0, +), 1)
            for (c, value) in row.enumerated() {
                let share = Double(value) / Double(total)
                let (x, y) = (left + Double(c) * cell, top + Double(r) * cell)
                svg.rect(
                    x: x, y: y, width: cell, height: cell, fill: heatColor(share),
                    extra:
                        "stroke=\"white\" class=\"cell\" data-actual=\"\(r)\" data-predicted=\"\(c)\" data-count=\"\(value)\""
                )
                svg.text(
                    String(value), x: x + cell / 2, y: y + cell / 2 + 4, size: min(13, cell / 3), anchor: "middle",
                    fill: share > 0.6 ? "#222" : "white")
            }
        }
        let correct = (0..<count).map { confusion[$0][$0] }.reduce(0, +)
        let all = confusion.flatMap { $0 }.reduce(0, +)
        svg.text(
            "accuracy \(String(format: "%.4f", all > 0 ? Double(correct) / Double(all) : 0)) (\(correct)/\(all)); color: share of the actual class",
            x: left, y: top + cell * Double(count) + 30, size: 12)
        return svg.render()
    }
}
