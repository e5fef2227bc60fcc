import Foundation

/// How a parameter tensor starts. Fan-in and fan-out follow Keras: dense [in, out]; conv [kh, kw, cin, cout]
/// has fan_in = kh·kw·cin, fan_out = kh·kw·cout.
public enum InitializerKind: Sendable, Equatable {
    case glorotUniform, heNormal, heUniform, zeros, ones
    case constant(Float)
    /// Explicit values, row-major in the tensor's layout; `shape` as written (a 1-D list may fill a column).
    case values([Float], shape: [Int])

    /// Every kind by its spec name; `constant` and `values` carry what the spec gives them.
    public static let names = ["glorot_uniform", "he_normal", "he_uniform", "zeros", "ones", "constant", "values"]
    public static let plain: [String: InitializerKind] = [
        "glorot_uniform": .glorotUniform, "he_normal": .heNormal, "he_uniform": .heUniform, "zeros": .zeros,
        "ones": .ones,
    ]

    public var name: String {
        switch self {
        case .glorotUniform: "glorot_uniform"
        case .heNormal: "he_normal"
        case .heUniform: "he_uniform"
        case .zeros: "zeros"
        case .ones: "ones"
        case .constant: "constant"
        case .values: "values"
        }
    }
}

public enum Initialization {
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (shape[0], shape[0])
        case 2: return (shape[0], shape[1])
        default:
            let receptive = shape.dropLast(2).reduce(1, *)
            return (receptive * shape[shape.count - 2], receptive * shape[shape.count - 1])
        }
    }

    /// Fills `tensor` in index order from `random`, so a seed fixes every value.
    public static func fill(_ tensor: Tensor, _ kind: InitializerKind, random: inout SplitMix64) {
        let (fanIn, fanOut) = fans(tensor.shape)
        switch kind {
        case .zeros: tensor.fill(0)
        case .ones: tensor.fill(1)
        case .constant(let value): tensor.fill(value)
        case .values(let values, _):
            precondition(values.count == tensor.count, "\(values.count) values for \(tensor.shape)")
            for i in 0..<tensor.count { tensor[i] = values[i] }
        case .glorotUniform:
            uniform(tensor, limit: (6 / Double(fanIn + fanOut)).squareRoot(), random: &random)
        case .heUniform:
            uniform(tensor, limit: (6 / Double(fanIn)).squareRoot(), random: &random)
        case .heNormal:
            // Keras draws from a normal truncated at two standard deviations, std = √(2 / fan_in) / 0.8796.
            let std = (2 / Double(fanIn)).squareRoot() / 0.879_625_720_827_276_1
            for i in 0..<tensor.count {
                var z: Double
                repeat { z = random.nextNormal() } while abs(z) > 2
                tensor[i] = Float(z * std)
            }
        }
    }

    private static func uniform(_ tensor: Tensor, limit: Double, random: inout SplitMix64) {
        for i in 0..<tensor.count { tensor[i] = Float((2 * random.nextUniformDouble() - 1) * limit) }
    }
}
