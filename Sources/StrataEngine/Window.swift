/// Sliding-window geometry shared by conv2d and max_pool2d (Keras' rules).
public struct Window: Sendable, Equatable {
    public var inputHeight, inputWidth: Int
    public var kernelHeight, kernelWidth: Int
    public var strideHeight, strideWidth: Int
    public var outputHeight, outputWidth: Int
    /// Rows and columns of zero padding before the input (same padding puts any odd extra after it).
    public var padTop, padLeft: Int

    /// Rows and columns from the top-left of the (padded) input that some window covers; trailing ones a stride
    /// skips are left out.
    public var reach: (height: Int, width: Int) {
        ((outputHeight - 1) * strideHeight + kernelHeight, (outputWidth - 1) * strideWidth + kernelWidth)
    }

    /// Windows side by side without overlap or padding before (stride = size): each input in at most one.
    public var tilesInput: Bool {
        strideHeight == kernelHeight && strideWidth == kernelWidth && padTop == 0 && padLeft == 0
    }

    /// nil when a valid window does not fit in the input.
    public init?(input: (Int, Int), kernel: (Int, Int), strides: (Int, Int), same: Bool) {
        (inputHeight, inputWidth) = input
        (kernelHeight, kernelWidth) = kernel
        (strideHeight, strideWidth) = strides
        if same {
            outputHeight = (inputHeight + strideHeight - 1) / strideHeight
            outputWidth = (inputWidth + strideWidth - 1) / strideWidth
            padTop = max((outputHeight - 1) * strideHeight + kernelHeight - inputHeight, 0) / 2
            padLeft = max((outputWidth - 1) * strideWidth + kernelWidth - inputWidth, 0) / 2
        } else {
            guard kernelHeight <= inputHeight, kernelWidth <= inputWidth else { return nil }
            outputHeight = (inputHeight - kernelHeight) / strideHeight + 1
            outputWidth = (inputWidth - kernelWidth) / strideWidth + 1
            padTop = 0
            padLeft = 0
        }
    }
}
