import CStrataKernels
import Foundation

/// What the engine found about the CPU it runs on.
public enum CPU {
    /// Whether the AVX2+FMA micro-kernels can run; otherwise portable code is used.
    public static let hasAVX2FMA: Bool = strata_cpu_has_avx2_fma() != 0

    /// Whether the CPU has AVX-512F, whose wider forms of the GEMM and convolution tiles then run (unless
    /// STRATA_NO_AVX512 is set); they give the AVX2 tiles' bits.
    public static let hasAVX512: Bool = strata_cpu_has_avx512() != 0

    public static let coreCount: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Flushes denormals to zero on the calling thread (the worker pool's threads always do): without it,
    /// vanishing gradients make matrix products many times slower.
    public static func flushDenormals() { strata_flush_denormals() }
}
