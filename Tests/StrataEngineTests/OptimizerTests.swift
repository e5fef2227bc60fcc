import CStrataKernels
import Foundation
import Testing

@testable import StrataEngine

private func parameter(_ w: [Float], gradient g: [Float]) -> Parameter {
    let p = Parameter(name: "weight", shape: [w.count], initializer: .zeros)
    for i in 0..<w.count {
        p.value[i] = w[i]
        p.gradient[i] = g[i]
    }
    return p
}

@Test func theLecturesLineTakesOneGradientDescentStep() {
    // y = m·x + b on (1, 3) and (2, 5) from m = −1, b = 5.
    let layer = DenseLayer(name: "dense_1", inputs: 1, units: 1)
    layer.weight.value[0] = -1
    layer.bias!.value[0] = 5
    let network = Network(layers: [layer], loss: .mse, maxBatch: 2, threads: 1)
    network.input[0] = 1
    network.input[1] = 2
    network.targets[0] = 3
    network.targets[1] = 5
    let context = StepContext(training: true, step: 0, seed: 0, workspace: network.workspace)
    network.zeroGradients()
    network.forward(batch: 2, context: context)
    #expect(network.output.values == [4, 3])
    let loss = network.computeLoss(batch: 2, gradient: true) / 2
    #expect(loss == 2.5)
    var metrics = MetricAccumulator()
    metrics.add(
        outputs: network.output.pointer, targets: network.targets.pointer, batch: 2, width: 1, targetWidth: 1,
        loss: loss * 2)
    #expect(abs(metrics.value(.rmse) - 1.5811) < 1e-4)
    network.backward(batch: 2, context: context)
    #expect(layer.weight.gradient[0] == -3)
    #expect(layer.bias!.gradient[0] == -1)
    let sgd = Optimizer(kind: .sgd(momentum: 0, nesterov: false, weightDecay: 0), parameters: layer.parameters)
    sgd.step(learningRate: 0.1)
    #expect(abs(layer.weight.value[0] - -0.7) < 1e-6)
    #expect(abs(layer.bias!.value[0] - 5.1) < 1e-6)
    network.forward(batch: 2, context: context)
    #expect(abs(network.computeLoss(batch: 2, gradient: false) / 2 - 1.825) < 1e-5)
}

@Test func sgdWithMomentumAndNesterov() {
    // v = μv − ηg; w += v (plain) or w += μv − ηg (Nesterov). Two steps with g = 1, η = 0.1, μ = 0.9.
    let plain = parameter([1], gradient: [1])
    let sgd = Optimizer(kind: .sgd(momentum: 0.9, nesterov: false, weightDecay: 0), parameters: [plain])
    sgd.step(learningRate: 0.1)  // v = −0.1, w = 0.9
    #expect(plain.gradient[0] == 0, "a step clears the gradient it used, for the next backward")
    plain.gradient[0] = 1
    sgd.step(learningRate: 0.1)  // v = −0.19, w = 0.71
    #expect(abs(plain.value[0] - 0.71) < 1e-6)
    let nesterov = parameter([1], gradient: [1])
    let nag = Optimizer(kind: .sgd(momentum: 0.9, nesterov: true, weightDecay: 0), parameters: [nesterov])
    nag.step(learningRate: 0.1)  // v = −0.1, w = 1 − 0.09 − 0.1 = 0.81
    #expect(abs(nesterov.value[0] - 0.81) < 1e-6)
}

@Test func sgdWeightDecayIsDecoupled() {
    let p = parameter([2], gradient: [0.5])
    Optimizer(kind: .sgd(momentum: 0, nesterov: false, weightDecay: 0.1), parameters: [p]).step(learningRate: 0.5)
    // w ← 2 − 0.5·0.1·2 = 1.9, then − 0.5·0.5 = 1.65
    #expect(abs(p.value[0] - 1.65) < 1e-6)
}

