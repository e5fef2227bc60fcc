/// `strata explain`: each layer's math, how its parameter count is derived, its FLOPs; then the loss and the
/// optimizer as formulas. Plain text, or Markdown for notes.
public enum Explain {
    public enum Style { case text, markdown }

    public static func render(_ spec: Spec, summary: ModelSummary, style: Style) -> String {
        var out: [String] = []
        let md = style == .markdown
        func heading(_ text: String) { out.append(md ? "## \(text)" : text + "\n" + String(repeating: "=", count: text.count)) }
        out.append(md ? "# \(spec.name)" : "Model \"\(spec.name)\"")
        out.append("")
        let values = elementCount(spec.input.value)
        out.append("Input: one example of shape \(describeShape(spec.input.value)), \(SummaryTable.grouped(values)) value\(values == 1 ? "" : "s").")
        out.append("")
        heading("Layers")
        out.append("")
        for (layer, info) in zip(spec.layers, summary.layers) {
            let inShape = describeShape(info.inputShape), outShape = describeShape(info.outputShape)
            out.append(md ? "### \(info.name) (\(info.typeName))" : "\(info.name) (\(info.typeName)): \(inShape) → \(outShape)")
            if md { out.append("\(inShape) → \(outShape)") }
            for line in describe(layer, info) { out.append((md ? "- " : "  ") + line) }
            out.append("")
        }
        out.append("Total: \(SummaryTable.grouped(summary.totalParams)) parameters, \(SummaryTable.grouped(summary.flopsPerExample)) FLOPs per example (forward; a training step costs about three times that).")
        out.append("")
        heading("Loss")
        out.append("")
        out.append(contentsOf: lossLines(spec.loss.value).map { (md ? "" : "  ") + $0 })
        out.append("")
        heading("Optimizer")
        out.append("")
        out.append(contentsOf: optimizerLines(spec.optimizer).map { (md ? "" : "  ") + $0 })
        return out.joined(separator: "\n") + "\n"
    }

    private static func activationFormula(_ activation: Activation?) -> (String, String?) {
        switch activation ?? .linear {
        case .linear: return ("", nil)
        case .relu: return ("relu", "relu(z) = max(0, z)")
        case .leakyRelu(let alpha): return ("leaky_relu", "leaky_relu(z) = z if z > 0, else \(format(alpha))·z")
        case .sigmoid: return ("sigmoid", "sigmoid(z) = 1 / (1 + e^(−z))")
        case .tanh: return ("tanh", "tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))")
        case .softmax: return ("softmax", "softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ), probabilities that sum to 1")
        }
    }

    private static func describe(_ layer: LayerSpec, _ info: LayerSummary) -> [String] {
        let g = SummaryTable.grouped
        switch layer.kind {
        case .dense(let dense):
            let (inputs, units) = (info.inputShape[0], dense.units.value)
            let (name, formula) = activationFormula(dense.activation?.value)
            let affine = dense.useBias ? "W·x + b" : "W·x"
            var lines = ["y = \(name.isEmpty ? affine : "\(name)(\(affine))"), W of shape [\(inputs), \(units)]\(dense.useBias ? ", b of shape [\(units)]" : "")"]
            if let formula { lines.append(formula) }
            if inputs == 1 && units == 1 && dense.useBias && name.isEmpty {
                lines.append("with one input and one unit this is the line y = m·x + b: the slope m is W, the intercept b is b")
            }
            lines.append("parameters: \(inputs)·\(units)\(dense.useBias ? " + \(units)" : "") = \(g(info.params))")
            lines.append("FLOPs: 2·\(inputs)·\(units)\(dense.useBias ? " + \(units)" : "") = \(g(info.flops)) (a multiply and an add per weight\(dense.useBias ? ", one add per bias" : ""))")
            return lines
        case .conv2d(let conv):
            let (k, c, f) = (conv.kernelSize.value, info.inputShape[2], conv.filters.value)
            let (name, formula) = activationFormula(conv.activation?.value)
            let sum = "Σ over the \(k[0])x\(k[1]) window and \(c) channel\(c == 1 ? "" : "s") of W·x\(conv.useBias ? " + b" : "")"
            var lines = ["y[i, j, f] = \(name.isEmpty ? sum : "\(name)(\(sum))"), W of shape [\(k[0]), \(k[1]), \(c), \(f)], stride \(conv.strides.value.map(String.init).joined(separator: "x")), \(conv.padding.rawValue) padding"]
            if let formula { lines.append(formula) }
            lines.append("parameters: \(k[0])·\(k[1])·\(c)·\(f)\(conv.useBias ? " + \(f)" : "") = \(g(info.params))")
            let positions = info.outputShape[0] * info.outputShape[1]
            lines.append("FLOPs: 2·\(k[0])·\(k[1])·\(c) per output value × \(info.outputShape[0])·\(info.outputShape[1])·\(f) outputs\(conv.useBias ? " + \(g(positions * f)) bias adds" : "") = \(g(info.flops))")
            return lines
        case .maxPool2d(let pool):
            let p = pool.poolSize.value
            return ["y[i, j, c] = max over a \(p[0])x\(p[1]) window, stride \(pool.strides.value.map(String.init).joined(separator: "x")), of x[·, ·, c]",
                    "parameters: 0", "FLOPs: 0 counted (comparisons only)"]
        case .flatten:
            return ["y = x laid out as one vector of \(g(info.outputShape[0])) values (row-major, channels fastest)", "parameters: 0", "FLOPs: 0"]
        case .dropout(let rate):
            return ["while training: each value is zeroed with probability \(format(rate.value)), the rest scaled by 1/(1 − \(format(rate.value))); when evaluating: y = x",
                    "parameters: 0", "FLOPs: 0 counted"]
        case .activation(let activation):
            let (name, formula) = activationFormula(activation.value)
            return ["y = \(name.isEmpty ? "x" : "\(name)(x)")"] + (formula.map { [$0] } ?? []) + ["parameters: 0", "FLOPs: 0 counted"]
        }
    }

