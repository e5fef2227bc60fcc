import Foundation

/// `strata check`'s model summary, in the manner of Keras' `model.summary()`.
public enum SummaryTable {
    public static func render(_ summary: ModelSummary, name: String) -> String {
        let header = ["Layer (type)", "Output Shape", "Param #"]
        let rows = summary.layers.map {
            ["\($0.name) (\($0.typeName))", describeShape($0.outputShape), grouped($0.params)]
        }
        let widths = (0..<3).map { column in ([header] + rows).map { $0[column].count }.max()! + 3 }
        func row(_ cells: [String]) -> String {
            (cells[0].padding(toLength: widths[0], withPad: " ", startingAt: 0)
                + cells[1].padding(toLength: widths[1], withPad: " ", startingAt: 0)
                + cells[2]).trimmingCharacters(in: .whitespaces)
        }
        let total = widths.reduce(0, +)
        var lines = [
            "Model: \"\(name)\"", String(repeating: "━", count: total), row(header),
            String(repeating: "━", count: total),
        ]
        lines.append(contentsOf: rows.map(row))
        lines.append(String(repeating: "━", count: total))
        lines.append(
            "Total params: \(grouped(summary.totalParams)) (\(formatBytes(saturatingMultiply(summary.totalParams, 4))))"
        )
        lines.append("FLOPs per example: \(grouped(summary.flopsPerExample))")
        lines.append(
            "Memory at batch size \(summary.batchSize): \(formatBytes(summary.memory.totalBytes)) (parameters \(formatBytes(summary.memory.parameterBytes)), gradients \(formatBytes(summary.memory.gradientBytes)), optimizer state \(formatBytes(summary.memory.optimizerBytes)), activations \(formatBytes(summary.memory.activationBytes))\(summary.memory.dataBytes > 0 ? ", data \(formatBytes(summary.memory.dataBytes))" : ""), kernel workspace \(formatBytes(summary.memory.workspaceBytes)))"
        )
        return lines.joined(separator: "\n") + "\n"
    }

    static func grouped(_ value: Int) -> String { groupedDigits(value) }
}

/// `strata check --format json`: one object a program can read.
public enum CheckJSON {
    public static func render(summary: ModelSummary?, diagnostics: Diagnostics) -> String {
        var object: [String: Any] = [:]
        if let summary {
            object["layers"] = summary.layers.map { layer -> [String: Any] in
                [
                    "name": layer.name, "type": layer.typeName, "output_shape": layer.outputShape,
                    "params": layer.params, "flops": layer.flops,
                ]
            }
            object["input_shape"] = summary.inputShape
            object["total_params"] = summary.totalParams
            object["flops_per_example"] = summary.flopsPerExample
            object["memory_bytes"] = summary.memory.totalBytes
            object["batch_size"] = summary.batchSize
        }
        object["diagnostics"] = diagnostics.sorted.map { d -> [String: Any] in
            var entry: [String: Any] = ["severity": d.severity.rawValue, "message": d.message]
            if let location = d.location {
                entry["file"] = location.file
                entry["line"] = location.line
                entry["column"] = location.column
            }
            if let help = d.help { entry["help"] = help }
            if !d.notes.isEmpty { entry["notes"] = d.notes }
            return entry
        }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