@Test func adamFirstStepsByHand() {
    // Step 1: m = 0.1·g, v = 0.001·g², lr_t = lr·√(1 − 0.999)/(1 − 0.9); update lr_t·m/(√v + ε) ≈ lr·sign(g).
    let p = parameter([1, -1], gradient: [0.5, -2])
    let adam = Optimizer(kind: .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0), parameters: [p])
    adam.step(learningRate: 0.01)
    let m1 = 0.1 * 0.5, v1 = 0.001 * 0.25
    let expected1 = 1 - 0.01 * (0.001).squareRoot() / 0.1 * m1 / (v1.squareRoot() + 1e-7)
    #expect(abs(Double(p.value[0]) - expected1) < 1e-6)
    #expect(abs(Double(p.value[1]) - (-1 + 0.01)) < 1e-5)
    // Step 2 with gradient 0.25.
    p.gradient[0] = 0.25
    adam.step(learningRate: 0.01)
    let m2 = 0.9 * m1 + 0.1 * 0.25, v2 = 0.999 * v1 + 0.001 * 0.0625
    let lr2 = 0.01 * (1 - 0.999 * 0.999).squareRoot() / (1 - 0.81)
    #expect(abs(Double(p.value[0]) - (expected1 - lr2 * m2 / (v2.squareRoot() + 1e-7))) < 1e-6)
}

@Test func adamWeightDecayIsDecoupled() {
    let p = parameter([2], gradient: [0])
    Optimizer(kind: .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0.5), parameters: [p]).step(
        learningRate: 0.1)
    // Zero gradient: only the decay moves w: 2 − 0.1·0.5·2 = 1.9.
    #expect(abs(p.value[0] - 1.9) < 1e-6)
}

@Test func rmspropStepsByHand() {
    let p = parameter([1], gradient: [2])
    Optimizer(kind: .rmsprop(rho: 0.9, momentum: 0, epsilon: 1e-7), parameters: [p]).step(learningRate: 0.01)
    // v = 0.1·4 = 0.4; w = 1 − 0.01·2/√(0.4 + 1e-7)
    #expect(abs(Double(p.value[0]) - (1 - 0.02 / (0.4 + 1e-7).squareRoot())) < 1e-6)
    let q = parameter([1], gradient: [2])
    let withMomentum = Optimizer(kind: .rmsprop(rho: 0.9, momentum: 0.5, epsilon: 1e-7), parameters: [q])
    withMomentum.step(learningRate: 0.01)
    q.gradient[0] = 2
    withMomentum.step(learningRate: 0.01)
    let inc1 = 0.02 / (0.4 + 1e-7).squareRoot(), v2 = 0.9 * 0.4 + 0.1 * 4.0
    let inc2 = 0.02 / (v2 + 1e-7).squareRoot()
    #expect(abs(Double(q.value[0]) - (1 - inc1 - (0.5 * inc1 + inc2))) < 1e-6)
}

@Test func schedulesFollowKeras() {
    #expect(Schedule.step(decaySteps: 10, decayRate: 0.5).learningRate(base: 1, step: 25) == 0.25)
    #expect(
        abs(Schedule.exponential(decaySteps: 10, decayRate: 0.5).learningRate(base: 1, step: 5) - 0.5.squareRoot())
            < 1e-12)
    #expect(abs(Schedule.cosine(decaySteps: 100, alpha: 0).learningRate(base: 1, step: 50) - 0.5) < 1e-12)
    #expect(Schedule.cosine(decaySteps: 100, alpha: 0.1).learningRate(base: 1, step: 500) == 0.1)
    #expect(Schedule.constant.learningRate(base: 0.3, step: 1000) == 0.3)
}

/// Caffe's `inv` (lr·(1 + γ·t)^−power) and `multistep` (lr·γ^(boundaries passed)), by hand: LeNet's solver
/// (0.01, γ 1e-4, power 0.75) at iteration 10,000 is 0.01·2^−0.75 = 0.005946…
@Test func inverseTimeAndMultistepFollowCaffe() {
    let inv = Schedule.inverseTime(decaySteps: 1, decayRate: 1e-4, power: 0.75)
    #expect(abs(inv.learningRate(base: 0.01, step: 10_000) - 0.005_946_035_575_013_605) < 1e-15)
    #expect(inv.learningRate(base: 0.01, step: 0) == 0.01)
    // Keras' InverseTimeDecay: lr / (1 + rate·t / steps).
    #expect(
        abs(Schedule.inverseTime(decaySteps: 10, decayRate: 0.5, power: 1).learningRate(base: 1, step: 20) - 0.5)
            < 1e-15)
    let multistep = Schedule.multistep(boundaries: [100, 200], decayRate: 0.1)
    #expect(multistep.learningRate(base: 1, step: 99) == 1)
    #expect(abs(multistep.learningRate(base: 1, step: 100) - 0.1) < 1e-15)
    #expect(abs(multistep.learningRate(base: 1, step: 199) - 0.1) < 1e-15)
    #expect(abs(multistep.learningRate(base: 1, step: 5000) - 0.01) < 1e-15)
}

