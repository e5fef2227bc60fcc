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
        let keys = kind == "cosine" ? ["decay_steps", "alpha"] : ["decay_steps", "decay_rate"]
        guard let body else {
            reader.error(
                "schedule '\(kind)' needs its parameters: \(keys.joined(separator: ", "))", at: kindNode,
                help: kind == "cosine"
                    ? "e.g. `cosine: {decay_steps: 1000}`" : "e.g. `\(kind): {decay_steps: 1000, decay_rate: 0.5}`")
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
        return Located(
            kind == "step"
                ? .step(decaySteps: steps, decayRate: rate) : .exponential(decaySteps: steps, decayRate: rate),
            at: location)
    }
}
