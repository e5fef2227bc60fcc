/// SplitMix64 (Steele, Lea and Flood, 2014): state += 0x9E3779B97F4A7C15, then two xor-shift-multiply rounds.
/// Integer arithmetic only, so the same seed gives the same numbers on every platform; the whole state is one
/// UInt64, which checkpoints store to resume exactly.
public struct SplitMix64: Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The output function alone: a good 64-bit hash, used for stateless per-element randomness (dropout).
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits, exactly representable as Float.
    public mutating func nextUniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniformDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Standard normal by Box–Muller on two uniforms (the second value is discarded to keep the state simple).
    public mutating func nextNormal() -> Double {
        let u1 = 1 - nextUniformDouble()  // (0, 1]: log is finite
        let u2 = nextUniformDouble()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// Uniform integer in 0..<bound without modulo bias (Lemire's method).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// A seeded Fisher–Yates shuffle.
    /// Specialized for index arrays: the trainer shuffles 60 000 indices an epoch, and the generic version
    /// spends most of that looking up witness tables.
    @_specialize(where T == Int)
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        array.withUnsafeMutableBufferPointer { array in
            for i in stride(from: array.count - 1, to: 0, by: -1) {
                array.swapAt(i, nextInt(below: i + 1))
            }
        }
    }

    /// Independent streams for different purposes from one seed (initializers, shuffling, dropout, splits).
    public static func stream(seed: UInt64, purpose: UInt64) -> SplitMix64 {
        SplitMix64(seed: mix(seed ^ mix(purpose &+ 0x632B_E59B_D9B4_E019)))
    }
}

import Foundation

@inline(__always) func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Foundation.cos(x) }