@Test func splitMix64MatchesItsPublishedSequence() {
    // Reference values of SplitMix64 from seed 0 (Vigna's splitmix64.c).
    var random = SplitMix64(seed: 0)
    #expect(random.next() == 0xE220_A839_7B1D_CDAF)
    #expect(random.next() == 0x6E78_9E6A_A1B9_65F4)
    #expect(random.next() == 0x06C4_5D18_8009_454F)
}

@Test func initializersAreSeededAndBounded() {
    let a = Tensor(shape: [784, 128]), b = Tensor(shape: [784, 128])
    var r1 = SplitMix64(seed: 5), r2 = SplitMix64(seed: 5)
    Initialization.fill(a, .glorotUniform, random: &r1)
    Initialization.fill(b, .glorotUniform, random: &r2)
    #expect(a.values == b.values)
    let limit = Float((6.0 / (784 + 128)).squareRoot())
    #expect(a.values.allSatisfy { abs($0) <= limit })
    let mean = a.values.reduce(0, +) / Float(a.count)
    #expect(abs(mean) < 0.002)
    let he = Tensor(shape: [3, 3, 16, 32])
    Initialization.fill(he, .heNormal, random: &r1)
    let std = (he.values.map { $0 * $0 }.reduce(0, +) / Float(he.count)).squareRoot()
    #expect(abs(std - (2.0 / 144).squareRoot()) < 0.01)
    #expect(Initialization.fans([3, 3, 16, 32]) == (144, 288))
}

/// Two identical networks trained three steps, one applying its dense weights' updates during backward (as the
/// trainer does), one leaving every gradient to `Optimizer.step`: weights and slots must agree bit for bit.
@Test(arguments: [
    OptimizerKind.sgd(momentum: 0.9, nesterov: false, weightDecay: 0),
    .sgd(momentum: 0.8, nesterov: true, weightDecay: 0.01),
    .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0.004),
    .rmsprop(rho: 0.9, momentum: 0.5, epsilon: 1e-7),
])
func updatesAppliedDuringBackwardMatchTheOptimizerStep(kind: OptimizerKind) {
    // 400 inputs by 40 units: the first layer's gradient comes in more than one block.
    func network() -> (Network, Optimizer) {
        let layers: [Layer] = [
            DenseLayer(name: "dense_1", inputs: 400, units: 40),
            ActivationLayer(name: "relu", kind: .relu, shape: [40]),
            DenseLayer(name: "dense_2", inputs: 40, units: 5),
            ActivationLayer(name: "softmax", kind: .softmax, shape: [5]),
        ]
        let network = Network(layers: layers, loss: .sparseCategoricalCrossentropy, maxBatch: 13, threads: 2)
        var random = SplitMix64(seed: 5)
        for (_, p) in network.parameters { Initialization.fill(p.value, p.initializer, random: &random) }
        for i in 0..<network.input.count { network.input[i] = random.nextUniform() }
        for b in 0..<13 { network.targets[b] = Float(b % 5) }
        network.zeroGradients()
        return (network, Optimizer(kind: kind, parameters: network.parameters.map(\.parameter)))
    }
    let (fused, fusedOptimizer) = network(), (plain, plainOptimizer) = network()
    #expect(DenseLayer.gradientBlockFloats < 400 * 40)
    for step in 0..<3 {
        let rate = Float(0.05) / Float(step + 1)
        var context = StepContext(training: true, step: UInt64(step), seed: 1, workspace: fused.workspace)
        fused.forward(batch: 12, context: context)
        _ = fused.computeLoss(batch: 12, gradient: true)
        fusedOptimizer.beginStep(learningRate: rate)
        context.optimizer = fusedOptimizer
        fused.backward(batch: 12, context: context)
        for (layer, parameter) in fused.parameters where parameter.name == "weight" {
            #expect(parameter.gradient.values.allSatisfy { $0 == 0 }, "\(layer): updated without storing its gradient")
        }
        fusedOptimizer.finishStep()

        let plainContext = StepContext(training: true, step: UInt64(step), seed: 1, workspace: plain.workspace)
        plain.forward(batch: 12, context: plainContext)
        _ = plain.computeLoss(batch: 12, gradient: true)
        plain.backward(batch: 12, context: plainContext)
        plainOptimizer.step(learningRate: rate)
    }
    for (a, b) in zip(fused.parameters, plain.parameters) {
        #expect(a.parameter.value.values.map(\.bitPattern) == b.parameter.value.values.map(\.bitPattern), "\(a.layer)")
        #expect(a.parameter.gradient.values.allSatisfy { $0 == 0 }, "\(a.layer): gradient cleared for the next step")
    }
    for (a, b) in zip(fusedOptimizer.slots.joined(), plainOptimizer.slots.joined()) {
        #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern))
    }
    #expect(fusedOptimizer.iterations == plainOptimizer.iterations)
}

