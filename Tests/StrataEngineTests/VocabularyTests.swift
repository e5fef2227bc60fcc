import Foundation
import Testing

@testable import StrataEngine

// The layers, activations, regularizers and optimizer forms added through the registry: a finite-difference
// gradient test each, and forward values computed by hand.

@Test(arguments: [ActivationKind.elu(alpha: 1), .elu(alpha: 0.5), .gelu, .softplus, .silu])
func newActivationGradients(kind: ActivationKind) {
    let layer = ActivationLayer(name: "act", kind: kind, shape: [4])
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(3 * 4, seed: 21), batch: 3)
}

/// elu(−1) = e⁻¹ − 1, gelu(1) = Φ(1), softplus(0) = ln 2, silu(1) = 1/(1 + e⁻¹): values from tables of e and Φ.
@Test func newActivationsMatchHandComputedValues() {
    let cases: [(ActivationKind, Float, Float)] = [
        (.elu(alpha: 1), -1, -0.632_120_56), (.elu(alpha: 1), 2, 2), (.gelu, 1, 0.841_344_75),
        (.gelu, -1, -0.158_655_25),
        (.softplus, 0, 0.693_147_18), (.softplus, 100, 100), (.silu, 1, 0.731_058_58), (.silu, -2, -0.238_405_84),
    ]
    for (kind, x, expected) in cases {
        var input = x, output: Float = 0
        ActivationKernels.forward(&output, &input, count: 1, width: 1, kind: kind)
        #expect(abs(output - expected) <= 1e-6, "\(kind)(\(x)) = \(output), expected \(expected)")
    }
}

private func randomized(_ layer: Layer, seed: UInt64) {
    var random = SplitMix64(seed: seed)
    for p in layer.parameters {
        for i in 0..<p.value.count { p.value[i] = random.nextUniform() + 0.5 }
    }
}

@Test(arguments: [[3], [2, 2, 3]])
func batchNormalizationGradients(shape: [Int]) {
    let layer = BatchNormalizationLayer(name: "bn", shape: shape, momentum: 0.99, epsilon: 1e-3)
    randomized(layer, seed: 22)
    GradientCheck(step: 1e-2, relativeTolerance: 3e-2, absoluteTolerance: 3e-3)
        .check(layer, input: GradientCheck.awayFromKinks(4 * shape.reduce(1, *), seed: 23), batch: 4)
}

@Test func batchNormalizationWithoutScaleOrCenterGradients() {
    let layer = BatchNormalizationLayer(
        name: "bn", shape: [2], momentum: 0.9, epsilon: 1e-3, center: false, scale: false)
    #expect(layer.parameters.isEmpty)
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(5 * 2, seed: 24), batch: 5)
}

/// One channel holding 1 and 3: mean 2, variance 1, so x̂ = ±1/√1.001; the moving statistics move 1% of the way
/// (mean 0 → 0.02, variance 1 → 1); evaluation then uses them: (1 − 0.02)/√(1 + 0.001).
@Test func batchNormalizationTrainsOnBatchStatisticsAndEvaluatesOnMovingOnes() {
    let layer = BatchNormalizationLayer(name: "bn", shape: [1], momentum: 0.99, epsilon: 1e-3)
    layer.gamma?.value.fill(1)
    let input: [Float] = [1, 3]
    var output: [Float] = [0, 0]
    let workspace = GEMMWorkspace(threads: 1)
    layer.forward(
        output: &output, input: input, batch: 2,
        context: StepContext(training: true, step: 0, seed: 0, workspace: workspace))
    let expected = 1 / Float(1.001).squareRoot()
    #expect(abs(output[0] + expected) < 1e-6 && abs(output[1] - expected) < 1e-6)
    #expect(abs(layer.movingMean.value[0] - 0.02) < 1e-7)
    #expect(abs(layer.movingVariance.value[0] - 1) < 1e-7)
    layer.forward(
        output: &output, input: input, batch: 2,
        context: StepContext(training: false, step: 0, seed: 0, workspace: workspace))
    #expect(abs(output[0] - 0.98 / Float(1.001).squareRoot()) < 1e-6)
}

