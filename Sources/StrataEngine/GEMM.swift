import CStrataKernels
import Dispatch

/// Whether an operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed
}

/// Per-thread packing buffers for GEMM, allocated once (the training step allocates nothing).
public final class GEMMWorkspace: @unchecked Sendable {
    let packA: [UnsafeMutablePointer<Float>]
    let packB: [UnsafeMutablePointer<Float>]

    public init(threads: Int) {
        packA = (0..<threads).map { _ in .allocate(capacity: Int(STRATA_GEMM_MC) * Int(STRATA_GEMM_KC)) }
        packB = (0..<threads).map { _ in .allocate(capacity: Int(STRATA_GEMM_KC) * Int(STRATA_GEMM_NC)) }
    }

    deinit {
        packA.forEach { $0.deallocate() }
        packB.forEach { $0.deallocate() }
    }

    public var threads: Int { packA.count }
}

public enum GEMM {
    /// Below this many multiply-adds per extra thread, waking a worker (≈16 µs here) costs more than it saves.
    public static let multiplyAddsPerThread = 1 << 20

    /// c[m, n] = op(a)[m, k] · op(b)[k, n], or += when `accumulate`.
    /// op(a) is a[m, k] (lda ≥ k) or, transposed, a stored as [k, m]; op(b) is b[k, n] or b stored as [n, k].
    /// The columns are split across at most `workspace.threads` threads in 16-column multiples; every element
    /// is summed in the same order whatever the split, so any thread count gives identical bits.
    public static func multiply(
        _ c: UnsafeMutablePointer<Float>, ldc: Int,
        _ a: UnsafePointer<Float>, lda: Int, _ transA: Transpose,
        _ b: UnsafePointer<Float>, ldb: Int, _ transB: Transpose,
        m: Int, n: Int, k: Int, accumulate: Bool, workspace: GEMMWorkspace
    ) {
        let nr = Int(STRATA_GEMM_NR)
        let panels = (n + nr - 1) / nr
        let work = m * n * k
        let threads = max(1, min(workspace.threads, panels, work / multiplyAddsPerThread))
        let avx = CPU.hasAVX2FMA ? Int32(1) : 0
        let ta: Int32 = transA == .transposed ? 1 : 0
        let tb: Int32 = transB == .transposed ? 1 : 0
        let run = { (thread: Int) in
            let first = panels * thread / threads * nr
            let last = min(n, panels * (thread + 1) / threads * nr)
            guard first < last else { return }
            let bOffset = transB == .transposed ? first * ldb : first
            strata_sgemm(
                avx, ta, tb, m, last - first, k, a, lda, b + bOffset, ldb, accumulate ? 1 : 0, c + first, ldc,
                workspace.packA[thread], workspace.packB[thread])
        }
        Parallel.run(threads, run)
    }
}
