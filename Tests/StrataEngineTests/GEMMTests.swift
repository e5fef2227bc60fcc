import Testing

import CStrataKernels
@testable import StrataEngine

/// c = op(a)·op(b) (+ c) in Double, the obvious way.
private func reference(
    _ a: [Float], _ transA: Transpose, _ b: [Float], _ transB: Transpose, m: Int, n: Int, k: Int, c: [Float]?
) -> [Double] {
    var out = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var sum = c.map { Double($0[i * n + j]) } ?? 0
            for p in 0..<k {
                let av = transA == .none ? a[i * k + p] : a[p * m + i]
                let bv = transB == .none ? b[p * n + j] : b[j * k + p]
                sum += Double(av) * Double(bv)
            }
            out[i * n + j] = sum
        }
    }
    return out
}

private func randomValues(_ count: Int, _ random: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in random.nextUniform() * 2 - 1 }
}

private func run(
    _ a: Tensor, _ transA: Transpose, _ b: Tensor, _ transB: Transpose, _ c: Tensor, m: Int, n: Int, k: Int,
    accumulate: Bool, threads: Int
) {
    GEMM.multiply(
        c.pointer, ldc: n, a.pointer, lda: transA == .none ? k : m, transA, b.pointer, ldb: transB == .none ? n : k,
        transB,
        m: m, n: n, k: k, accumulate: accumulate, workspace: GEMMWorkspace(threads: threads))
}

/// Runs `body` for every form of op(a)·op(b) (+ c): random a [m·k], b [k·n] and a starting c [m·n], each
/// transposition of a and of b, accumulating or not.
private func forEveryForm(
    m: Int, k: Int, n: Int, seed: UInt64,
    _ body: (Tensor, Tensor, [Float], Transpose, Transpose, Bool) -> Void
) {
    var random = SplitMix64(seed: seed)
    let a = Tensor(shape: [m * k], values: randomValues(m * k, &random))
    let b = Tensor(shape: [k * n], values: randomValues(k * n, &random))
    let start = randomValues(m * n, &random)
    for transA in [Transpose.none, .transposed] {
        for transB in [Transpose.none, .transposed] {
            for accumulate in [false, true] { body(a, b, start, transA, transB, accumulate) }
        }
    }
}

/// (29, 700, 64) is whole pairs of column panels, so the AVX-512 tiles read A in place; it leaves five rows after
/// whole row panels and takes three depth blocks. (13, 1024, 64) is too, but its rows lie 4 KiB apart, so A is
/// packed for them.
private let shapes = [
    (1, 1, 1), (7, 13, 5), (6, 16, 1), (65, 129, 33), (13, 300, 40), (100, 17, 260), (97, 2100, 3), (29, 700, 64),
    (13, 1024, 64),
]

@Test(arguments: shapes)
func gemmMatchesReferenceInEveryForm(m: Int, k: Int, n: Int) {
    var random = SplitMix64(seed: UInt64(m * 1000 + k * 10 + n))
    for transA in [Transpose.none, .transposed] {
        for transB in [Transpose.none, .transposed] {
            for accumulate in [false, true] {
                let av = randomValues(m * k, &random), bv = randomValues(k * n, &random),
                    cv = randomValues(m * n, &random)
                let a = Tensor(shape: [m * k], values: av), b = Tensor(shape: [k * n], values: bv),
                    c = Tensor(shape: [m * n], values: cv)
                run(a, transA, b, transB, c, m: m, n: n, k: k, accumulate: accumulate, threads: 1)
                let expected = reference(av, transA, bv, transB, m: m, n: n, k: k, c: accumulate ? cv : nil)
                let worst = zip(c.values, expected).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(
                    worst <= 1e-5 * Double(k) + 1e-6,
                    "\(m)x\(k)x\(n) \(transA) \(transB) accumulate \(accumulate): error \(worst)")
            }
        }
    }
}

