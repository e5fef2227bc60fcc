import CStrataKernels

/// A conv2d and the max pooling right after it (and a relu after that), run as one: the convolution's output is computed a band of
/// pool-height rows at a time, pooled while it is still in L1, and never stored — for fashion-cnn's first layer
/// that is a 5.5 MB tensor per batch written and read back twice. Backward rebuilds each band's output gradient
/// from the pooled gradient and the winners the same way.
///
/// Built by the plan only where it pays and is exact: the convolution runs implicit GEMM, it is the network's
/// first layer (no input gradient is needed), and the pooling's windows tile the convolution's used corner
/// (stride = pool size, no padding before). Its name and parameters are the convolution's, so checkpoints are
/// unchanged; outputs and gradients are bit-identical to the two layers run apart (tested).
public final class ConvPoolLayer: Layer {
    public let convolution: Conv2DLayer
    public let pooling: MaxPool2DLayer
    /// A relu applied to the pooled values; its gradient mask is read off the layer's own output (y > 0 exactly
    /// where the pooled value was).
    public let relu: ActivationLayer?
    private let shape: strata_pool_shape
    /// The convolution's implicit-GEMM kernels, fixed at fusion (the fused layer prepares them itself).
    private let implicit: ImplicitConvolution
    /// One band [pool height, used width, F] per part; forward and the weight gradient use at most `maxParts`.
    private let bands: UnsafeMutablePointer<Float>
    private let bandSize: Int
    private static let maxParts = 16
    /// 0, 1, … over a band's rows: the band is its own output gradient.
    private let bandOutput: UnsafeMutablePointer<Int>
    /// Each pooled value's winning cell in its window (ky·pool width + kx), [batch, PH, PW, F]: a byte, where
    /// the unfused pooling keeps an index, so the forward pass writes a quarter of the bytes.
    private var winners: UnsafeMutablePointer<UInt8>?
    private var winnersCapacity = 0

    /// nil unless the pair can be fused (see the type's documentation; first-layer placement is the plan's call).
    public init?(_ convolution: Conv2DLayer, _ pooling: MaxPool2DLayer, relu: ActivationLayer? = nil) {
        let w = pooling.window, filters = convolution.outputShape[2]
        if let relu { guard relu.kind == .relu, relu.inputShape == pooling.outputShape else { return nil } }
        guard let implicit = convolution.implicit, pooling.inputShape == convolution.outputShape, w.tilesInput,
            w.kernelHeight * w.kernelWidth <= Int(UInt8.max) + 1,
            convolution.usedOutput == (w.outputHeight * w.kernelHeight, w.outputWidth * w.kernelWidth)
        else { return nil }
        self.implicit = implicit
        self.convolution = convolution
        self.pooling = pooling
        self.relu = relu
        shape = strata_pool_shape(
            out_w: convolution.outputShape[1], pool_h: w.kernelHeight, pool_w: w.kernelWidth, pooled_h: w.outputHeight,
            pooled_w: w.outputWidth, relu: relu == nil ? 0 : 1)
        let run = w.outputWidth * w.kernelWidth
        bandSize = w.kernelHeight * run * filters
        bands = .allocate(capacity: bandSize * ConvPoolLayer.maxParts)
        bandOutput = .allocate(capacity: w.kernelHeight * run)
        for i in 0..<w.kernelHeight * run { bandOutput[i] = i }
    }

    deinit {
        bands.deallocate()
        bandOutput.deallocate()
        winners?.deallocate()
    }

    public var name: String { convolution.name }
    public var inputShape: [Int] { convolution.inputShape }
    public var outputShape: [Int] { pooling.outputShape }
    public var parameters: [Parameter] { convolution.parameters }

    public func prepare(maxBatch: Int) {
        implicit.prepare(maxBatch: maxBatch)
        let needed = maxBatch * outputSize
        guard needed > winnersCapacity else { return }
        winners?.deallocate()
        winners = .allocate(capacity: needed)
        winnersCapacity = needed
    }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let parts = min(Parallel.parts(batch, threads: context.threads), ConvPoolLayer.maxParts)
        implicit.poolForward(
            output, winners: context.training ? winners : nil, input, weight: convolution.weight.value.pointer,
            bias: convolution.bias.map { UnsafePointer($0.value.pointer) }, pool: shape, bands: bands,
            bandSize: bandSize,
            parts: parts, batch: batch)
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        precondition(inputGradient == nil, "\(name): a fused convolution and pooling must be the first layer")
        implicit.poolWeightGradient(
            convolution.weight.gradient.pointer, convolution.bias?.gradient.pointer, input,
            pooledGradient: outputGradient,
            pooled: output, winners: winners!, pool: shape, bandOutput: bandOutput, bands: bands,
            bandSize: bandSize,
            maxParts: ConvPoolLayer.maxParts, batch: batch, threads: context.threads)
    }
}
