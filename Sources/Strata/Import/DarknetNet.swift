/// Darknet's [net] section: input size, batch, optimizer, learning-rate policy, length of training.
extension DarknetImport {
    /// Augmentation settings: the data is prepared that way before training in Strata.
    static let augmentation: Set<String> = [
        "angle", "saturation", "exposure", "hue", "aspect", "jitter", "min_crop", "max_crop", "flip", "mixup",
        "blur", "mosaic", "letter_box", "cutmix",
    ]

    mutating func net(_ section: DarknetReader.Section) {
        var reader = DarknetValues(section: section, spec: spec)
        let batch = reader.integer("batch", 1, atLeast: 1)
        _ = reader.integer("subdivisions", 1, atLeast: 1)  // splits a batch for memory only; the update is per batch
        reader.spec.batchSize = batch
        if reader.has("width") || reader.has("height") {
            reader.spec.input = [
                reader.integer("height", 0, atLeast: 1), reader.integer("width", 0, atLeast: 1),
                reader.integer("channels", 0, atLeast: 1),
            ]
        } else if reader.has("inputs") {
            reader.spec.input = [reader.integer("inputs", 0, atLeast: 1)]
        } else {
            reader.fail(nil, "[net] gives no input size", help: "set width, height and channels (or inputs)")
        }
        shape = reader.spec.input
        var keys = [("learning_rate", reader.number("learning_rate", 0.001, above: 0))]
        let momentum = reader.number("momentum", 0.9, above: -1, below: 1)
        if momentum != "0" { keys.append(("momentum", momentum)) }
        if let schedule = schedule(&reader) { keys.append(("schedule", schedule)) }
        reader.spec.optimizer = "sgd"
        reader.spec.optimizerKeys = keys
        reader.spec.optimizerNote = "from [net]"
        if let burnIn = section.values["burn_in"], (burnIn.integer ?? 0) > 0 {
            _ = reader.integer("burn_in", 0)
            reader.warn(
                "burn_in",
                "burn_in (a warm-up of the learning rate) has no Strata equivalent: training starts at the full rate")
        }
        decay(&reader)
        maxBatches(&reader, batch: batch)
        let augmented = section.values.fields.filter { Self.augmentation.contains($0.key) }
        if let first = augmented.first {
            reader.warn(
                first.key,
                "augmentation (\(augmented.map(\.key).joined(separator: ", "))) is not imported: Strata trains on the data as given"
            )
        }
        reader.warnUnused(ignoring: Self.augmentation)
        spec = reader.spec
    }

    private mutating func schedule(_ reader: inout DarknetValues) -> String? {
        let policy = reader.word("policy", "constant")
        switch policy {
        case "constant": return nil
        case "step":
            let step = reader.integer("step", 1, atLeast: 1)
            return "{step: {decay_steps: \(step), decay_rate: \(reader.number("scale", 1, above: 0))}}"
        case "exp": return "{exponential: {decay_steps: 1, decay_rate: \(reader.number("gamma", 1, above: 0))}}"
        case "inv":
            return
                "{inverse_time: {decay_steps: 1, decay_rate: \(reader.number("gamma", 1, above: 0)), power: \(reader.number("power", 1, above: 0))}}"
        case "steps":
            guard let steps = reader.numbers("steps"), let scales = reader.numbers("scales"), !steps.isEmpty,
                steps.count == scales.count
            else {
                reader.fail("policy", "policy=steps needs steps= and scales= of the same length")
                return nil
            }
            guard Set(scales).count == 1, let scale = scales.first, scale > 0, scale <= 1 else {
                reader.fail(
                    "scales",
                    "scales=\(scales.map(YAMLText.number).joined(separator: ",")) differ; Strata's multistep schedule multiplies by one rate at each step"
                )
                return nil
            }
            return
                "{multistep: {boundaries: \(YAMLText.list(steps.map(YAMLText.number))), decay_rate: \(YAMLText.number(scale))}}"
        default:
            reader.fail(
                "policy", "policy=\(policy) has no Strata equivalent",
                help: "Strata imports constant, step, exp, inv and steps")
            return nil
        }
    }

    /// Darknet subtracts decay·w through the momentum each step: the gradient of kernel_regularizer {l2: decay/2}.
    private mutating func decay(_ reader: inout DarknetValues) {
        let decay = Double(reader.number("decay", 0.0001)) ?? 0
        guard decay > 0 else { return }
        let value = "{l2: \(YAMLText.number(decay / 2))}"
        pendingDecay = value
        reader.warn(
            "decay",
            "decay is imported as each layer's kernel_regularizer \(value); Strata's reported loss includes the penalty"
        )
    }

    private mutating func maxBatches(_ reader: inout DarknetValues, batch: Int) {
        let steps = reader.integer("max_batches", 0, atLeast: 0)
        guard steps > 0 else { return }
        reader.spec.setEpochs(
            steps: steps, batch: batch, examples: options.trainExamples, what: "max_batches",
            at: reader.location("max_batches"))
    }
}
