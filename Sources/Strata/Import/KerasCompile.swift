/// The compile settings a `.keras` archive keeps (`compile_config`): loss, metrics, optimizer and its
/// learning-rate schedule, in Strata's words.
struct KerasCompile {
    var spec: ImportedSpec

    mutating func run(_ compile: SourceNode) {
        loss(compile["loss"], at: compile.location)
        metrics(compile["metrics"])
        optimizer(compile["optimizer"], at: compile.location)
        for key in ["loss_weights", "weighted_metrics"] {
            if let node = compile[key], !node.isNull {
                spec.error(
                    "\(key) has no Strata equivalent", at: node.location, help: "Strata trains one output with one loss"
                )
            }
        }
    }

    private mutating func loss(_ node: SourceNode?, at location: SourceLocation) {
        guard let node, !node.isNull else {
            return spec.error("the compile settings have no loss", at: location)
        }
        let (name, settings) = KerasLayerReader.classAndConfig(node)
        guard let name, let strata = KerasNames.losses[name] else {
            return spec.error(
                "loss \(name ?? node.described) has no Strata equivalent", at: node.location,
                help:
                    "Strata's losses: mse, mae, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy"
            )
        }
        spec.loss = strata
        if let smoothing = settings?["label_smoothing"], let value = smoothing.number, value != 0 {
            spec.error("label_smoothing \(smoothing.described) has no Strata equivalent", at: smoothing.location)
        }
        if settings?["from_logits"]?.bool == true { fromLogits(strata, at: settings?["from_logits"]?.location) }
    }

    /// Strata computes a cross-entropy from the logits of the activation the model ends in, so a Keras loss
    /// `from_logits` over a linear output becomes that activation on the output: the same training, but
    /// predictions are probabilities rather than logits.
    private mutating func fromLogits(_ loss: String, at location: SourceLocation?) {
        let function = loss == "binary_crossentropy" ? "sigmoid" : "softmax"
        guard var last = spec.layers.popLast() else { return }
        if let index = last.keys.firstIndex(where: { $0.0 == "activation" }) {
            spec.error(
                "the loss is computed from logits, but the last layer already ends in \(last.keys[index].1)",
                at: location)
        } else if ["dense", "conv2d"].contains(last.kind) {
            last.keys.insert(("activation", function), at: min(1, last.keys.count))
        } else if last.kind == "activation", last.keys.first?.1 == "linear" {
            last.keys = [("function", function)]
        } else {
            spec.layers.append(last)
            last = ImportedSpec.Layer(
                kind: "activation", keys: [("function", function)], origin: location, source: "from_logits")
        }
        spec.layers.append(last)
        spec.warning(
            "the loss is computed from logits: the output gets a \(function), as Strata's \(loss) needs; training is the same, but predictions are probabilities",
            at: location)
    }

    private mutating func metrics(_ node: SourceNode?) {
        guard let node, !node.isNull else { return }
        // Keras 3 may nest the list per output: [["accuracy"]].
        let items = node.array.map { $0.flatMap { $0.array ?? [$0] } } ?? [node]
        for item in items {
            let name = KerasLayerReader.classAndConfig(item).0
            guard let name, let strata = KerasNames.metrics[name] else {
                spec.warning(
                    "metric \(name ?? item.described) has no Strata equivalent and is left out", at: item.location,
                    help: "Strata reports accuracy, mse, rmse, mae")
                continue
            }
            if !spec.metrics.contains(strata) { spec.metrics.append(strata) }
        }
    }

