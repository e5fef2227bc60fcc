import Testing

import CStrataKernels
@testable import StrataEngine

/// Forward and backward of one conv2d layer over a batch, with seeded weights, inputs and output gradients.
private struct ConvRun {
    var output: [Float], weightGradient: [Float], biasGradient: [Float], inputGradient: [Float]

    /// `gradientRegion` limits the output gradient to the top-left rows and columns (0 elsewhere), as a pooling
    /// that reads only those passes it back; `density` is the share of its values left nonzero.
    init(_ layer: Conv2DLayer, batch: Int, threads: Int, gradientRegion: (Int, Int)? = nil, density: Float = 1) {
        var random = SplitMix64(seed: 21)
        for p in layer.parameters {
            for i in 0..<p.value.count { p.value[i] = random.nextUniform() - 0.5 }
            p.gradient.fill(0)
        }
        let x = Tensor(shape: [batch] + layer.inputShape), y = Tensor(shape: [batch] + layer.outputShape)
        let dy = Tensor(shape: y.shape), dx = Tensor(shape: x.shape)
        for i in 0..<x.count { x[i] = random.nextUniform() - 0.5 }
        let (height, width, filters) = (layer.outputShape[0], layer.outputShape[1], layer.outputShape[2])
        for i in 0..<dy.count {
            let position = i / filters % (height * width)
            let inside = gradientRegion.map { position / width < $0.0 && position % width < $0.1 } ?? true
            let kept = random.nextUniform() < density
            dy[i] = inside && kept ? random.nextUniform() - 0.5 : 0
        }
        layer.prepare(maxBatch: batch)
        let context = StepContext(training: true, step: 0, seed: 0, workspace: GEMMWorkspace(threads: threads))
        layer.forward(output: y.pointer, input: x.pointer, batch: batch, context: context)
        layer.backward(
            inputGradient: dx.pointer, outputGradient: dy.pointer, input: x.pointer, output: y.pointer, batch: batch,
            context: context)
        output = y.values
        weightGradient = layer.weight.gradient.values
        biasGradient = layer.bias?.gradient.values ?? []
        inputGradient = dx.values
    }

    func expectClose(to other: ConvRun) {
        for (name, a, b) in [
            ("y", output, other.output), ("dw", weightGradient, other.weightGradient),
            ("db", biasGradient, other.biasGradient), ("dx", inputGradient, other.inputGradient),
        ] {
            #expect(a.count == b.count)
            let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst < 1e-5, "\(name) differs by \(worst)")
        }
    }
}

/// Shapes around the implicit kernels' edges: 1, 3, 8, 16 and 32 channels (contiguous and scattered 16-tap
/// panels), 16 and 48 filters, padding, strides, a kernel as wide as the input, batch sizes that leave a
/// short last tile of output positions.
@Test(
    .enabled(if: CPU.hasAVX2FMA, "needs a CPU with AVX2 and FMA"),
    arguments: [
        ([7, 6, 1], 16, (3, 3), (1, 1), false), ([7, 6, 3], 32, (3, 2), (2, 2), true),
        ([5, 5, 8], 16, (3, 3), (1, 1), true),
        ([6, 7, 16], 48, (2, 3), (2, 1), false), ([4, 4, 32], 16, (4, 4), (1, 1), false),
        ([9, 9, 3], 16, (5, 5), (3, 3), true),
    ])
