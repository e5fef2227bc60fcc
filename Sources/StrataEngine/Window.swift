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

    /// nil when a valid window does not fit in the input, or sizes are not positive, or the padding a same
    /// window needs does not fit in an Int (sizes come from specs and may be absurd).
    public init?(input: (Int, Int), kernel: (Int, Int), strides: (Int, Int), same: Bool) {
        (inputHeight, inputWidth) = input
        (kernelHeight, kernelWidth) = kernel
        (strideHeight, strideWidth) = strides
        guard [inputHeight, inputWidth, kernelHeight, kernelWidth, strideHeight, strideWidth].allSatisfy({ $0 > 0 })
        else {
            return nil
        }
        if same {
            // ⌈n / s⌉, and the padding (out − 1)·s + k − n, without overflow.
            func padding(_ n: Int, _ k: Int, _ s: Int) -> (output: Int, pad: Int)? {
                let output = n / s + (n % s == 0 ? 0 : 1)
                let (reach, overflow) = (output - 1).multipliedReportingOverflow(by: s)
                let (end, overflow2) = reach.addingReportingOverflow(k)
                guard !overflow, !overflow2 else { return nil }
                return (output, max(end - n, 0) / 2)
            }
            guard let rows = padding(inputHeight, kernelHeight, strideHeight),
                let columns = padding(inputWidth, kernelWidth, strideWidth)
            else { return nil }
            (outputHeight, padTop) = rows
            (outputWidth, padLeft) = columns
        } else {
            guard kernelHeight <= inputHeight, kernelWidth <= inputWidth else { return nil }
            outputHeight = (inputHeight - kernelHeight) / strideHeight + 1
            outputWidth = (inputWidth - kernelWidth) / strideWidth + 1
            padTop = 0
            padLeft = 0
        }
    }
}