/// Batch statistics are summed in fixed parts: one thread and two give the same bits.
@Test func batchNormalizationIsTheSameOnAnyThreadCount() {
    var results: [[Float]] = []
    for threads in [1, 2] {
        let layer = BatchNormalizationLayer(name: "bn", shape: [8, 8, 16], momentum: 0.99, epsilon: 1e-3)
        let batch = 64
        let input = Tensor(shape: [batch, 8, 8, 16], values: GradientCheck.awayFromKinks(batch * 1024, seed: 25))
        let output = Tensor(shape: input.shape), dx = Tensor(shape: input.shape)
        let context = StepContext(training: true, step: 0, seed: 0, workspace: GEMMWorkspace(threads: threads))
        layer.forward(output: output.pointer, input: input.pointer, batch: batch, context: context)
        layer.backward(
            inputGradient: dx.pointer, outputGradient: input.pointer, input: input.pointer, output: output.pointer,
            batch: batch, context: context)
        results.append(
            output.values + dx.values + layer.movingVariance.value.values + (layer.gamma?.gradient.values ?? []))
    }
    #expect(results[0] == results[1])
}

@Test(arguments: [(false, 2, 2), (true, 2, 2), (false, 3, 2), (true, 3, 1)])
func averagePoolGradients(same: Bool, pool: Int, stride: Int) throws {
    let layer = try #require(
        AveragePooling2DLayer(
            name: "pool", inputShape: [5, 5, 2], pool: (pool, pool), strides: (stride, stride), same: same))
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(2 * 5 * 5 * 2, seed: 26), batch: 2)
}

/// 1…9 in a 3x3 image: valid 2x2 windows at stride 1 give the means of their four cells; same padding at
/// stride 2 counts only the cells inside the image (the corner window holds 9 alone, as in Keras).
@Test func averagePoolMatchesHandComputedMeans() throws {
    let input: [Float] = (1...9).map(Float.init)
    let workspace = GEMMWorkspace(threads: 1)
    let context = StepContext(training: false, step: 0, seed: 0, workspace: workspace)
    let valid = try #require(AveragePooling2DLayer(name: "p", inputShape: [3, 3, 1], pool: (2, 2), strides: (1, 1)))
    var out = [Float](repeating: 0, count: 4)
    valid.forward(output: &out, input: input, batch: 1, context: context)
    #expect(out == [3, 4, 6, 7])
    let same = try #require(
        AveragePooling2DLayer(name: "p", inputShape: [3, 3, 1], pool: (2, 2), strides: (2, 2), same: true))
    same.forward(output: &out, input: input, batch: 1, context: context)
    #expect(out == [3, 4.5, 7.5, 9])
}

@Test(arguments: [GlobalPooling2DLayer.Reduction.average, .maximum])
func globalPoolGradients(reduction: GlobalPooling2DLayer.Reduction) throws {
    let layer = try #require(GlobalPooling2DLayer(name: "global", inputShape: [3, 2, 4], reduction: reduction))
    #expect(layer.outputShape == [4])
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(2 * 3 * 2 * 4, seed: 27), batch: 2)
}

@Test func globalPoolsMatchHandComputedValues() throws {
    // Two positions, two channels: (1, −4) and (3, 2).
    let input: [Float] = [1, -4, 3, 2]
    var out: [Float] = [0, 0]
    let context = StepContext(training: false, step: 0, seed: 0, workspace: GEMMWorkspace(threads: 1))
    try #require(GlobalPooling2DLayer(name: "g", inputShape: [1, 2, 2], reduction: .average)).forward(
        output: &out, input: input, batch: 1, context: context)
    #expect(out == [2, -1])
    try #require(GlobalPooling2DLayer(name: "g", inputShape: [1, 2, 2], reduction: .maximum)).forward(
        output: &out, input: input, batch: 1, context: context)
    #expect(out == [3, 2])
}

