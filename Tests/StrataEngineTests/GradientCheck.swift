import Testing

@testable import StrataEngine

/// Central finite differences of a scalar objective L = Σ r·y, summed in Double, against backward's gradients.
struct GradientCheck {
    var step: Float = 1e-2
    var relativeTolerance = 2e-2
    var absoluteTolerance = 2e-3

    func context(training: Bool = true) -> StepContext {
        StepContext(training: training, step: 3, seed: 11, workspace: GEMMWorkspace(threads: 1))
    }

    /// Checks dL/dinput and dL/dparameters of `layer` at `input` (batch rows).
    func check(_ layer: Layer, input values: [Float], batch: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        layer.prepare(maxBatch: batch)
        let context = context()
        let input = Tensor(shape: [batch] + layer.inputShape, values: values)
        let output = Tensor(shape: [batch] + layer.outputShape)
        var random = SplitMix64(seed: 99)
        let weights = Tensor(shape: output.shape, values: (0..<output.count).map { _ in random.nextUniform() * 2 - 1 })
        func objective() -> Double {
            layer.forward(output: output.pointer, input: input.pointer, batch: batch, context: context)
            var total = 0.0
            for i in 0..<output.count { total += Double(output[i]) * Double(weights[i]) }
            return total
        }
        for p in layer.parameters { p.gradient.fill(0) }
        _ = objective()
        let inputGradient = Tensor(shape: input.shape)
        layer.backward(
            inputGradient: inputGradient.pointer, outputGradient: weights.pointer, input: input.pointer,
            output: output.pointer, batch: batch, context: context)
        func numeric(_ tensor: Tensor, _ i: Int) -> Double {
            let saved = tensor[i]
            tensor[i] = saved + step
            let plus = objective()
            tensor[i] = saved - step
            let minus = objective()
            tensor[i] = saved
            return (plus - minus) / (2 * Double(step))
        }
        func compare(_ analytic: Tensor, _ tensor: Tensor, _ what: String) {
            for i in 0..<tensor.count {
                let n = numeric(tensor, i), a = Double(analytic[i])
                let ok = abs(a - n) <= absoluteTolerance + relativeTolerance * max(abs(a), abs(n))
                #expect(
                    ok, "\(layer.name) \(what)[\(i)]: backward \(a), finite difference \(n)",
                    sourceLocation: sourceLocation)
                if !ok { return }
            }
        }
        compare(inputGradient, input, "input")
        for p in layer.parameters {
            // The objective's parameter gradient was accumulated once, from zero.
            compare(p.gradient, p.value, p.name)
        }
    }

    /// Values spread away from 0 and from each other by more than the step, so no kink (relu at 0, a max-pool
    /// tie) lies within a finite-difference step.
    static func awayFromKinks(_ count: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed)
        var values = (0..<count).map { i in Float(i + 1) * 0.05 * (random.nextUniform() < 0.5 ? -1 : 1) }
        random.shuffle(&values)
        return values
    }
}
