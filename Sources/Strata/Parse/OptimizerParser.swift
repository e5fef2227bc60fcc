import Yams

import StrataEngine

extension SpecBuilder {
    /// An optimizer word and its keys, read by the optimizer's descriptor.
    func parseOptimizer(_ node: Node) -> OptimizerSpec? {
        let names = OptimizerDescriptor.all.map(\.name)
        guard let (word, kindNode, body) = reader.tagged(node, what: "optimizer", kinds: names),
            let descriptor = OptimizerDescriptor.named(word)
        else { return nil }
        let location = reader.location(kindNode)
        var fields: Fields?
        if let body {
            fields = reader.fields(body, what: "\(word) optimizer", keys: descriptor.keys.map(\.name))
            if fields == nil { return nil }
        }
        var given: [String: Located<KeyValue>] = [:]
        var ok = true
        for rule in descriptor.keys {
            guard let valueNode = fields?[rule.name] else { continue }
            guard let value = keyValue(valueNode, rule) else {
                ok = false
                continue
            }
            given[rule.name] = value
        }
        guard ok else { return nil }
        let arguments = LayerArguments(rules: descriptor.keys, given: given, location: location)
        let kind = descriptor.build(arguments)
        if case .sgd(let momentum, true, _) = kind, momentum == 0, let node = fields?["nesterov"] {
            reader.diagnostics.warning(
                "nesterov has no effect without momentum", at: reader.location(node), help: "set `momentum: 0.9`")
        }
        return OptimizerSpec(
            name: word, kind: Located(kind, at: location), learningRate: arguments.number("learning_rate"),
            schedule: arguments.schedule("schedule"))
    }

    func parseSchedule(_ node: Node) -> Located<Schedule>? {
        guard let (kind, kindNode, body) = reader.tagged(node, what: "schedule", kinds: Schedule.names) else {
            return nil
        }
        let (keys, example) = Self.scheduleKeys[kind] ?? ([], "")
        guard let body else {
            reader.error(
                "schedule '\(kind)' needs its parameters: \(keys.joined(separator: ", "))", at: kindNode,
                help: "e.g. `\(kind): {\(example)}`")
            return nil
        }
        guard let fields = reader.fields(body, what: "\(kind) schedule", keys: keys) else { return nil }
        let location = reader.location(kindNode)
        let rate = { (atMost: Double?) in
            fields.required("decay_rate", help: "the factor of each decay, e.g. 0.5")
                .flatMap { self.reader.double($0, what: "decay_rate", above: 0, atMost: atMost) }
        }
        if kind == "multistep" {
            let boundaries = fields.required("boundaries", help: "the steps at which the rate falls, e.g. [5000, 8000]")
                .flatMap(parseBoundaries)
            guard let boundaries, let rate = rate(1) else { return nil }
            return Located(.multistep(boundaries: boundaries, decayRate: rate), at: location)
        }
        let steps = fields.required("decay_steps", help: "how many optimizer steps (batches) one decay period lasts")
            .flatMap { reader.int($0, what: "decay_steps", range: 1...Int.max) }
        switch kind {
        case "cosine":
            let alpha = fields["alpha"].map { reader.double($0, what: "alpha", atLeast: 0, atMost: 1) } ?? 0
            guard let steps, let alpha else { return nil }
            return Located(.cosine(decaySteps: steps, alpha: alpha), at: location)
        case "inverse_time":
            let power = fields["power"].map { reader.double($0, what: "power", above: 0) } ?? 1
            guard let steps, let rate = rate(nil), let power else { return nil }
            return Located(.inverseTime(decaySteps: steps, decayRate: rate, power: power), at: location)
        default:
            guard let steps, let rate = rate(1) else { return nil }
            return Located(
                kind == "step"
                    ? .step(decaySteps: steps, decayRate: rate) : .exponential(decaySteps: steps, decayRate: rate),
                at: location)
        }
    }

    /// Each schedule's keys, and an example body for the help of a bare schedule.
    static let scheduleKeys: [String: (keys: [String], example: String)] = [
        "step": (["decay_steps", "decay_rate"], "decay_steps: 1000, decay_rate: 0.5"),
        "exponential": (["decay_steps", "decay_rate"], "decay_steps: 1000, decay_rate: 0.5"),
        "cosine": (["decay_steps", "alpha"], "decay_steps: 1000"),
        "inverse_time": (["decay_steps", "decay_rate", "power"], "decay_steps: 1, decay_rate: 0.0001, power: 0.75"),
        "multistep": (["boundaries", "decay_rate"], "boundaries: [5000, 8000], decay_rate: 0.1"),
    ]

    /// Steps at which a multistep schedule's rate falls: whole numbers ≥ 1, increasing.
    private func parseBoundaries(_ node: Node) -> [Int]? {
        guard let items = reader.sequence(node, what: "boundaries") else { return nil }
        guard !items.isEmpty else {
            reader.error("boundaries is empty", at: node, help: "list the steps at which the rate falls, e.g. [5000]")
            return nil
        }
        var boundaries: [Int] = []
        for item in items {
            guard let step = reader.int(item, what: "a boundary", range: 1...Int.max) else { return nil }
            if let last = boundaries.last, step <= last {
                reader.error(
                    "boundary \(step) does not come after \(last)", at: item,
                    help: "list the boundaries in increasing order")
                return nil
            }
            boundaries.append(step)
        }
        return boundaries
    }
}
