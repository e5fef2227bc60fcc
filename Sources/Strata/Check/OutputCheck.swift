import StrataEngine

/// Checks the model's last layer against the loss: the pairings that train silently wrong in other tools. A
/// cross-entropy is computed through the activation it names (`LossKind.outputActivation`), fused with it: the
/// model must end in that activation, exactly as the network will be built (`Spec.outputActivation`).
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
        let loss = spec.loss
        let output = spec.outputActivation
        if let needed = loss.value.outputActivation, output?.value != needed {
            refuseEnding(needing: needed)
            return
        }
        switch loss.value {
        case .categoricalCrossentropy, .sparseCategoricalCrossentropy:
            if width == 1 {
                diagnostics.error(
                    "softmax over 1 unit always outputs 1, so nothing can be learned", at: last.location,
                    help:
                        "use one unit per class, or for two classes `units: 1, activation: sigmoid` with binary_crossentropy"
                )
            }
        case .binaryCrossentropy:
            if width != 1 {
                diagnostics.error(
                    "binary_crossentropy wants one sigmoid unit, but \(name) has \(width)", at: last.location,
                    help: "set `units: 1`, or for \(width) classes use softmax with categorical_crossentropy")
            }
        case .mse, .mae:
            if let (_, activation) = spec.lastActivation, activation.value == .softmax {
                diagnostics.warning(
                    "\(loss.value.rawValue) on softmax outputs is unusual and learns slowly", at: activation.location,
                    help: "for classes use `loss: categorical_crossentropy`; for regression remove the softmax")
            }
        }
    }

    /// A cross-entropy whose model does not end in its activation: either the activation is missing or wrong, or
    /// layers follow it (a dropout after the softmax would rescale probabilities; nothing may come between).
    private mutating func refuseEnding(needing needed: ActivationKind) {
        guard let last = spec.layers.last else { return }
        let loss = spec.loss.value.rawValue
        let what = needed == .softmax ? "softmax probabilities" : "a sigmoid probability"
        if let (index, activation) = spec.lastActivation, activation.value == needed, index < spec.layers.count - 1 {
            let owner = spec.layers[index].name.value
            let after = spec.layers[(index + 1)...].map { "\($0.name.value) (\($0.typeName))" }.joined(separator: ", ")
            diagnostics.error(
                "\(loss) is computed through \(owner)'s \(needed.name), so the model must end there, but \(after) follow\(index + 2 == spec.layers.count ? "s" : "") it",
                at: spec.layers[index + 1].location,
                help:
                    "move \(spec.layers[index + 1].name.value) before \(owner): a dropout belongs between hidden layers, not after the output"
            )
            return
        }
        let ending = spec.outputActivation
        let owner = last.name.value
        let takesActivation = type(of: last.kind).keys.contains { $0.name == "activation" }
        let endsIn = ending?.value.name ?? (takesActivation ? "linear" : "a \(last.typeName) layer")
        diagnostics.error(
            "\(loss) needs \(what), but \(owner) ends in \(endsIn)", at: ending?.location ?? last.location,
            help: takesActivation || ending != nil
                ? "set `activation: \(needed.name)` on \(owner)"
                : "end the model with a dense layer with `activation: \(needed.name)`")
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
                let help =
                    closestMatch(to: monitor.value, in: names).map { "did you mean '\($0)'?" }
                    ?? "one of: \(names.joined(separator: ", "))"
                diagnostics.error(
                    "\(owner) monitors '\(monitor.value)', which is not computed", at: monitor.location, help: help)
            } else if monitor.value.hasPrefix("val_"), !hasValidation {
                diagnostics.error(
                    "\(owner) monitors '\(monitor.value)', but there is no validation data", at: monitor.location,
                    help:
                        "set `training: {validation_split: 0.2}` or a `validation:` source, or monitor '\(monitor.value.dropFirst(4))'"
                )
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
