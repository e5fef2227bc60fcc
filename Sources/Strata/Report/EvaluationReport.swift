import Foundation
import StrataEngine

/// `strata eval`'s output: loss and metrics, and for classifiers per-class accuracy and a confusion matrix.
public enum EvaluationReport {
    /// `split` names the data (test, validation, train, or a file) in the first line.
    public static func text(
        _ evaluation: Evaluation, metrics: [MetricKind], classNames: [String]?, split: String = "test"
    ) -> String {
        let figures = Figure.list(
            [("loss", evaluation.loss)] + metrics.map { ($0.rawValue, evaluation.metrics.value($0)) })
        var lines = ["\(split) data, \(evaluation.metrics.examples) examples - " + figures]
        guard let confusion = evaluation.confusion, let names = classNames, names.count == confusion.count else {
            return lines.joined(separator: "\n") + "\n"
        }
        let nameWidth = max(names.map(\.count).max() ?? 1, 6)
        lines.append("")
        lines.append("Per-class accuracy:")
        for (index, row) in confusion.enumerated() {
            let total = row.reduce(0, +)
            let share = total > 0 ? String(format: "%.4f", Double(row[index]) / Double(total)) : "   n/a"
            lines.append(
                "  \(names[index].padding(toLength: nameWidth, withPad: " ", startingAt: 0))  \(share)  (\(row[index])/\(total))"
            )
        }
        lines.append("")
        lines.append("Confusion matrix (rows: actual, columns: predicted):")
        // Each column as wide as its name or its largest count, so names are whole and columns line up.
        let widths = names.indices.map { c in
            max(names[c].count, confusion.map { String($0[c]).count }.max() ?? 1, 3)
        }
        lines.append(
            String(repeating: " ", count: nameWidth + 2)
                + names.indices.map { pad(names[$0], widths[$0]) }.joined(separator: "  "))
        for (index, row) in confusion.enumerated() {
            lines.append(
                "  " + names[index].padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                    + row.indices.map { pad(String(row[$0]), widths[$0]) }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(
        _ evaluation: Evaluation, metrics: [MetricKind], classNames: [String]?, split: String = "test"
    ) -> String {
        var object: [String: Any] = ["loss": evaluation.loss, "examples": evaluation.metrics.examples, "data": split]
        for metric in metrics { object[metric.rawValue] = evaluation.metrics.value(metric) }
        if let confusion = evaluation.confusion {
            object["confusion_matrix"] = confusion
            if let classNames { object["class_names"] = classNames }
            let names = classNames ?? confusion.indices.map(String.init)
            var perClass: [String: Any] = [:]
            for (index, row) in confusion.enumerated() where index < names.count {
                let total = row.reduce(0, +)
                perClass[names[index]] = total > 0 ? Double(row[index]) / Double(total) : NSNull()
            }
            object["per_class_accuracy"] = perClass
        }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

/// `strata predict`'s CSV: per example the class and each class's probability, or the regression outputs.
public enum PredictionCSV {
    public static func render(_ outputs: [Float], width: Int, classNames: [String]?) -> String {
        var lines: [String] = []
        let count = width > 0 ? outputs.count / width : 0
        if let names = classNames {
            let binary = width == 1
            lines.append(
                // One sigmoid output is the probability of the second (positive) class.
                (["class"]
                    + (binary ? ["p_\(quote(names.count > 1 ? names[1] : "1"))"] : names.map { "p_\(quote($0))" }))
                    .joined(separator: ","))
            for i in 0..<count {
                let row = Array(outputs[i * width..<(i + 1) * width])
                let index = binary ? (row[0] >= 0.5 ? 1 : 0) : row.indices.max { row[$0] < row[$1] }!
                let label = index < names.count ? names[index] : String(index)
                lines.append(([quote(label)] + row.map { "\($0)" }).joined(separator: ","))
            }
        } else {
            lines.append((width == 1 ? ["y"] : (1...width).map { "y_\($0)" }).joined(separator: ","))
            for i in 0..<count {
                lines.append(outputs[i * width..<(i + 1) * width].map { "\($0)" }.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func quote(_ text: String) -> String {
        text.contains(",") || text.contains("\"")
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
