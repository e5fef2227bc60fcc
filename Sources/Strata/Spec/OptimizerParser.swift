import Yams

extension SpecBuilder {
    private static let optimizerKeys: [String: [String]] = [
        "sgd": ["learning_rate", "momentum", "nesterov", "weight_decay", "schedule"],
        "adam": ["learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay", "schedule"],
        "rmsprop": ["learning_rate", "rho", "momentum", "epsilon", "schedule"],
    ]
    /// Keras' default learning rates.
    private static let defaultLearningRate = ["sgd": 0.01, "adam": 0.001, "rmsprop": 0.001]

    func parseOptimizer(_ node: Node) -> OptimizerSpec? {
        guard let (kind, kindNode, body) = reader.tagged(node, what: "optimizer", kinds: OptimizerKind.names) else { return nil }
        let location = reader.location(kindNode)
        var fields: Fields?
        if let body {
            fields = reader.fields(body, what: "\(kind) optimizer", keys: Self.optimizerKeys[kind]!)
            if fields == nil { return nil }
        }
        var ok = true
        func number(_ key: String, _ fallback: Double, check: (Node) -> Double?) -> Double {
            guard let node = fields?[key] else { return fallback }
            guard let value = check(node) else { ok = false; return fallback }
            return value
        }
        func flag(_ key: String) -> Bool {
            guard let node = fields?[key] else { return false }
            guard let value = reader.bool(node, what: key) else { ok = false; return false }
            return value
        }
        let lrHelp = "a typical learning_rate is 0.001 to 0.1"
        let learningRate = number("learning_rate", Self.defaultLearningRate[kind]!) {
            reader.double($0, what: "learning_rate", above: 0, help: lrHelp)
        }
        let lrLocation = fields?["learning_rate"].map(reader.location) ?? location
        let momentum = number("momentum", 0) { reader.double($0, what: "momentum", atLeast: 0, below: 1) }
        let weightDecay = number("weight_decay", 0) { reader.double($0, what: "weight_decay", atLeast: 0) }
        let epsilon = number("epsilon", kind == "adam" ? 1e-7 : 1e-7) { reader.double($0, what: "epsilon", above: 0) }
        let optimizer: OptimizerKind
        switch kind {
        case "sgd":
            optimizer = .sgd(momentum: momentum, nesterov: flag("nesterov"), weightDecay: weightDecay)
            if let node = fields?["nesterov"], flag("nesterov"), momentum == 0 {
                reader.diagnostics.warning("nesterov has no effect without momentum", at: reader.location(node), help: "set `momentum: 0.9`")
            }
        case "adam":
            let beta1 = number("beta_1", 0.9) { reader.double($0, what: "beta_1", atLeast: 0, below: 1) }
            let beta2 = number("beta_2", 0.999) { reader.double($0, what: "beta_2", atLeast: 0, below: 1) }
            optimizer = .adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
        default:
            let rho = number("rho", 0.9) { reader.double($0, what: "rho", atLeast: 0, below: 1) }
            optimizer = .rmsprop(rho: rho, momentum: momentum, epsilon: epsilon)
        }
        let schedule = fields?["schedule"].map(parseSchedule)
        if schedule.map({ $0 == nil }) == true { ok = false }
        guard ok else { return nil }
        return OptimizerSpec(
            kind: Located(optimizer, at: location), learningRate: Located(learningRate, at: lrLocation),
            schedule: schedule ?? nil)
    }

    private func parseSchedule(_ node: Node) -> Located<ScheduleKind>? {
        guard let (kind, kindNode, body) = reader.tagged(node, what: "schedule", kinds: ScheduleKind.names) else { return nil }
        let keys = kind == "cosine" ? ["decay_steps", "alpha"] : ["decay_steps", "decay_rate"]
        guard let body else {
            reader.error("schedule '\(kind)' needs its parameters: \(keys.joined(separator: ", "))", at: kindNode,
                         help: kind == "cosine" ? "e.g. `cosine: {decay_steps: 1000}`" : "e.g. `\(kind): {decay_steps: 1000, decay_rate: 0.5}`")
            return nil
        }
        guard let fields = reader.fields(body, what: "\(kind) schedule", keys: keys) else { return nil }
        let steps = fields.required("decay_steps", help: "how many optimizer steps (batches) one decay period lasts")
            .flatMap { reader.int($0, what: "decay_steps", range: 1...Int.max) }
        let location = reader.location(kindNode)
        if kind == "cosine" {
            let alpha = fields["alpha"].map { reader.double($0, what: "alpha", atLeast: 0, atMost: 1) } ?? 0
            guard let steps, let alpha else { return nil }
            return Located(.cosine(decaySteps: steps, alpha: alpha), at: location)
        }
        let rate = fields.required("decay_rate", help: "the factor applied per period, e.g. 0.5")
            .flatMap { reader.double($0, what: "decay_rate", above: 0, atMost: 1) }
        guard let steps, let rate else { return nil }
        return Located(kind == "step" ? .step(decaySteps: steps, decayRate: rate) : .exponential(decaySteps: steps, decayRate: rate), at: location)
    }
}
