/// How a window laid over an image in Caffe or Darknet (a pad before the first window, an output size by their
/// own rounding) maps to Strata's `valid` or `same` padding, which follow Keras.
enum WindowMatch: Equatable {
    /// Strata's padding gives the same output size and the same window positions.
    case exact(String)
    /// The same output size, but Strata's windows start at a different offset (a pixel's shift).
    case shifted(String)
}

enum ImportWindows {
    /// Keras' output size and top padding for `same`.
    static func same(input: Int, kernel: Int, stride: Int) -> (output: Int, padBefore: Int) {
        let output = (input + stride - 1) / stride
        let total = max((output - 1) * stride + kernel - input, 0)
        return (output, total / 2)
    }

    /// The Strata padding that reproduces a window of `kernel` and `stride` over `input` with `padBefore` cells
    /// before the first window and `output` windows; nil when neither does.
    static func match(input: Int, kernel: Int, stride: Int, padBefore: Int, output: Int) -> WindowMatch? {
        if padBefore == 0, kernel <= input, (input - kernel) / stride + 1 == output { return .exact("valid") }
        let s = same(input: input, kernel: kernel, stride: stride)
        guard s.output == output else { return nil }
        return s.padBefore == padBefore ? .exact("same") : .shifted("same")
    }

    /// One padding for both axes, or nil when they differ.
    static func both(_ height: WindowMatch?, _ width: WindowMatch?) -> WindowMatch? {
        guard let height, let width else { return nil }
        switch (height, width) {
        case (.exact(let a), .exact(let b)) where a == b: return .exact(a)
        case (.exact(let a), .shifted(let b)) where a == b, (.shifted(let a), .exact(let b)) where a == b,
            (.shifted(let a), .shifted(let b)) where a == b:
            return .shifted(a)
        default: return nil
        }
    }

    static func padding(of match: WindowMatch) -> String {
        switch match {
        case .exact(let p), .shifted(let p): return p
        }
    }
}
