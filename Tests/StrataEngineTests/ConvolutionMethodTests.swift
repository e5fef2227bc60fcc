import Testing

@testable import StrataEngine

/// Forward and backward of one conv2d layer over a batch, with seeded weights, inputs and output gradients.
private struct ConvRun {
    var output: [Float], weightGradient: [Float], biasGradient: [Float], inputGradient: [Float]

    init(_ layer: Conv2DLayer, batch: Int, threads: Int) {
        var random = SplitMix64(seed: 21)
        for p in layer.parameters {
            for i in 0..<p.value.count { p.value[i] = random.nextUniform() - 0.5 }
            p.gradient.fill(0)
        }
        let x = Tensor(shape: [batch] + layer.inputShape), y = Tensor(shape: [batch] + layer.outputShape)
        let dy = Tensor(shape: y.shape), dx = Tensor(shape: x.shape)
        for i in 0..<x.count { x[i] = random.nextUniform() - 0.5 }
        for i in 0..<dy.count { dy[i] = random.nextUniform() - 0.5 }
        layer.prepare(maxBatch: batch)
        let context = StepContext(training: true, step: 0, seed: 0, workspace: GEMMWorkspace(threads: threads))
        layer.forward(output: y.pointer, input: x.pointer, batch: batch, context: context)
        layer.backward(inputGradient: dx.pointer, outputGradient: dy.pointer, input: x.pointer, output: y.pointer, batch: batch, context: context)
        output = y.values
        weightGradient = layer.weight.gradient.values
        biasGradient = layer.bias?.gradient.values ?? []
        inputGradient = dx.values
    }

    func expectClose(to other: ConvRun) {
        for (name, a, b) in [("y", output, other.output), ("dw", weightGradient, other.weightGradient),
                             ("db", biasGradient, other.biasGradient), ("dx", inputGradient, other.inputGradient)] {
            #expect(a.count == b.count)
            let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst < 1e-5, "\(name) differs by \(worst)")
        }
    }
}

/// Shapes around the implicit kernels' edges: 1, 3, 8, 16 and 32 channels (contiguous and scattered 16-tap
/// panels), 16 and 48 filters, padding, strides, a kernel as wide as the input, batch sizes that leave a
/// short last tile of output positions.
@Test(arguments: [
    ([7, 6, 1], 16, (3, 3), (1, 1), false), ([7, 6, 3], 32, (3, 2), (2, 2), true), ([5, 5, 8], 16, (3, 3), (1, 1), true),
    ([6, 7, 16], 48, (2, 3), (2, 1), false), ([4, 4, 32], 16, (4, 4), (1, 1), false), ([9, 9, 3], 16, (5, 5), (3, 3), true),
])
func implicitConvolutionMatchesIm2col(input: [Int], filters: Int, kernel: (Int, Int), strides: (Int, Int), same: Bool) throws {
    try #require(CPU.hasAVX2FMA, "this CPU has no AVX2/FMA, so the implicit path cannot run here")
    func layer(_ method: ConvolutionMethod) throws -> Conv2DLayer {
        let layer = try #require(Conv2DLayer(name: "conv", inputShape: input, filters: filters, kernel: kernel, strides: strides, same: same))
        layer.method = method
        return layer
    }
    let reference = ConvRun(try layer(.im2col), batch: 3, threads: 1)
    let implicit = ConvRun(try layer(.implicitGEMM), batch: 3, threads: 1)
    implicit.expectClose(to: reference)
    // Split across threads, every value is summed in the same order: identical bits.
    let split = ConvRun(try layer(.implicitGEMM), batch: 3, threads: 2)
    #expect(split.output == implicit.output && split.weightGradient == implicit.weightGradient)
    #expect(split.inputGradient == implicit.inputGradient && split.biasGradient == implicit.biasGradient)
}

@Test func filtersNotAMultipleOf16UseIm2col() throws {
    let layer = try #require(Conv2DLayer(name: "conv", inputShape: [5, 5, 2], filters: 10, kernel: (3, 3)))
    #expect(layer.method == .im2col)
}
