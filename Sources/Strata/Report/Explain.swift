import StrataEngine

/// `strata explain`: each layer's math, how its parameter count is derived, its FLOPs; then the loss and the
/// optimizer as formulas. Plain text, or Markdown for notes.
public enum Explain {
    public enum Style { case text, markdown }

    public static func render(_ spec: Spec, summary: ModelSummary, style: Style) -> String {
        var out: [String] = []
        let md = style == .markdown
        func heading(_ text: String) {
            out.append(md ? "## \(text)" : text + "\n" + String(repeating: "=", count: text.count))
        }
        out.append(md ? "# \(spec.name)" : "Model \"\(spec.name)\"")
        out.append("")
        let values = elementCount(spec.input.value)
        out.append(
            "Input: one example of shape \(describeShape(spec.input.value)), \(SummaryTable.grouped(values)) value\(values == 1 ? "" : "s")."
        )
        out.append("")
        heading("Layers")
        out.append("")
        for (layer, info) in zip(spec.layers, summary.layers) {
            let inShape = describeShape(info.inputShape), outShape = describeShape(info.outputShape)
            out.append(
                md ? "### \(info.name) (\(info.typeName))" : "\(info.name) (\(info.typeName)): \(inShape) → \(outShape)"
            )
            if md { out.append("\(inShape) → \(outShape)") }
            for line in layer.kind.explain(info) { out.append((md ? "- " : "  ") + line) }
            out.append("")
        }
        let state =
            summary.nonTrainableParams > 0
            ? " (and \(SummaryTable.grouped(summary.nonTrainableParams)) non-trainable)" : ""
        out.append(
            "Total: \(SummaryTable.grouped(summary.totalParams)) parameters\(state), \(SummaryTable.grouped(summary.flopsPerExample)) FLOPs per example (forward; a training step costs about three times that)."
        )
        out.append("")
        heading("Loss")
        out.append("")
        out.append(contentsOf: lossLines(spec.loss.value).map { (md ? "" : "  ") + $0 })
        out.append("")
        heading("Optimizer")
        out.append("")
        out.append(contentsOf: spec.optimizer.explained.map { (md ? "" : "  ") + $0 })
        return out.joined(separator: "\n") + "\n"
    }

    private static func lossLines(_ loss: LossKind) -> [String] {
        switch loss {
        case .mse:
            return [
                "mse: L = (1/N) Σᵢ (ŷᵢ − yᵢ)², the mean squared error over the N examples of a batch (and their outputs)",
                "rmse = √mse is reported in the units of y",
            ]
        case .mae:
            return ["mae: L = (1/N) Σᵢ |ŷᵢ − yᵢ|, the mean absolute error"]
        case .binaryCrossentropy:
            return [
                "binary cross-entropy: L = −(1/N) Σᵢ [yᵢ·log ŷᵢ + (1 − yᵢ)·log(1 − ŷᵢ)], ŷ = sigmoid(z)",
                "computed from z directly (max(z, 0) − z·y + log(1 + e^(−|z|))), so it never takes log 0; dL/dz = ŷ − y",
            ]
        case .categoricalCrossentropy:
            return [
                "categorical cross-entropy: L = −(1/N) Σᵢ Σ_c yᵢ,c·log ŷᵢ,c with y one-hot and ŷ = softmax(z)",
                "computed from the logits z as logsumexp(z) − z_y, so it never takes log 0; dL/dz = ŷ − y",
            ]
        case .sparseCategoricalCrossentropy:
            return [
                "sparse categorical cross-entropy: L = −(1/N) Σᵢ log ŷᵢ,yᵢ, with yᵢ the class index and ŷ = softmax(z)",
                "the same as categorical cross-entropy with one-hot y; computed from the logits, dL/dz = ŷ − onehot(y)",
            ]
        }
    }
}
