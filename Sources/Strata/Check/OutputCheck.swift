/// Checks the model's last layer against the loss: the pairings that train silently wrong in other tools.
struct OutputCheck {
    let spec: Spec
    var diagnostics = Diagnostics()

    mutating func run(outputShape: [Int]) {
        guard let last = spec.layers.last else { return }
        let name = last.name.value
        guard outputShape.count == 1 else {
            diagnostics.error(
                "the model's output \(describeShape(outputShape)) must be flat to feed the loss", at: last.location,
                help: "add `- flatten` and a `- dense` layer at the end")
            return
        }
        let width = outputShape[0]
        let activation = finalActivation()
        let loss = spec.loss
        let place = activation?.location ?? last.location
        let activationName = activation?.value.name ?? "linear"
        switch loss.value {
        case .categoricalCrossentropy, .sparseCategoricalCrossentropy:
            if activationName != "softmax" {
                diagnostics.error(
                    "\(loss.value.rawValue) needs softmax probabilities, but \(name) ends in \(activationName)", at: place,
                    help: "set `activation: softmax` on \(name)")
            } else if width == 1 {
                diagnostics.error(
                    "softmax over 1 unit always outputs 1, so nothing can be learned", at: last.location,
                    help: "use one unit per class, or for two classes `units: 1, activation: sigmoid` with binary_crossentropy")
            }
        case .binaryCrossentropy:
            if activationName != "sigmoid" {
                diagnostics.error(
                    "binary_crossentropy needs a sigmoid probability, but \(name) ends in \(activationName)", at: place,
                    help: "set `activation: sigmoid` on \(name)")
            }
            if width != 1 {
                diagnostics.error(
                    "binary_crossentropy wants one sigmoid unit, but \(name) has \(width)", at: last.location,
                    help: "set `units: 1`, or for \(width) classes use softmax with categorical_crossentropy")
            }
        case .mse, .mae:
            if activationName == "softmax" {
                diagnostics.warning(
                    "\(loss.value.rawValue) on softmax outputs is unusual and learns slowly", at: place,
                    help: "for classes use `loss: categorical_crossentropy`; for regression remove the softmax")
            }
        }
        if activationName == "softmax" || activationName == "sigmoid", spec.layers.count > 1 {
            checkNothingAfterActivation()
        }
    }

    /// The activation that produces the model's output: the last dense/conv/activation layer's, unless a
    /// dropout or flatten follows it (those pass values through).
    private func finalActivation() -> Located<Activation>? {
        for layer in spec.layers.reversed() {
            switch layer.kind {
            case .dropout, .flatten: continue
            case .dense(let d): return d.activation
            case .conv2d(let c): return c.activation
            case .activation(let a): return a
            case .maxPool2d: return nil
            }
        }
        return nil
    }

    private mutating func checkNothingAfterActivation() {
        guard let last = spec.layers.last, case .dropout = last.kind else { return }
        diagnostics.warning(
            "dropout after the output activation rescales probabilities while training", at: last.location,
            help: "put dropout before the last dense layer")
    }
}

/// Names that `monitor:` may take: `loss` and each metric, with `val_` in front for the validation split.
struct MonitorCheck {
    let spec: Spec
    var diagnostics = Diagnostics()

    mutating func run(hasValidation: Bool) {
        let base = ["loss"] + spec.metrics.map(\.value.rawValue)
        let names = base + base.map { "val_" + $0 }
        var monitors: [(Located<String>, String)] = []
        if let early = spec.training.earlyStopping { monitors.append((early.monitor, "early_stopping")) }
        if spec.checkpoint.save.value == .best { monitors.append((spec.checkpoint.monitor, "checkpoint")) }
        for (monitor, owner) in monitors {
            if !names.contains(monitor.value) {
                let help = closestMatch(to: monitor.value, in: names).map { "did you mean '\($0)'?" } ?? "one of: \(names.joined(separator: ", "))"
                diagnostics.error("\(owner) monitors '\(monitor.value)', which is not computed", at: monitor.location, help: help)
            } else if monitor.value.hasPrefix("val_"), !hasValidation {
                diagnostics.error(
                    "\(owner) monitors '\(monitor.value)', but there is no validation data", at: monitor.location,
                    help: "set `training: {validation_split: 0.2}` or a `validation:` source, or monitor '\(monitor.value.dropFirst(4))'")
            }
        }
        if spec.loss.value.isClassification == false {
            for metric in spec.metrics where metric.value == .accuracy {
                diagnostics.warning(
                    "accuracy on a regression loss counts exact matches only", at: metric.location,
                    help: "use rmse or mae to judge a regression")
            }
        }
    }
}
