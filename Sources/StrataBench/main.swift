import CStrataKernels
import Foundation
import StrataEngine

/// `strata-bench`: engine throughput, one JSON object per line. Each figure is the median of several runs.

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Median seconds of `body`, repeated until about `budget` seconds have passed (at least 5 runs).
func medianSeconds(budget: Double = 0.4, _ body: () -> Void) -> Double {
    body()
    var samples: [Double] = []
    let start = now()
    while samples.count < 5 || (now() - start < budget && samples.count < 200) {
        let t0 = now()
        body()
        samples.append(now() - t0)
    }
    samples.sort()
    return samples[samples.count / 2]
}

func emit(_ fields: [(String, Any)]) {
    let parts = fields.map { key, value -> String in
        switch value {
        case let s as String: return "\"\(key)\": \"\(s)\""
        case let d as Double: return "\"\(key)\": \(String(format: "%.2f", d))"
        default: return "\"\(key)\": \(value)"
        }
    }
    print("{" + parts.joined(separator: ", ") + "}")
    fflush(nil)
}

/// One core's FMA peak in GFLOP/s: 12 chains of 8-wide FMAs, 2 flops each.
func measurePeak() -> Double {
    let iterations = 20_000_000
    var sink: Float = 0
    let seconds = medianSeconds(budget: 0.5) { sink += strata_fma_peak_probe(iterations) }
    if sink.isNaN { print("") }
    return Double(iterations) * 12 * 8 * 2 / seconds / 1e9
}

let peak = CPU.hasAVX2FMA ? measurePeak() : 0
emit([("kernel", "fma_peak"), ("threads", 1), ("gflops", peak), ("avx2_fma", CPU.hasAVX2FMA)])

func benchGEMM(m: Int, k: Int, n: Int, threads: Int) {
    let a = Tensor(shape: [m, k], value: 0.5), b = Tensor(shape: [k, n], value: 0.25), c = Tensor(shape: [m, n])
    let workspace = GEMMWorkspace(threads: threads)
    let seconds = medianSeconds {
        GEMM.multiply(
            c.pointer, ldc: n, a.pointer, lda: k, .none, b.pointer, ldb: n, .none, m: m, n: n, k: k,
            accumulate: false, workspace: workspace)
    }
    let gflops = 2 * Double(m) * Double(n) * Double(k) / seconds / 1e9
    emit([
        ("kernel", "gemm"), ("shape", "\(m)x\(k)x\(n)"), ("threads", threads), ("gflops", gflops),
        ("percent_of_peak", peak > 0 ? 100 * gflops / (peak * Double(threads)) : 0),
    ])
}

for (m, k, n) in [(64, 784, 128), (64, 128, 784), (784, 64, 128), (128, 784, 512), (512, 512, 512), (1024, 1024, 1024)] {
    for threads in [1, 2] { benchGEMM(m: m, k: k, n: n, threads: threads) }
}
