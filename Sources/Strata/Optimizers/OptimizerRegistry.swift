import StrataEngine

/// Everything Strata knows about one optimizer word of a spec: its keys with Keras' defaults, the engine kind it
/// builds, its explain text. The parser, the schema, the docs and `explain` ask it.
public struct OptimizerDescriptor: Sendable {
    public let name: String
    public let summary: String
    public let keys: [KeyRule]
    let build: @Sendable (LayerArguments) -> OptimizerKind

    static func learningRate(_ value: Double) -> KeyRule {
        KeyRule(
            "learning_rate", .number(NumberBounds(above: 0)), .value(.number(value)), "the step size η",
            help: "a typical learning_rate is 0.001 to 0.1")
    }
    static let schedule = KeyRule(
        "schedule", .schedule, .derived("constant"), "how the learning rate changes over steps")
    static let fraction = NumberBounds(atLeast: 0, below: 1)
    static let momentum = KeyRule(
        "momentum", .number(fraction), .value(.number(0)), "the fraction of the last step kept")
    static let epsilon = KeyRule(
        "epsilon", .number(NumberBounds(above: 0)), .value(.number(1e-7)), "keeps the division finite")

    static func decay(_ value: Double) -> KeyRule {
        KeyRule(
            "weight_decay", .number(NumberBounds(atLeast: 0)), .value(.number(value)),
            "decoupled weight decay: w ← w − η·decay·w each step")
    }

    static func adam(_ name: String, weightDecay: Double, summary: String) -> OptimizerDescriptor {
        OptimizerDescriptor(
            name: name, summary: summary,
            keys: [
                learningRate(0.001),
                KeyRule("beta_1", .number(fraction), .value(.number(0.9)), "decay of the mean of gradients"),
                KeyRule("beta_2", .number(fraction), .value(.number(0.999)), "decay of the mean of squared gradients"),
                epsilon,
                decay(weightDecay),
                KeyRule(
                    "epsilon_form", .word(OptimizerKind.EpsilonForm.allCases.map(\.rawValue)), .value(.word("keras")),
                    "`keras` adds ε to √v before the bias correction; `pytorch` after it"),
                schedule,
            ],
            build: { a in
                .adam(
                    beta1: Float(a.number("beta_1").value), beta2: Float(a.number("beta_2").value),
                    epsilon: Float(a.number("epsilon").value), weightDecay: Float(a.number("weight_decay").value),
                    epsilonForm: OptimizerKind.EpsilonForm(rawValue: a.word("epsilon_form")) ?? .keras)
            })
    }

    /// Every optimizer a spec may name.
    public static let all: [OptimizerDescriptor] = [
        OptimizerDescriptor(
            name: "sgd", summary: "gradient descent, with optional (Nesterov) momentum",
            keys: [
                learningRate(0.01), momentum,
                KeyRule("nesterov", .boolean, .value(.boolean(false)), "Nesterov's look-ahead momentum"),
                decay(0), schedule,
            ],
            build: { a in
                .sgd(
                    momentum: Float(a.number("momentum").value), nesterov: a.boolean("nesterov"),
                    weightDecay: Float(a.number("weight_decay").value))
            }),
        adam("adam", weightDecay: 0, summary: "adaptive moments (Keras' form)"),
        adam(
            "adamw", weightDecay: 0.004,
            summary: "adam with decoupled weight decay, Keras' defaults (weight_decay 0.004)"),
        OptimizerDescriptor(
            name: "rmsprop", summary: "divides by a moving root mean square of the gradients",
            keys: [
                learningRate(0.001),
                KeyRule("rho", .number(fraction), .value(.number(0.9)), "decay of the mean of squared gradients"),
                momentum, epsilon, schedule,
            ],
            build: { a in
                .rmsprop(
                    rho: Float(a.number("rho").value), momentum: Float(a.number("momentum").value),
                    epsilon: Float(a.number("epsilon").value))
            }),
    ]

    public static func named(_ name: String) -> OptimizerDescriptor? { all.first { $0.name == name } }
}

extension OptimizerSpec {
    /// `strata explain`'s lines: the update as formulas, and the schedule.
    public var explained: [String] {
        let lr = format(learningRate.value)
        // Through the Float's shortest decimal, so 0.9 reads 0.9 and not 0.8999999761581421.
        func f(_ x: Float) -> String { format(Double("\(x)") ?? Double(x)) }
        var lines: [String]
        switch kind.value {
        case .sgd(let momentum, let nesterov, let decay):
            if momentum == 0 {
                lines = ["sgd (gradient descent): w ← w − η·∇L, η = \(lr)"]
            } else if nesterov {
                lines = [
                    "sgd with Nesterov momentum: v ← μ·v − η·∇L, w ← w + μ·v − η·∇L, η = \(lr), μ = \(f(momentum))"
                ]
            } else {
                lines = ["sgd with momentum: v ← μ·v − η·∇L, w ← w + v, η = \(lr), μ = \(f(momentum))"]
            }
            if decay > 0 { lines.append("weight decay: w ← w − η·\(f(decay))·w before each update") }
        case .adam(let b1, let b2, let epsilon, let decay, let form):
            lines = ["\(name): m ← β₁·m + (1 − β₁)·∇L, v ← β₂·v + (1 − β₂)·(∇L)²"]
            let constants = "η = \(lr), β₁ = \(f(b1)), β₂ = \(f(b2)), ε = \(epsilon)"
            switch form {
            case .keras: lines.append("w ← w − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε), \(constants)")
            case .pytorch:
                lines.append("w ← w − η·m̂ / (√v̂ + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ) (PyTorch's form), \(constants)")
            }
            if decay > 0 { lines.append("decoupled weight decay (AdamW): w ← w − η·\(f(decay))·w before each update") }
        case .rmsprop(let rho, let momentum, let epsilon):
            lines = ["rmsprop: v ← ρ·v + (1 − ρ)·(∇L)², Δ = η·∇L / √(v + ε), η = \(lr), ρ = \(f(rho)), ε = \(epsilon)"]
            lines.append(momentum > 0 ? "with momentum: m ← \(f(momentum))·m + Δ, w ← w − m" : "w ← w − Δ")
        }
        if let schedule = schedule?.value {
            switch schedule {
            case .constant: break
            case .step(let steps, let rate): lines.append("learning rate at step t: η·\(format(rate))^⌊t / \(steps)⌋")
            case .exponential(let steps, let rate):
                lines.append("learning rate at step t: η·\(format(rate))^(t / \(steps))")
            case .cosine(let steps, let alpha):
                let cosine = "½(1 + cos(π·min(t, \(steps))/\(steps)))"
                lines.append(
                    "learning rate at step t: η·"
                        + (alpha == 0
                            ? "\(cosine), 0 from step \(steps) on"
                            : "(\(format(alpha)) + (1 − \(format(alpha)))·\(cosine))"))
            case .inverseTime(let steps, let rate, let power):
                lines.append("learning rate at step t: η·(1 + \(format(rate))·t / \(steps))^−\(format(power))")
            case .multistep(let boundaries, let rate):
                let list = boundaries.map(String.init).joined(separator: ", ")
                lines.append("learning rate at step t: η·\(format(rate))^(how many of \(list) are ≤ t)")
            }
        }
        return lines
    }
}