@Test(arguments: shapes + [(64, 784, 128), (784, 64, 128)])
func gemmGivesIdenticalBitsOnOneAndTwoThreads(m: Int, k: Int, n: Int) {
    var random = SplitMix64(seed: 7)
    let a = Tensor(shape: [m * k], values: randomValues(m * k, &random))
    let b = Tensor(shape: [k * n], values: randomValues(k * n, &random))
    for (transA, transB) in [(Transpose.none, Transpose.none), (.transposed, .none), (.none, .transposed)] {
        let one = Tensor(shape: [m * n]), two = Tensor(shape: [m * n])
        run(a, transA, b, transB, one, m: m, n: n, k: k, accumulate: false, threads: 1)
        // Force the split even where the product is small.
        let workspace = GEMMWorkspace(threads: 2)
        let panels = (n + 15) / 16
        let half = panels / 2 * 16
        if half > 0 && half < n {
            GEMM.multiply(
                two.pointer, ldc: n, a.pointer, lda: transA == .none ? k : m, transA, b.pointer,
                ldb: transB == .none ? n : k, transB, m: m, n: half, k: k, accumulate: false, workspace: workspace)
            let bOffset = transB == .none ? half : half * k
            GEMM.multiply(
                two.pointer + half, ldc: n, a.pointer, lda: transA == .none ? k : m, transA, b.pointer + bOffset,
                ldb: transB == .none ? n : k, transB, m: m, n: n - half, k: k, accumulate: false, workspace: workspace)
        } else {
            run(a, transA, b, transB, two, m: m, n: n, k: k, accumulate: false, threads: 2)
        }
        #expect(one.values == two.values)
        let threaded = Tensor(shape: [m * n])
        run(a, transA, b, transB, threaded, m: m, n: n, k: k, accumulate: false, threads: 2)
        #expect(one.values == threaded.values)
    }
}

@Test func gemmWithZeroDepthOverwritesOrKeeps() {
    let c = Tensor(shape: [4], value: 3)
    let a = Tensor(shape: [1]), b = Tensor(shape: [1])
    run(a, .none, b, .none, c, m: 2, n: 2, k: 0, accumulate: true, threads: 1)
    #expect(c.values == [3, 3, 3, 3])
    run(a, .none, b, .none, c, m: 2, n: 2, k: 0, accumulate: false, threads: 1)
    #expect(c.values == [0, 0, 0, 0])
}

@Test(arguments: [(7, 13, 5), (65, 129, 33)])
func portableKernelMatchesReferenceToo(m: Int, k: Int, n: Int) {
    // The path a CPU without AVX2/FMA takes.
    var random = SplitMix64(seed: 11)
    let av = randomValues(m * k, &random), bv = randomValues(k * n, &random)
    let a = Tensor(shape: [m * k], values: av), b = Tensor(shape: [k * n], values: bv), c = Tensor(shape: [m * n])
    let workspace = GEMMWorkspace(threads: 1)
    strata_sgemm(0, 0, 1, m, n, k, a.pointer, k, b.pointer, k, 0, c.pointer, n, workspace.packA[0], workspace.packB[0])
    let expected = reference(av, .none, bv, .transposed, m: m, n: n, k: k, c: nil)
    let worst = zip(c.values, expected).map { abs(Double($0) - $1) }.max() ?? 0
    #expect(worst <= 1e-5 * Double(k) + 1e-6)
}

@Test func biasKernelsGiveIdenticalBitsOnOneAndTwoThreads() {
    let rows = 4000, width = 32
    var random = SplitMix64(seed: 4)
    let dy = Tensor(shape: [rows, width], values: randomValues(rows * width, &random))
    let one = Tensor(shape: [width]), two = Tensor(shape: [width])
    BiasKernels.reduce(one.pointer, dy.pointer, rows: rows, width: width, threads: 1)
    BiasKernels.reduce(two.pointer, dy.pointer, rows: rows, width: width, threads: 2)
    #expect(one.values == two.values)
    let y1 = Tensor(shape: [rows, width], values: dy.values), y2 = Tensor(shape: [rows, width], values: dy.values)
    BiasKernels.add(y1.pointer, one.pointer, rows: rows, width: width, threads: 1)
    BiasKernels.add(y2.pointer, one.pointer, rows: rows, width: width, threads: 2)
    #expect(y1.values == y2.values)
}

