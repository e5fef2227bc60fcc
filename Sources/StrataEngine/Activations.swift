import CStrataKernels
import Foundation

public enum ActivationKind: Sendable, Equatable, CustomStringConvertible {
    case linear, relu, sigmoid, tanh, softmax, softplus, gelu, silu
    case leakyRelu(alpha: Float)
    case elu(alpha: Float)

    /// Every kind by its spec name, with its parameters at Keras' defaults (`swish` is silu's other name).
    public static let byName: [(name: String, kind: ActivationKind)] = [
        ("linear", .linear), ("relu", .relu), ("leaky_relu", .leakyRelu(alpha: 0.2)), ("elu", .elu(alpha: 1)),
        ("sigmoid", .sigmoid), ("tanh", .tanh), ("softmax", .softmax), ("softplus", .softplus), ("gelu", .gelu),
        ("silu", .silu), ("swish", .silu),
    ]

    public var name: String {
        switch self {
        case .linear: "linear"
        case .relu: "relu"
        case .leakyRelu: "leaky_relu"
        case .elu: "elu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .softmax: "softmax"
        case .softplus: "softplus"
        case .gelu: "gelu"
        case .silu: "silu"
        }
    }

    /// The parameter a kind takes in a spec (`{leaky_relu: {alpha: 0.1}}`), with its value.
    public var alpha: Float? {
        switch self {
        case .leakyRelu(let alpha), .elu(let alpha): alpha
        default: nil
        }
    }

    public func with(alpha: Float) -> ActivationKind {
        switch self {
        case .leakyRelu: .leakyRelu(alpha: alpha)
        case .elu: .elu(alpha: alpha)
        default: self
        }
    }

    public var description: String { alpha.map { "\(name)(alpha=\($0))" } ?? name }

    /// Elementwise and never decreasing, so it commutes with max pooling.
    public var isMonotonic: Bool {
        switch self {
        case .softmax, .gelu, .silu: false
        case .leakyRelu(let alpha), .elu(let alpha): alpha >= 0
        case .linear, .relu, .sigmoid, .tanh, .softplus: true
        }
    }
}

/// Elementwise activations and softmax, forward and backward, over raw buffers.
/// Backward kernels take the forward output y (and input x where the derivative needs it).
public enum ActivationKernels {
    /// y[count] = f(x[count]); softmax normalizes each row of `width`.
    public static func forward(
        _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, width: Int, kind: ActivationKind
    ) {
        switch kind {
        case .linear:
            if UnsafePointer(y) != x { y.update(from: x, count: count) }
        case .relu:
            strata_relu_forward(y, x, count)
        case .leakyRelu(let alpha):
            for i in 0..<count { y[i] = x[i] > 0 ? x[i] : alpha * x[i] }
        case .sigmoid:
            for i in 0..<count { y[i] = sigmoid(x[i]) }
        case .tanh:
            for i in 0..<count { y[i] = Foundation.tanh(x[i]) }
        case .softmax:
            for row in stride(from: 0, to: count, by: width) {
                softmaxRow(y + row, x + row, width: width)
            }
        case .elu(let alpha):
            for i in 0..<count { y[i] = x[i] > 0 ? x[i] : alpha * expm1(x[i]) }
        case .softplus:
            for i in 0..<count { y[i] = softplus(x[i]) }
        case .gelu:
            for i in 0..<count { y[i] = 0.5 * x[i] * (1 + erf(x[i] * Float(0.5).squareRoot())) }
        case .silu:
            for i in 0..<count { y[i] = x[i] * sigmoid(x[i]) }
        }
    }

    /// dx[count] = f'(x) · dy. At relu's kink (x = 0) the derivative is taken as 0, as in Keras and PyTorch.
    public static func backward(
        _ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
        y: UnsafePointer<Float>, count: Int, width: Int, kind: ActivationKind
    ) {
        switch kind {
        case .linear:
            if UnsafePointer(dx) != dy { dx.update(from: dy, count: count) }
        case .relu:
            strata_relu_backward(dx, dy, x, count)
        case .leakyRelu(let alpha):
            for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : alpha * dy[i] }
        case .sigmoid:
            for i in 0..<count { dx[i] = dy[i] * y[i] * (1 - y[i]) }
        case .tanh:
            for i in 0..<count { dx[i] = dy[i] * (1 - y[i] * y[i]) }
        case .softmax:
            for row in stride(from: 0, to: count, by: width) {
                var dot: Float = 0
                for j in 0..<width { dot += dy[row + j] * y[row + j] }
                for j in 0..<width { dx[row + j] = y[row + j] * (dy[row + j] - dot) }
            }
        case .elu(let alpha):
            // For x ≤ 0, y = α(eˣ − 1), so f'(x) = y + α.
            for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : dy[i] * (y[i] + alpha) }
        case .softplus:
            for i in 0..<count { dx[i] = dy[i] * sigmoid(x[i]) }
        case .gelu:
            // f'(x) = Φ(x) + x·φ(x), Φ and φ the standard normal's distribution and density.
            let inverseRoot2 = Float(0.5).squareRoot(), inverseRoot2Pi = 1 / Float(2 * Float.pi).squareRoot()
            for i in 0..<count {
                let cdf = 0.5 * (1 + erf(x[i] * inverseRoot2))
                dx[i] = dy[i] * (cdf + x[i] * inverseRoot2Pi * exp(-0.5 * x[i] * x[i]))
            }
        case .silu:
            for i in 0..<count {
                let s = sigmoid(x[i])
                dx[i] = dy[i] * s * (1 + x[i] * (1 - s))
            }
        }
    }

    /// log(1 + eˣ) without overflow for large x.
    @inline(__always)
    static func softplus(_ x: Float) -> Float { max(x, 0) + log1p(exp(-abs(x))) }

    /// Numerically stable: subtracts the row maximum before exponentiating.
    @inline(__always)
    public static func softmaxRow(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, width: Int) {
        var maximum = -Float.infinity
        for j in 0..<width { maximum = max(maximum, x[j]) }
        var sum: Float = 0
        for j in 0..<width {
            let e = exp(x[j] - maximum)
            y[j] = e
            sum += e
        }
        let inverse = 1 / sum
        for j in 0..<width { y[j] *= inverse }
    }

    @inline(__always)
    public static func sigmoid(_ x: Float) -> Float {
        // Split by sign so exp never overflows.
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }
}

/// A standalone activation layer; dense and conv2d activations also run as one of these after them.
public final class ActivationLayer: Layer {
    public let name: String
    public let kind: ActivationKind
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }

    public init(name: String, kind: ActivationKind, shape: [Int]) {
        self.name = name
        self.kind = kind
        inputShape = shape
    }

    /// Large batches are split by rows across the pool; rows are independent, so any split gives the same bits.
    private func rows(_ batch: Int, _ context: StepContext, _ body: (Int, Int) -> Void) {
        let parts =
            batch * inputSize >= Parallel.serialElements ? Parallel.parts(batch, threads: context.threads) : 1
        Parallel.run(parts) { part in
            let examples = Parallel.share(part, of: parts, batch)
            body(examples.lowerBound * self.inputSize, examples.count * self.inputSize)
        }
    }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let width = inputShape.last ?? 1
        rows(batch, context) { offset, count in
            ActivationKernels.forward(output + offset, input + offset, count: count, width: width, kind: self.kind)
        }
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        guard let inputGradient else { return }
        let width = inputShape.last ?? 1
        rows(batch, context) { offset, count in
            ActivationKernels.backward(
                inputGradient + offset, outputGradient + offset, x: input + offset, y: output + offset, count: count,
                width: width, kind: self.kind)
        }
    }
}
