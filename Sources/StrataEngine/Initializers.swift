import Foundation

/// How a parameter tensor starts. Fan-in and fan-out follow Keras: dense [in, out]; conv [kh, kw, cin, cout]
/// has fan_in = kh·kw·cin, fan_out = kh·kw·cout.
public enum InitializerKind: Sendable, Equatable {
    case glorotUniform, heNormal, heUniform, zeros, ones
    case constant(Float)
    case values([Float])
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
        case .values(let values):
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