/// The C loop for SGD with momentum rounds as the plain Swift expression does (no fused multiply-add), with AVX
/// and without, over a length that leaves a scalar tail.
@Test func sgdMomentumKernelRoundsAsTheReferenceLoop() {
    var random = SplitMix64(seed: 12)
    let count = 1003
    let w0 = (0..<count).map { _ in random.nextUniform() * 2 - 1 },
        v0 = (0..<count).map { _ in random.nextUniform() - 0.5 }
    let g = (0..<count).map { _ in random.nextUniform() * 4 - 2 }
    let (momentum, rate): (Float, Float) = (0.9, 0.0370001)
    var expectedW = w0, expectedV = v0
    for i in 0..<count {
        expectedV[i] = momentum * expectedV[i] - rate * g[i]
        expectedW[i] += expectedV[i]
    }
    for avx in CPU.hasAVX2FMA ? [Int32(0), 1] : [0] {
        var w = w0, v = v0
        strata_sgd_momentum_update(avx, &w, &v, g, count, momentum, rate)
        #expect(w.map(\.bitPattern) == expectedW.map(\.bitPattern), "avx \(avx)")
        #expect(v.map(\.bitPattern) == expectedV.map(\.bitPattern), "avx \(avx)")
    }
}

/// The C loop for Adam (Keras' form) rounds as the plain Swift expressions do, portable, with AVX2 and with
/// AVX-512, over a length that leaves a scalar tail.
@Test func adamKernelRoundsAsTheReferenceLoop() {
    var random = SplitMix64(seed: 13)
    let count = 1013
    let w0 = (0..<count).map { _ in random.nextUniform() * 2 - 1 }
    let m0 = (0..<count).map { _ in random.nextUniform() * 0.2 - 0.1 }
    let v0 = (0..<count).map { _ in random.nextUniform() * 0.01 }
    let g = (0..<count).map { _ in random.nextUniform() * 4 - 2 }
    let (beta1, beta2, epsilon): (Float, Float, Float) = (0.9, 0.999, 1e-7)
    let corrected: Float = 0.001 * (1 - pow(beta2, 3)).squareRoot() / (1 - pow(beta1, 3))
    var expectedW = w0, expectedM = m0, expectedV = v0
    for i in 0..<count {
        expectedM[i] += (1 - beta1) * (g[i] - expectedM[i])
        expectedV[i] += (1 - beta2) * (g[i] * g[i] - expectedV[i])
        expectedW[i] -= corrected * expectedM[i] / (expectedV[i].squareRoot() + epsilon)
    }
    var forms: [(Int32, Int32)] = [(0, 0)]
    if CPU.hasAVX2FMA { forms.append((1, 0)) }
    if CPU.hasAVX512 { forms.append((1, 1)) }
    for (avx, wide) in forms {
        var w = w0, m = m0, v = v0
        let previous = strata_cpu_set_avx512(wide)
        strata_adam_update(avx, &w, &m, &v, g, count, 1 - beta1, 1 - beta2, corrected, epsilon)
        strata_cpu_set_avx512(previous)
        #expect(w.map(\.bitPattern) == expectedW.map(\.bitPattern), "avx \(avx) wide \(wide)")
        #expect(m.map(\.bitPattern) == expectedM.map(\.bitPattern), "avx \(avx) wide \(wide)")
        #expect(v.map(\.bitPattern) == expectedV.map(\.bitPattern), "avx \(avx) wide \(wide)")
    }
}
