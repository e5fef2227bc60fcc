/// A Caffe solver prototxt: the optimizer, its learning-rate policy, weight decay, the seed and the length of
/// training.
extension CaffeImport {
    /// Fields that steer Caffe's logging, testing and snapshots, not the training itself.
    static let solverBookkeeping: Set<String> = [
        "net", "train_net", "test_net", "test_iter", "test_interval", "test_initialization", "display",
        "average_loss", "snapshot", "snapshot_prefix", "snapshot_format", "snapshot_after_train", "solver_mode",
        "device_id", "debug_info", "snapshot_diff", "test_compute_loss", "net_param", "train_state", "test_state",
    ]

    mutating func solve(_ solver: SourceNode) {
        let n = { (key: String) in solver[key]?.number }
        let kind = solver["type"]?.text ?? solver["solver_type"]?.text ?? "SGD"
        var keys: [(String, String)] = []
        if let rate = n("base_lr") { keys.append(("learning_rate", YAMLText.number(rate))) }
        switch kind.uppercased() {
        case "SGD", "NESTEROV":
            spec.optimizer = "sgd"
            if let momentum = n("momentum"), momentum > 0 { keys.append(("momentum", YAMLText.number(momentum))) }
            if kind.uppercased() == "NESTEROV" { keys.append(("nesterov", "true")) }
        case "ADAM":
            spec.optimizer = "adam"
            keys += [
                ("beta_1", YAMLText.number(n("momentum") ?? 0.9)), ("beta_2", YAMLText.number(n("momentum2") ?? 0.999)),
                ("epsilon", YAMLText.number(n("delta") ?? 1e-8)),
            ]
        case "RMSPROP":
            spec.optimizer = "rmsprop"
            keys += [
                ("rho", YAMLText.number(n("rms_decay") ?? 0.99)), ("epsilon", YAMLText.number(n("delta") ?? 1e-8)),
            ]
        default:
            spec.error(
                "the \(kind) solver has no Strata equivalent", at: (solver["type"] ?? solver["solver_type"])?.location,
                help: "Strata imports SGD, Nesterov, Adam and RMSProp solvers")
        }
        if let schedule = schedule(solver) { keys.append(("schedule", schedule)) }
        spec.optimizerKeys = keys
        spec.optimizerNote = "from \(fileName(solver.location.file))"
        weightDecay(solver)
        if let seed = solver["random_seed"]?.integer, seed >= 0 { spec.seed = seed }
        if let clip = solver["clip_gradients"], (clip.number ?? 0) > 0 {
            spec.error(
                "clip_gradients has no Strata equivalent", at: clip.location, help: "Strata does not clip gradients")
        }
        if let iterSize = solver["iter_size"], (iterSize.integer ?? 1) != 1 {
            spec.error(
                "iter_size \(iterSize.described) (gradients accumulated over batches) has no Strata equivalent",
                at: iterSize.location, help: "set the batch size to batch × iter_size instead")
        }
        epochs(solver)
        let known: Set<String> = [
            "base_lr", "lr_policy", "gamma", "power", "stepsize", "stepvalue", "max_iter", "momentum", "momentum2",
            "delta", "rms_decay", "weight_decay", "regularization_type", "type", "solver_type", "random_seed",
            "clip_gradients", "iter_size",
        ]
        for field in solver.fields where !known.contains(field.key) && !Self.solverBookkeeping.contains(field.key) {
            spec.warning(
                "solver field \(field.key) has no Strata equivalent and is not imported", at: field.keyLocation)
        }
    }

    /// lr_policy as a Strata schedule (nil for fixed).
    private mutating func schedule(_ solver: SourceNode) -> String? {
        let policy = solver["lr_policy"]?.text ?? "fixed"
        let gamma = solver["gamma"]?.number.map(YAMLText.number)
        switch policy {
        case "fixed": return nil
        case "step":
            if let gamma, let size = solver["stepsize"]?.integer, size >= 1 {
                return "{step: {decay_steps: \(size), decay_rate: \(gamma)}}"
            }
        case "exp":
            if let gamma { return "{exponential: {decay_steps: 1, decay_rate: \(gamma)}}" }
        case "inv":
            if let gamma, let power = solver["power"]?.number {
                return "{inverse_time: {decay_steps: 1, decay_rate: \(gamma), power: \(YAMLText.number(power))}}"
            }
        case "multistep":
            let steps = solver.all("stepvalue").compactMap(\.integer)
            if let gamma, !steps.isEmpty {
                return "{multistep: {boundaries: \(YAMLText.list(steps.map(String.init))), decay_rate: \(gamma)}}"
            }
        default:
            spec.error(
                "lr_policy \(policy) has no Strata equivalent", at: solver["lr_policy"]?.location,
                help: "Strata imports fixed, step, exp, inv and multistep")
            return nil
        }
        spec.error(
            "lr_policy \(policy) needs its parameters (gamma, and stepsize, power or stepvalue)",
            at: solver["lr_policy"]?.location)
        return nil
    }

    /// Caffe adds weight_decay·w (L2) or weight_decay·sign(w) (L1) to each gradient: the gradient of Strata's
    /// kernel_regularizer {l2: decay/2} or {l1: decay}, given to every layer with a kernel.
    private mutating func weightDecay(_ solver: SourceNode) {
        guard let node = solver["weight_decay"], let decay = node.number, decay > 0 else { return }
        let type = solver["regularization_type"]?.text ?? "L2"
        guard type == "L2" || type == "L1" else {
            return spec.error(
                "regularization_type \(type) has no Strata equivalent", at: solver["regularization_type"]?.location)
        }
        let value = type == "L2" ? "{l2: \(YAMLText.number(decay / 2))}" : "{l1: \(YAMLText.number(decay))}"
        for index in weighted where index < spec.layers.count {
            spec.layers[index].keys.append(("kernel_regularizer", value))
        }
        spec.warning(
            "weight_decay is imported as each layer's kernel_regularizer \(value): Caffe decays the biases too, Strata's regularizer only the kernels, and Strata's reported loss includes the penalty",
            at: node.location)
    }

    private mutating func epochs(_ solver: SourceNode) {
        guard let node = solver["max_iter"], let steps = node.integer, steps >= 1 else { return }
        spec.setEpochs(
            steps: steps, batch: spec.batchSize ?? 32, examples: options.trainExamples, what: "max_iter",
            at: node.location)
    }
}

/// A number with two decimals, for messages.
func formatTwo(_ x: Double) -> String {
    let hundredths = Int((x * 100).rounded())
    let fraction = String(hundredths % 100)
    return "\(hundredths / 100).\(fraction.count == 1 ? "0" + fraction : fraction)"
}
