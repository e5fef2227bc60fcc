import CStrataKernels
import Foundation

public enum OptimizerKind: Sendable, Equatable {
    case sgd(momentum: Float, nesterov: Bool, weightDecay: Float)
    case adam(beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, epsilonForm: EpsilonForm = .keras)
    case rmsprop(rho: Float, momentum: Float, epsilon: Float)

    /// Where Adam adds epsilon. Keras: w ← w − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + ε), epsilon before the bias
    /// correction; PyTorch: w ← w − η·m̂/(√v̂ + ε) with m̂, v̂ corrected first. They differ where √v is near ε.
    public enum EpsilonForm: String, Sendable, CaseIterable { case keras, pytorch }

    /// The state each parameter keeps, in checkpoint order.
    public var slotNames: [String] {
        switch self {
        case .sgd(let momentum, _, _): momentum > 0 ? ["velocity"] : []
        case .adam: ["m", "v"]
        case .rmsprop(_, let momentum, _): momentum > 0 ? ["velocity", "momentum"] : ["velocity"]
        }
    }
}

/// Learning-rate schedules over optimizer steps, as Keras defines them.
public enum Schedule: Sendable, Equatable {
    case constant
    case step(decaySteps: Int, decayRate: Double)
    case exponential(decaySteps: Int, decayRate: Double)
    case cosine(decaySteps: Int, alpha: Double)
    /// Caffe's `inv` (Keras' InverseTimeDecay when power is 1).
    case inverseTime(decaySteps: Int, decayRate: Double, power: Double)
    /// Caffe's `multistep`, PyTorch's MultiStepLR: the rate falls by `decayRate` at each boundary passed.
    case multistep(boundaries: [Int], decayRate: Double)

    /// The schedules a spec may name (`constant` is what no schedule means).
    public static let names = ["step", "exponential", "cosine", "inverse_time", "multistep"]

    public func learningRate(base: Double, step: Int) -> Double {
        switch self {
        case .constant: return base
        case .step(let steps, let rate): return base * pow(rate, Double(step / steps))
        case .exponential(let steps, let rate): return base * pow(rate, Double(step) / Double(steps))
        case .cosine(let steps, let alpha):
            let progress = Double(min(step, steps)) / Double(steps)
            return base * (alpha + (1 - alpha) * 0.5 * (1 + cos(Double.pi * progress)))
        case .inverseTime(let steps, let rate, let power):
            return base * pow(1 + rate * Double(step) / Double(steps), -power)
        case .multistep(let boundaries, let rate):
            return base * pow(rate, Double(boundaries.count { step >= $0 }))
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
    /// The learning rate of the step under way, and which parameters layers have updated themselves in it.
    private var stepRate: Float = 0
    private var applied: [Bool]

    public init(kind: OptimizerKind, parameters: [Parameter]) {
        self.kind = kind
        self.parameters = parameters
        let names = kind.slotNames
        slotNames = names
        slots = parameters.map { p in names.map { _ in Tensor(shape: p.value.shape) } }
        applied = Array(repeating: false, count: parameters.count)
    }

    /// One update of every parameter with learning rate `rate`, then each gradient cleared for the next step.
    public func step(learningRate rate: Float) {
        beginStep(learningRate: rate)
        finishStep()
    }

    /// Starts a step whose updates layers may apply themselves, piece by piece, as they compute a gradient
    /// (`apply`): a gradient used at once never travels to memory and back. `finishStep` updates the rest.
    public func beginStep(learningRate rate: Float) {
        iterations += 1
        stepRate = rate
        for index in applied.indices { applied[index] = false }
    }

    /// Updates every parameter no layer applied this step, from its gradient, then clears the gradient:
    /// the step's one clearing, done while the gradient is still in cache from the update that read it.
    public func finishStep() {
        let rate = stepRate
        for (index, parameter) in parameters.enumerated() where !applied[index] {
            let count = parameter.value.count
            let parts = count >= Parallel.serialElements ? threads : 1
            Parallel.run(parts) { part in
                let share = Parallel.share(part, of: parts, count)
                let gradient = parameter.gradient.pointer + share.lowerBound
                self.update(index, from: share.lowerBound, count: share.count, gradient: gradient, rate: rate)
                gradient.update(repeating: 0, count: share.count)
            }
        }
    }

    /// The index under which a layer applies updates to `parameter` itself, or nil if this optimizer does not
    /// update it.
    public func index(of parameter: Parameter) -> Int? {
        parameters.firstIndex { $0 === parameter }
    }

    /// Updates elements `elements` of parameter `index` in this step from their gradient, `gradient[0..<count]`.
    /// Pieces may be applied concurrently from any thread; each element is updated exactly as `finishStep`
    /// would. The layer then calls `markApplied`, so `finishStep` skips the parameter.
    public func apply(_ index: Int, elements: Range<Int>, gradient: UnsafePointer<Float>) {
        update(index, from: elements.lowerBound, count: elements.count, gradient: gradient, rate: stepRate)
    }

    public func markApplied(_ index: Int) {
        applied[index] = true
    }

    /// One parameter's elements first..<first + count, from their gradient g[0..<count], to which the
    /// parameter's regularizer (if any) first adds its own gradient, in place.
    private func update(_ index: Int, from first: Int, count: Int, gradient g: UnsafePointer<Float>, rate: Float) {
        let w = parameters[index].value.pointer + first
        if let regularizer = parameters[index].regularizer {
            regularizer.addGradient(UnsafeMutablePointer(mutating: g), weights: w, count: count)
        }
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
                    // The common case, in C with AVX where the CPU has it: the same roundings.
                    strata_sgd_momentum_update(CPU.hasAVX2FMA ? 1 : 0, w, s0, g, count, momentum, rate)
                } else {
                    for i in 0..<count { w[i] -= rate * g[i] }
                }
            case .adam(let beta1, let beta2, let epsilon, let decay, let form):
                applyDecay(w, count, rate * decay)
                let t = Float(iterations)
                let m = s0, v = s1
                switch form {
                case .keras:
                    let corrected = rate * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t))
                    // In C with AVX where the CPU has it, rounding as the plain loop does (tested against it).
                    strata_adam_update(
                        CPU.hasAVX2FMA ? 1 : 0, w, m, v, g, count, 1 - beta1, 1 - beta2, corrected, epsilon)
                case .pytorch:
                    let (c1, c2) = (1 - pow(beta1, t), 1 - pow(beta2, t))
                    for i in 0..<count {
                        m[i] += (1 - beta1) * (g[i] - m[i])
                        v[i] += (1 - beta2) * (g[i] * g[i] - v[i])
                        w[i] -= rate * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
                    }
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