/// The AVX-512 tiles only speed the product up: with them and without, every form and edge gives the same bits
/// (the widths cover a pair of panels exactly, with one panel left over, one panel alone, and with a partial
/// panel; the heights leave 1 to 5 rows after whole row panels). They read op(A) and op(B) where they lie when
/// they can: B untransposed with full panels in place for products up to three row blocks tall (200 rows), packed
/// above (300).
@Test(
    .enabled(if: CPU.hasAVX512, "needs a CPU with AVX-512F (the AVX2 kernel is then the only one)"),
    arguments: [
        (13, 300, 32), (65, 129, 48), (6, 784, 128), (100, 17, 100), (31, 260, 33), (64, 784, 10), (128, 50, 64),
        (3, 40, 64), (100, 17, 16), (7, 40, 16), (200, 30, 32), (300, 20, 48),
    ])
func avx512TilesGiveTheAVX2KernelsBits(m: Int, k: Int, n: Int) {
    forEveryForm(m: m, k: k, n: n, seed: UInt64(m + k + n)) { a, b, start, transA, transB, accumulate in
        var results: [[Float]] = []
        for allowed: Int32 in [0, 1] {
            let previous = strata_cpu_set_avx512(allowed)
            let c = Tensor(shape: [m * n], values: start)
            run(a, transA, b, transB, c, m: m, n: n, k: k, accumulate: accumulate, threads: 2)
            strata_cpu_set_avx512(previous)
            results.append(c.values)
        }
        let differing = zip(results[0], results[1]).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "\(m)x\(k)x\(n) \(transA) \(transB) accumulate \(accumulate)")
    }
}

/// The product split on the pool, whatever its size: the column blocks over op(A) packed once (when op(A) is no
/// taller than op(B) is wide), the row blocks over op(B) packed once (when it is taller) or the fixed parts, on 2
/// and 3 threads, give the bits of one thread in every form, accumulating or not, with a workspace too small for
/// anything (the fixed column parts then; row blocks each packing their own op(B)), and with one that holds the
/// blocks of op(B) but not op(A) packed (the column blocks when the AVX-512 tiles read op(A) in place).
@Test(
    arguments: shapes + [(64, 784, 128), (128, 784, 512), (12, 7, 200), (200, 5, 12), (784, 64, 128), (400, 3000, 40)])
func everySplitOfTheProductGivesOneThreadsBits(m: Int, k: Int, n: Int) {
    forEveryForm(m: m, k: k, n: n, seed: UInt64(3 * m + 5 * k + 7 * n)) { a, b, start, transA, transB, accumulate in
        let one = Tensor(shape: [m * n], values: start)
        run(a, transA, b, transB, one, m: m, n: n, k: k, accumulate: accumulate, threads: 1)
        let roomForB = 2 * k * ((n + 31) / 32 * 32)
        for (threads, room) in [(2, Int.max), (3, Int.max), (2, 0), (2, roomForB)] {
            let workspace = GEMMWorkspace(threads: threads)
            let c = Tensor(shape: [m * n], values: start)
            workspace.packA.withUnsafeBufferPointer { packA in
                workspace.packB.withUnsafeBufferPointer { packB in
                    strata_sgemm_parallel(
                        CPU.hasAVX2FMA ? 1 : 0, Int32(threads), transA == .transposed ? 1 : 0,
                        transB == .transposed ? 1 : 0, m, n, k, a.pointer, transA == .none ? k : m,
                        b.pointer, transB == .none ? n : k, accumulate ? 1 : 0, c.pointer, n,
                        packA.baseAddress, packB.baseAddress, workspace.packBStorage,
                        min(room, workspace.packBStorageFloats))
                }
            }
            let differing = zip(one.values, c.values).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(
                differing == 0,
                "\(m)x\(k)x\(n) \(transA) \(transB) accumulate \(accumulate), \(threads) threads, room \(room)")
        }
    }
}
