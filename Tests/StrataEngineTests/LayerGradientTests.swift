import Testing

@testable import StrataEngine

private func randomized(_ layer: Layer, seed: UInt64) {
    var random = SplitMix64(seed: seed)
    for p in layer.parameters {
        for i in 0..<p.value.count { p.value[i] = random.nextUniform() - 0.5 }
    }
}

@Test func denseGradients() {
    let layer = DenseLayer(name: "dense", inputs: 5, units: 3)
    randomized(layer, seed: 1)
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(4 * 5, seed: 2), batch: 4)
}

@Test func denseWithoutBiasGradients() {
    let layer = DenseLayer(name: "dense", inputs: 3, units: 2, useBias: false)
    randomized(layer, seed: 3)
    #expect(layer.parameters.count == 1)
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(2 * 3, seed: 4), batch: 2)
}

/// Two and six input channels: patches of 12 and 36 values, below and above one 16-wide micro-tile.
@Test(arguments: [
    (false, 1, 1, 2), (true, 1, 1, 2), (false, 2, 2, 2), (true, 2, 2, 2), (true, 2, 1, 2),
    (false, 1, 1, 6), (true, 2, 2, 6), (true, 2, 1, 6),
])
func conv2dGradients(same: Bool, strideH: Int, strideW: Int, channels: Int) throws {
    let layer = try #require(
        Conv2DLayer(
            name: "conv", inputShape: [6, 5, channels], filters: 3, kernel: (3, 2), strides: (strideH, strideW),
            same: same))
    randomized(layer, seed: 5)
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(2 * 6 * 5 * channels, seed: 6), batch: 2)
}

/// The implicit-GEMM path (16 filters): one and three channels (patches of 6 and 18 taps, one partial 16-wide panel),
/// padding before and after, strides that skip trailing rows.
@Test(
    .enabled(if: CPU.hasAVX2FMA, "needs a CPU with AVX2 and FMA"),
    arguments: [(false, 1, 1, 1), (true, 1, 1, 1), (true, 2, 2, 3), (false, 2, 1, 3)])
func conv2dImplicitGradients(same: Bool, strideH: Int, strideW: Int, channels: Int) throws {
    let layer = try #require(
        Conv2DLayer(
            name: "conv", inputShape: [6, 5, channels], filters: 16, kernel: (3, 2), strides: (strideH, strideW),
            same: same))
    #expect(layer.method == .implicitGEMM)
    randomized(layer, seed: 11)
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(2 * 6 * 5 * channels, seed: 12), batch: 2)
}

/// Windows that tile the input (pool 2, stride 2: the one-pass gradient, with a leftover row and column when
/// valid) and overlapping ones (pool 3, stride 2: cleared, then scattered).
@Test(arguments: [(false, 2), (true, 2), (false, 3), (true, 3)])
func maxPoolGradients(same: Bool, pool: Int) throws {
    let layer = try #require(
        MaxPool2DLayer(name: "pool", inputShape: [5, 5, 2], pool: (pool, pool), strides: (2, 2), same: same))
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(2 * 5 * 5 * 2, seed: 7), batch: 2)
}

@Test(arguments: [ActivationKind.linear, .relu, .leakyRelu(alpha: 0.2), .sigmoid, .tanh, .softmax])
func activationGradients(kind: ActivationKind) {
    let layer = ActivationLayer(name: "act", kind: kind, shape: [4])
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(3 * 4, seed: 8), batch: 3)
}

@Test func dropoutGradientsFollowItsMask() {
    let layer = DropoutLayer(name: "drop", rate: 0.4, shape: [10], index: 0)
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(3 * 10, seed: 9), batch: 3)
}

@Test func flattenGradients() {
    let layer = FlattenLayer(name: "flat", inputShape: [2, 3, 2])
    #expect(layer.outputShape == [12])
    GradientCheck().check(layer, input: GradientCheck.awayFromKinks(2 * 12, seed: 10), batch: 2)
}

@Test func dropoutScalesKeptValuesAndPassesThroughWhenEvaluating() {
    let layer = DropoutLayer(name: "drop", rate: 0.5, shape: [1000], index: 0)
    let input = Tensor(shape: [1, 1000], value: 1), output = Tensor(shape: [1, 1000])
    let workspace = GEMMWorkspace(threads: 1)
    layer.forward(
        output: output.pointer, input: input.pointer, batch: 1,
        context: StepContext(training: true, step: 1, seed: 5, workspace: workspace))
    let kept = output.values.filter { $0 != 0 }
    #expect(kept.allSatisfy { $0 == 2 })
    #expect((400...600).contains(kept.count))
    layer.forward(
        output: output.pointer, input: input.pointer, batch: 1,
        context: StepContext(training: false, step: 1, seed: 5, workspace: workspace))
    #expect(output.values.allSatisfy { $0 == 1 })
}

@Test func samePaddingPutsTheExtraRowAfter() throws {
    // Keras: 4 wide, kernel 2, stride 2, same: output 2, total padding 0; kernel 3 stride 1: padding 2 → 1 before.
    let even = try #require(Window(input: (4, 4), kernel: (2, 2), strides: (2, 2), same: true))
    #expect((even.outputHeight, even.padTop) == (2, 0))
    let odd = try #require(Window(input: (5, 5), kernel: (4, 4), strides: (1, 1), same: true))
    #expect((odd.outputHeight, odd.padTop) == (5, 1))
    #expect(Window(input: (2, 2), kernel: (3, 3), strides: (1, 1), same: false) == nil)
}