    private static func lossLines(_ loss: LossKind) -> [String] {
        switch loss {
        case .mse:
            return ["mse: L = (1/N) Σᵢ (ŷᵢ − yᵢ)², the mean squared error over the N examples of a batch (and their outputs)",
                    "rmse = √mse is reported in the units of y"]
        case .mae:
            return ["mae: L = (1/N) Σᵢ |ŷᵢ − yᵢ|, the mean absolute error"]
        case .binaryCrossentropy:
            return ["binary cross-entropy: L = −(1/N) Σᵢ [yᵢ·log ŷᵢ + (1 − yᵢ)·log(1 − ŷᵢ)], ŷ = sigmoid(z)",
                    "computed from z directly (max(z, 0) − z·y + log(1 + e^(−|z|))), so it never takes log 0; dL/dz = ŷ − y"]
        case .categoricalCrossentropy:
            return ["categorical cross-entropy: L = −(1/N) Σᵢ Σ_c yᵢ,c·log ŷᵢ,c with y one-hot and ŷ = softmax(z)",
                    "computed from the logits z as logsumexp(z) − z_y, so it never takes log 0; dL/dz = ŷ − y"]
        case .sparseCategoricalCrossentropy:
            return ["sparse categorical cross-entropy: L = −(1/N) Σᵢ log ŷᵢ,yᵢ, with yᵢ the class index and ŷ = softmax(z)",
                    "the same as categorical cross-entropy with one-hot y; computed from the logits, dL/dz = ŷ − onehot(y)"]
        }
    }

    private static func optimizerLines(_ optimizer: OptimizerSpec) -> [String] {
        let lr = format(optimizer.learningRate.value)
        var lines: [String]
        switch optimizer.kind.value {
        case .sgd(let momentum, let nesterov, let decay):
            if momentum == 0 {
                lines = ["sgd (gradient descent): w ← w − η·∇L, η = \(lr)"]
            } else if nesterov {
                lines = ["sgd with Nesterov momentum: v ← μ·v − η·∇L, w ← w + μ·v − η·∇L, η = \(lr), μ = \(format(momentum))"]
            } else {
                lines = ["sgd with momentum: v ← μ·v − η·∇L, w ← w + v, η = \(lr), μ = \(format(momentum))"]
            }
            if decay > 0 { lines.append("weight decay: w ← w − η·\(format(decay))·w before each update") }
        case .adam(let b1, let b2, let epsilon, let decay):
            lines = ["adam: m ← β₁·m + (1 − β₁)·∇L, v ← β₂·v + (1 − β₂)·(∇L)²",
                     "w ← w − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε), η = \(lr), β₁ = \(format(b1)), β₂ = \(format(b2)), ε = \(epsilon)"]
            if decay > 0 { lines.append("decoupled weight decay (AdamW): w ← w − η·\(format(decay))·w before each update") }
        case .rmsprop(let rho, let momentum, let epsilon):
            lines = ["rmsprop: v ← ρ·v + (1 − ρ)·(∇L)², Δ = η·∇L / √(v + ε), η = \(lr), ρ = \(format(rho)), ε = \(epsilon)"]
            lines.append(momentum > 0 ? "with momentum: m ← \(format(momentum))·m + Δ, w ← w − m" : "w ← w − Δ")
        }
        if let schedule = optimizer.schedule?.value {
            switch schedule {
            case .step(let steps, let rate): lines.append("learning rate at step t: η·\(format(rate))^⌊t / \(steps)⌋")
            case .exponential(let steps, let rate): lines.append("learning rate at step t: η·\(format(rate))^(t / \(steps))")
            case .cosine(let steps, let alpha):
                lines.append("learning rate at step t: η·(\(format(alpha)) + (1 − \(format(alpha)))·½(1 + cos(π·min(t, \(steps))/\(steps))))")
            }
        }
        return lines
    }
}
