import Foundation

public enum OptimizerKind: Sendable, Equatable {
    case sgd(momentum: Float, nesterov: Bool, weightDecay: Float)
    case adam(beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float)
    case rmsprop(rho: Float, momentum: Float, epsilon: Float)
}

/// Learning-rate schedules over optimizer steps, as Keras defines them.
public enum Schedule: Sendable, Equatable {
    case constant
    case step(decaySteps: Int, decayRate: Double)
    case exponential(decaySteps: Int, decayRate: Double)
    case cosine(decaySteps: Int, alpha: Double)

    public func learningRate(base: Double, step: Int) -> Double {
        switch self {
        case .constant: return base
        case .step(let steps, let rate): return base * pow(rate, Double(step / steps))
        case .exponential(let steps, let rate): return base * pow(rate, Double(step) / Double(steps))
        case .cosine(let steps, let alpha):
            let progress = Double(min(step, steps)) / Double(steps)
            return base * (alpha + (1 - alpha) * 0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}

/// Updates parameters from their gradients, keeping per-parameter slots (velocities, moments).
/// Update rules follow Keras 3; weight decay is decoupled (w ← w − lr·wd·w before the update, as in AdamW).
public final class Optimizer: @unchecked Sendable {
    public let kind: OptimizerKind
    public let parameters: [Parameter]
    /// Slot tensors per parameter, in a fixed order: sgd [velocity] (with momentum), adam [m, v],
    /// rmsprop [velocity] or [velocity, momentum].
    public let slots: [[Tensor]]
    public let slotNames: [String]
    /// Updates applied so far; Adam's bias correction and the schedules count from it.
    public var iterations: Int = 0
    /// Large parameters are updated in this many element ranges at once (elementwise, so bits never change).
    public var threads = 1

    public init(kind: OptimizerKind, parameters: [Parameter]) {
        self.kind = kind
        self.parameters = parameters
        let names: [String]
        switch kind {
        case .sgd(let momentum, _, _): names = momentum > 0 ? ["velocity"] : []
        case .adam: names = ["m", "v"]
        case .rmsprop(_, let momentum, _): names = momentum > 0 ? ["velocity", "momentum"] : ["velocity"]
        }
        slotNames = names
        slots = parameters.map { p in names.map { _ in Tensor(shape: p.value.shape) } }
    }

    /// One update of every parameter with learning rate `rate`, then each gradient cleared for the next step:
    /// the step's one clearing, done while the gradient is still in cache from the update that read it.
    public func step(learningRate rate: Float) {
        iterations += 1
        for (index, parameter) in parameters.enumerated() {
            let count = parameter.value.count
            let parts = count >= 1 << 16 ? threads : 1
            Parallel.run(parts) { part in
                let share = Parallel.share(part, of: parts, count)
                self.update(index, from: share.lowerBound, count: share.count, rate: rate)
                (parameter.gradient.pointer + share.lowerBound).update(repeating: 0, count: share.count)
            }
        }
    }

    /// One parameter's elements first..<first + count.
    private func update(_ index: Int, from first: Int, count: Int, rate: Float) {
        let parameter = parameters[index]
        let w = parameter.value.pointer + first, g = parameter.gradient.pointer + first
        // The slots' pointers, without building an array on the step path.
        let slots = self.slots[index]
        let s0 = slots.isEmpty ? w : slots[0].pointer + first
        let s1 = slots.count < 2 ? w : slots[1].pointer + first
        do {
            switch kind {
            case .sgd(let momentum, let nesterov, let decay):
                applyDecay(w, count, rate * decay)
                // Separate loops per variant so each vectorizes.
                if momentum > 0 && nesterov {
                    let v = s0
                    for i in 0..<count {
                        v[i] = momentum * v[i] - rate * g[i]
                        w[i] += momentum * v[i] - rate * g[i]
                    }
                } else if momentum > 0 {
                    let v = s0
                    for i in 0..<count {
                        v[i] = momentum * v[i] - rate * g[i]
                        w[i] += v[i]
                    }
                } else {
                    for i in 0..<count { w[i] -= rate * g[i] }
                }
            case .adam(let beta1, let beta2, let epsilon, let decay):
                applyDecay(w, count, rate * decay)
                let t = Float(iterations)
                let corrected = rate * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t))
                let m = s0, v = s1
                for i in 0..<count {
                    m[i] += (1 - beta1) * (g[i] - m[i])
                    v[i] += (1 - beta2) * (g[i] * g[i] - v[i])
                    w[i] -= corrected * m[i] / (v[i].squareRoot() + epsilon)
                }
            case .rmsprop(let rho, let momentum, let epsilon):
                let v = s0
                for i in 0..<count {
                    v[i] = rho * v[i] + (1 - rho) * g[i] * g[i]
                    let increment = rate * g[i] / (v[i] + epsilon).squareRoot()
                    if momentum > 0 {
                        let mo = s1
                        mo[i] = momentum * mo[i] + increment
                        w[i] -= mo[i]
                    } else {
                        w[i] -= increment
                    }
                }
            }
        }
    }

    private func applyDecay(_ w: UnsafeMutablePointer<Float>, _ count: Int, _ factor: Float) {
        guard factor > 0 else { return }
        for i in 0..<count { w[i] -= factor * w[i] }
    }
}