/// w = (1, −2), l1 = 0.1, l2 = 0.01: penalty 0.1·3 + 0.01·5 = 0.35; gradient 0.1·sign(w) + 0.02·w.
@Test func regularizerPenaltyAndGradientByHand() {
    let regularizer = Regularizer(l1: 0.1, l2: 0.01)
    let w: [Float] = [1, -2]
    #expect(abs(regularizer.penalty(w, count: 2) - 0.35) < 1e-7)
    var g: [Float] = [0, 0]
    regularizer.addGradient(&g, weights: w, count: 2)
    #expect(abs(g[0] - 0.12) < 1e-7 && abs(g[1] + 0.14) < 1e-7)
}

/// The optimizer adds the regularizer's gradient: one SGD step of w = 2 with g = 0 and l2 = 0.5 at η = 0.1 is
/// w − 0.1·(2·0.5·2) = 1.8.
@Test func optimizerAppliesTheRegularizerGradient() {
    let parameter = Parameter(name: "weight", shape: [1], initializer: .zeros, regularizer: Regularizer(l2: 0.5))
    parameter.value[0] = 2
    let optimizer = Optimizer(kind: .sgd(momentum: 0, nesterov: false, weightDecay: 0), parameters: [parameter])
    optimizer.step(learningRate: 0.1)
    #expect(abs(parameter.value[0] - 1.8) < 1e-6)
}

/// A tiny gradient (1e-8, below ε = 1e-7) shows where the two forms put ε: PyTorch's first step is
/// η·1e-8/(1e-8 + 1e-7) = η/11; Keras' is η·√0.001/0.1 · 1e-9/(√1e-19 + 1e-7) ≈ η·0.00315.
@Test func adamEpsilonFormsDifferAsDocumented() {
    func firstStep(_ form: OptimizerKind.EpsilonForm) -> Float {
        let parameter = Parameter(name: "w", shape: [1], initializer: .zeros)
        parameter.gradient[0] = 1e-8
        let optimizer = Optimizer(
            kind: .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0, epsilonForm: form),
            parameters: [parameter])
        optimizer.step(learningRate: 1)
        return -parameter.value[0]
    }
    #expect(abs(firstStep(.pytorch) - 1 / 11) < 1e-5)
    let keras = Double(0.001).squareRoot() / 0.1 * 1e-9 / (Double(1e-19).squareRoot() + 1e-7)
    #expect(abs(Double(firstStep(.keras)) - keras) < 1e-6)
}

/// A dense layer with its weights packed once for inference gives the bits of the ordinary product, for depths
/// past one packing block (700 > KC), small and large batches, one thread and two.
@Test(arguments: [1, 7, 64, 257])
func frozenDenseWeightsGiveTheSameBits(batch: Int) {
    for threads in [1, 2] {
        let layer = DenseLayer(name: "dense", inputs: 700, units: 130)
        var random = SplitMix64(seed: 31)
        for p in layer.parameters { for i in 0..<p.value.count { p.value[i] = random.nextUniform() - 0.5 } }
        let input = Tensor(shape: [batch, 700], values: (0..<batch * 700).map { _ in random.nextUniform() })
        let plain = Tensor(shape: [batch, 130]), frozen = Tensor(shape: [batch, 130])
        let context = StepContext(training: false, step: 0, seed: 0, workspace: GEMMWorkspace(threads: threads))
        layer.forward(output: plain.pointer, input: input.pointer, batch: batch, context: context)
        layer.freezeWeights()
        layer.forward(output: frozen.pointer, input: input.pointer, batch: batch, context: context)
        #expect(plain.values == frozen.values, "batch \(batch), \(threads) threads")
    }
}
