import CStrataKernels
import Dispatch

/// Whether an operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed
}

/// Per-thread packing buffers for GEMM, allocated once (the training step allocates nothing).
public final class GEMMWorkspace: @unchecked Sendable {
    let packA: [UnsafeMutablePointer<Float>?]
    let packB: [UnsafeMutablePointer<Float>?]
    /// The B buffers, one after another: a product split across threads packs op(A) here once (unless the
    /// AVX-512 tiles read it in place), and each thread its blocks of op(B).
    let packBStorage: UnsafeMutablePointer<Float>
    let packBStorageFloats: Int

    public init(threads: Int) {
        let floatsB = Int(STRATA_GEMM_KC) * Int(STRATA_GEMM_NC)
        packA = (0..<threads).map { _ in .allocate(capacity: Int(STRATA_GEMM_MC) * Int(STRATA_GEMM_KC)) }
        packBStorageFloats = max(1, threads) * floatsB
        packBStorage = .allocate(capacity: packBStorageFloats)
        packB = (0..<threads).map { [packBStorage] in packBStorage + $0 * floatsB }
    }

    deinit {
        packA.forEach { $0?.deallocate() }
        packBStorage.deallocate()
    }

    public var threads: Int { packA.count }
    /// What each thread's packing buffers take.
    public static let bytesPerThread =
        (Int(STRATA_GEMM_MC) * Int(STRATA_GEMM_KC) + Int(STRATA_GEMM_KC) * Int(STRATA_GEMM_NC))
        * MemoryLayout<Float>.size
    /// Floats in each thread's B buffer, which kernels outside GEMM may borrow as scratch between products.
    public var scratchFloats: Int { Int(STRATA_GEMM_KC) * Int(STRATA_GEMM_NC) }
}

public enum GEMM {
    /// Below this many multiply-adds per extra thread, waking a worker (≈16 µs here) costs more than it saves.
    public static let multiplyAddsPerThread = 1 << 20

    /// c[m, n] = op(a)[m, k] · op(b)[k, n], or += when `accumulate`, on at most `threads` (the workspace's).
    /// op(a) is a[m, k] (lda ≥ k) or, transposed, a stored as [k, m]; op(b) is b[k, n] or b stored as [n, k].
    /// With more than one thread, the threads claim blocks of c's columns in turn over op(a) packed once (when
    /// it fits the workspace; the AVX-512 tiles read an untransposed op(a) in place), or, for a product taller
    /// than wide, blocks of c's rows over op(b) packed once; every element is summed in the same order whatever
    /// the split, so any thread count gives identical bits.
    public static func multiply(
        _ c: UnsafeMutablePointer<Float>, ldc: Int,
        _ a: UnsafePointer<Float>, lda: Int, _ transA: Transpose,
        _ b: UnsafePointer<Float>, ldb: Int, _ transB: Transpose,
        m: Int, n: Int, k: Int, accumulate: Bool, workspace: GEMMWorkspace, threads: Int? = nil
    ) {
        let work = m * n * k
        let threads = max(1, min(threads ?? workspace.threads, workspace.threads, work / multiplyAddsPerThread))
        workspace.packA.withUnsafeBufferPointer { packA in
            workspace.packB.withUnsafeBufferPointer { packB in
                strata_sgemm_parallel(
                    CPU.hasAVX2FMA ? 1 : 0, Int32(threads), transA == .transposed ? 1 : 0,
                    transB == .transposed ? 1 : 0,
                    m, n, k, a, lda, b, ldb, accumulate ? 1 : 0, c, ldc, packA.baseAddress, packB.baseAddress,
                    workspace.packBStorage, workspace.packBStorageFloats)
            }
        }
    }
}