func implicitConvolutionMatchesIm2col(
    input: [Int], filters: Int, kernel: (Int, Int), strides: (Int, Int), same: Bool
) throws {
    func layer(_ method: ConvolutionMethod) throws -> Conv2DLayer {
        let layer = try #require(
            Conv2DLayer(name: "conv", inputShape: input, filters: filters, kernel: kernel, strides: strides, same: same)
        )
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

/// A convolution told that only the top-left 4x3 of its 6x5 output is read computes exactly that corner, sets
/// the rest to 0, and (given the zero gradient a pooling passes back there) matches the full computation.
@Test(.enabled(if: CPU.hasAVX2FMA, "needs a CPU with AVX2 and FMA")) func implicitConvolutionComputesOnlyTheUsedCorner()
    throws
{
    let full = try #require(Conv2DLayer(name: "conv", inputShape: [8, 7, 3], filters: 16, kernel: (3, 3)))
    let trimmed = try #require(Conv2DLayer(name: "conv", inputShape: [8, 7, 3], filters: 16, kernel: (3, 3)))
    trimmed.usedOutput = (4, 3)
    let reference = ConvRun(full, batch: 2, threads: 1, gradientRegion: (4, 3))
    let corner = ConvRun(trimmed, batch: 2, threads: 2, gradientRegion: (4, 3))
    for (i, value) in corner.output.enumerated() {
        let position = i / 16 % 30
        if position / 5 < 4 && position % 5 < 3 { #expect(value == reference.output[i]) } else { #expect(value == 0) }
    }
    #expect(corner.weightGradient == reference.weightGradient && corner.biasGradient == reference.biasGradient)
    #expect(corner.inputGradient == reference.inputGradient)
}

/// The backward kernels that sum only the nonzero values of a sparse output gradient give the bits of the tile
/// kernels, on the same shapes, a used corner, and one or two threads (the input gradient falls back to the tile
/// kernel where the channels are not a multiple of 16).
@Test(
    .enabled(if: CPU.hasAVX2FMA, "needs a CPU with AVX2 and FMA"),
    arguments: [
        ([7, 6, 1], 16, (3, 3), (1, 1), false), ([7, 6, 3], 32, (3, 2), (2, 2), true),
        ([5, 5, 8], 16, (3, 3), (1, 1), true),
        ([6, 7, 16], 48, (2, 3), (2, 1), false), ([4, 4, 32], 16, (4, 4), (1, 1), false),
        ([9, 9, 32], 16, (3, 3), (1, 1), true),
    ])
func sparseBackwardMatchesTheTileKernelsBitForBit(
    input: [Int], filters: Int, kernel: (Int, Int), strides: (Int, Int), same: Bool
) throws {
    func layer(sparse: Bool, used: (Int, Int)?) throws -> Conv2DLayer {
        let layer = try #require(
            Conv2DLayer(name: "conv", inputShape: input, filters: filters, kernel: kernel, strides: strides, same: same)
        )
        if let used { layer.usedOutput = used }
        layer.sparseOutputGradient = sparse
        return layer
    }
    let shape = try layer(sparse: false, used: nil).outputShape
    let corner = (max(1, shape[0] - 1), max(1, shape[1] - 1))
    for (used, threads) in [(nil, 1), (corner, 1), (corner, 2)] as [((Int, Int)?, Int)] {
        let dense = ConvRun(
            try layer(sparse: false, used: used), batch: 3, threads: threads, gradientRegion: used, density: 0.3)
        let sparse = ConvRun(
            try layer(sparse: true, used: used), batch: 3, threads: threads, gradientRegion: used, density: 0.3)
        #expect(
            firstDifference(sparse.weightGradient, dense.weightGradient) == nil, "dw, used \(String(describing: used))")
        #expect(
            firstDifference(sparse.inputGradient, dense.inputGradient) == nil, "dx, used \(String(describing: used))")
        #expect(sparse.biasGradient == dense.biasGradient)
    }
}

/// The first index where two arrays differ in any bit, and the two values there.
private func firstDifference(_ a: [Float], _ b: [Float]) -> (index: Int, Float, Float)? {
    guard a.count == b.count else { return (min(a.count, b.count), .nan, .nan) }
    return zip(a, b).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }.map {
        ($0.offset, $0.element.0, $0.element.1)
    }
}

/// The implicit convolution's AVX-512 tiles (32 filters at a time) give the bits of its AVX2 tiles, with a
/// 16-filter panel left over (48) and without (32, 64).
@Test(
    .enabled(if: CPU.hasAVX512, "needs a CPU with AVX-512F"),
    arguments: [([7, 6, 3], 32, true), ([6, 7, 16], 48, false), ([9, 9, 32], 64, true)])
func implicitConvolutionGivesTheSameBitsWithAndWithoutAVX512(input: [Int], filters: Int, same: Bool) throws {
    var runs: [ConvRun] = []
    for allowed: Int32 in [0, 1] {
        let layer = try #require(
            Conv2DLayer(name: "conv", inputShape: input, filters: filters, kernel: (3, 3), strides: (1, 1), same: same))
        layer.method = .implicitGEMM
        let previous = strata_cpu_set_avx512(allowed)
        runs.append(ConvRun(layer, batch: 3, threads: 2))
        strata_cpu_set_avx512(previous)
    }
    #expect(firstDifference(runs[0].output, runs[1].output) == nil)
    #expect(firstDifference(runs[0].weightGradient, runs[1].weightGradient) == nil)
    #expect(firstDifference(runs[0].inputGradient, runs[1].inputGradient) == nil)
}