    private mutating func optimizer(_ node: SourceNode?, at location: SourceLocation) {
        guard let node, !node.isNull else { return spec.error("the compile settings have no optimizer", at: location) }
        let (name, settings) = KerasLayerReader.classAndConfig(node)
        let kinds = [
            "SGD": "sgd", "sgd": "sgd", "Adam": "adam", "adam": "adam", "AdamW": "adamw", "adamw": "adamw",
            "RMSprop": "rmsprop", "rmsprop": "rmsprop",
        ]
        guard let name, let kind = kinds[name] else {
            return spec.error(
                "optimizer \(name ?? node.described) has no Strata equivalent", at: node.location,
                help: "Strata's optimizers: sgd, adam, adamw, rmsprop")
        }
        spec.optimizer = kind
        guard let settings else { return }
        var keys: [(String, String)] = []
        if let rate = settings["learning_rate"] ?? settings["lr"] { keys += learningRate(rate) }
        let carried =
            [
                "sgd": ["momentum", "nesterov"], "adam": ["beta_1", "beta_2", "epsilon"],
                "adamw": ["beta_1", "beta_2", "epsilon"], "rmsprop": ["rho", "momentum", "epsilon"],
            ][kind] ?? []
        for key in carried {
            guard let value = settings[key], !value.isNull else { continue }
            if let b = value.bool {
                keys.append((key, b ? "true" : "false"))
            } else if let x = value.number {
                keys.append((key, YAMLText.number(x)))
            }
        }
        if let decay = settings["weight_decay"], let x = decay.number, x > 0 {
            if kind == "rmsprop" {
                spec.error("rmsprop's weight_decay has no Strata equivalent", at: decay.location)
            } else {
                keys.append(("weight_decay", YAMLText.number(x)))
            }
        }
        // Keras 2's `decay`: lr / (1 + decay·t).
        if let decay = settings["decay"], let x = decay.number, x > 0 {
            keys.append(("schedule", "{inverse_time: {decay_steps: 1, decay_rate: \(YAMLText.number(x))}}"))
        }
        for key in ["clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor", "gradient_accumulation_steps"] {
            if let value = settings[key], !value.isNull {
                spec.error(
                    "\(key) has no Strata equivalent", at: value.location,
                    help: "Strata does not clip or accumulate gradients")
            }
        }
        for key in ["use_ema", "amsgrad", "centered"] where settings[key]?.bool == true {
            spec.error("\(key) has no Strata equivalent", at: settings[key]?.location)
        }
        spec.optimizerKeys = keys
    }

    /// A number, or a Keras schedule object: learning_rate and schedule keys.
    private mutating func learningRate(_ node: SourceNode) -> [(String, String)] {
        if let x = node.number { return [("learning_rate", YAMLText.number(x))] }
        let (name, settings) = KerasLayerReader.classAndConfig(node)
        let n = { (key: String) in settings?[key]?.number.map(YAMLText.number) }
        guard let initial = n("initial_learning_rate") else {
            spec.error("learning_rate \(name ?? node.described) has no Strata equivalent", at: node.location)
            return []
        }
        let rate = [("learning_rate", initial)]
        switch name {
        case "ExponentialDecay":
            if let steps = n("decay_steps"), let decay = n("decay_rate") {
                let kind = settings?["staircase"]?.bool == true ? "step" : "exponential"
                return rate + [("schedule", "{\(kind): {decay_steps: \(steps), decay_rate: \(decay)}}")]
            }
        case "InverseTimeDecay":
            if settings?["staircase"]?.bool == true { break }
            if let steps = n("decay_steps"), let decay = n("decay_rate") {
                return rate + [("schedule", "{inverse_time: {decay_steps: \(steps), decay_rate: \(decay)}}")]
            }
        case "CosineDecay":
            if let warmup = settings?["warmup_steps"]?.number, warmup > 0 { break }
            if let steps = n("decay_steps") {
                return rate + [("schedule", "{cosine: {decay_steps: \(steps), alpha: \(n("alpha") ?? "0")}}")]
            }
        default: break
        }
        spec.error(
            "learning-rate schedule \(name ?? node.described) with these settings has no Strata equivalent",
            at: node.location,
            help: "Strata's schedules: ExponentialDecay, InverseTimeDecay, CosineDecay without warm-up")
        return rate
    }
}
