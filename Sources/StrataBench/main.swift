import CAllocationCounter
import CStrataKernels
import Foundation
import Strata
import StrataEngine

/// `strata-bench`: engine throughput, one JSON object per line. Each figure is the median of several runs.
/// `strata-bench gemm MxKxN ...` times only the products given. STRATA_BENCH_STEPS sets how many training steps
/// `mlp` and `cnn` time (200: fewer leave the medians at the mercy of a shared machine's slow seconds).

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Seconds of each run of `body`, sorted, repeated until about `budget` seconds have passed (at least 5 runs,
/// at most `limit`), after one run to warm up.
func sampleSeconds(budget: Double, limit: Int = 200, _ body: () -> Void) -> [Double] {
    body()
    var samples: [Double] = []
    let start = now()
    while samples.count < 5 || (now() - start < budget && samples.count < limit) {
        let t0 = now()
        body()
        samples.append(now() - t0)
    }
    return samples.sorted()
}

/// The middle value (the upper of the two middle ones for an even count); 0 for none.
func median(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.sorted()[values.count / 2] }

/// Median seconds of `body`, repeated until about `budget` seconds have passed (at least 5 runs).
func medianSeconds(budget: Double = 0.4, _ body: () -> Void) -> Double {
    median(sampleSeconds(budget: budget, body))
}

func emit(_ fields: [(String, Any)]) {
    let parts = fields.map { key, value -> String in
        switch value {
        case let s as String: return "\"\(key)\": \"\(s)\""
        case let d as Double: return "\"\(key)\": \(String(format: abs(d) < 1 ? "%.4f" : "%.2f", d))"
        default: return "\"\(key)\": \(value)"
        }
    }
    print("{" + parts.joined(separator: ", ") + "}")
    fflush(nil)
}

/// One core's FMA peak in GFLOP/s at the width the kernels use: 12 chains of FMAs, 2 flops per float.
func measurePeak() -> Double {
    let iterations = 20_000_000
    var sink: Float = 0
    let seconds = medianSeconds(budget: 0.5) { sink += strata_fma_peak_probe(iterations) }
    if sink.isNaN { print("") }
    return Double(iterations) * 12 * Double(strata_fma_peak_width()) * 2 / seconds / 1e9
}

/// Ends the run on a bad option, with a message and exit status 2.
func refuse(_ message: String) -> Never {
    FileHandle.standardError.write(Data("strata-bench: \(message)\n".utf8))
    exit(2)
}

/// The whole number `name` in the environment holds (1 to `limit`), or nil when it is not set; anything else
/// ends the run with a message.
func environmentCount(_ name: String, limit: Int) -> Int? {
    guard let text = ProcessInfo.processInfo.environment[name] else { return nil }
    guard let value = Int(text), (1...limit).contains(value) else {
        refuse("\(name)='\(text)' is not a whole number 1 to \(limit)")
    }
    return value
}
let stepsWanted = environmentCount("STRATA_BENCH_STEPS", limit: 1_000_000) ?? 200
let threadsWanted = environmentCount("STRATA_BENCH_THREADS", limit: 64)

/// `strata-bench [FILTER]` runs only the lines whose kernel name contains FILTER.
let filter = CommandLine.arguments.dropFirst().first
func wanted(_ kernel: String) -> Bool { filter.map { kernel.contains($0) } ?? true }

/// `strata-bench gemm MxKxN ...` times the products given instead of the usual ones.
func gemmShapes() -> [(Int, Int, Int)] {
    let given = CommandLine.arguments.dropFirst(2)
    if given.isEmpty {
        return [(64, 784, 128), (64, 128, 784), (784, 64, 128), (128, 784, 512), (512, 512, 512), (1024, 1024, 1024)]
    }
    return given.map { text in
        let sizes = text.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard sizes.count == 3, case let .some(m) = sizes[0], case let .some(k) = sizes[1],
            case let .some(n) = sizes[2],
            [m, k, n].allSatisfy({ (1...16384).contains($0) })
        else { refuse("'\(text)' is not a shape MxKxN (each 1 to 16384)") }
        return (m, k, n)
    }
}

let gemmShapesWanted = wanted("gemm") ? gemmShapes() : []

let peak = CPU.hasAVX2FMA ? measurePeak() : 0
emit([
    ("kernel", "fma_peak"), ("threads", 1), ("gflops", peak), ("avx2_fma", CPU.hasAVX2FMA),
    ("avx512", strata_cpu_use_avx512() != 0),
])

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

for (m, k, n) in gemmShapesWanted {
    for threads in [1, 2] { benchGEMM(m: m, k: k, n: n, threads: threads) }
}

/// conv2d forward + backward (weight and input gradients) for the fashion-cnn shapes, batch 64.
func benchConv(input: [Int], filters: Int, threads: Int) {
    let batch = 64
    guard let layer = Conv2DLayer(name: "conv", inputShape: input, filters: filters, kernel: (3, 3)) else { return }
    layer.prepare(maxBatch: batch)
    var random = SplitMix64(seed: 1)
    Initialization.fill(layer.weight.value, .glorotUniform, random: &random)
    let x = Tensor(shape: [batch] + input, value: 0.5), y = Tensor(shape: [batch] + layer.outputShape)
    let dy = Tensor(shape: y.shape, value: 0.01), dx = Tensor(shape: x.shape)
    let context = StepContext(training: true, step: 0, seed: 0, workspace: GEMMWorkspace(threads: threads))
    let seconds = medianSeconds {
        layer.forward(output: y.pointer, input: x.pointer, batch: batch, context: context)
        layer.backward(
            inputGradient: dx.pointer, outputGradient: dy.pointer, input: x.pointer, output: y.pointer, batch: batch,
            context: context)
    }
    // Three products of the same size: forward, weight gradient, input gradient.
    let multiplyAdds = Double(batch * layer.outputShape[0] * layer.outputShape[1] * filters * 9 * input[2])
    let gflops = 3 * 2 * multiplyAdds / seconds / 1e9
    emit([
        ("kernel", "conv2d_fwd_bwd"),
        ("shape", "\(input.map(String.init).joined(separator: "x"))->\(filters) k3 b\(batch)"),
        ("threads", threads), ("gflops", gflops),
        ("percent_of_peak", peak > 0 ? 100 * gflops / (peak * Double(threads)) : 0),
        ("ms", seconds * 1000),
    ])
}

for threads in wanted("conv2d") ? [1, 2] : [] {
    benchConv(input: [28, 28, 1], filters: 32, threads: threads)
    benchConv(input: [13, 13, 32], filters: 64, threads: threads)
}

/// A ten-class network at `batch` with seeded weights, random inputs in [0, 1) and cycling class targets.
func preparedNetwork(
    _ layers: [Layer], threads: Int, optimizer kind: StrataEngine.OptimizerKind, batch: Int = 64
) -> (Network, Optimizer) {
    let network = Network(layers: layers, loss: .sparseCategoricalCrossentropy, maxBatch: batch, threads: threads)
    var random = SplitMix64(seed: 3)
    for (_, p) in network.parameters { Initialization.fill(p.value, p.initializer, random: &random) }
    for i in 0..<network.input.count { network.input[i] = random.nextUniform() }
    for b in 0..<batch { network.targets[b] = Float(b % 10) }
    let optimizer = Optimizer(kind: kind, parameters: network.parameters.map(\.parameter))
    optimizer.threads = threads
    return (network, optimizer)
}

/// One training step, layer by layer: forward, loss, backward with the updates layers apply, the other updates
/// (which clear their gradients). Each layer's forward and backward seconds go to `timed` (layer index, forward).
func layerByLayerStep(
    _ network: Network, _ optimizer: Optimizer, _ layers: [Layer], step: Int, batch: Int,
    timed: (Int, Bool, Double) -> Void = { _, _, _ in }
) {
    var context = StepContext(training: true, step: UInt64(step), seed: 1, workspace: network.workspace)
    for (i, layer) in layers.enumerated() {
        let t = now()
        layer.forward(
            output: network.activations[i + 1].pointer, input: network.activations[i].pointer, batch: batch,
            context: context)
        timed(i, true, now() - t)
    }
    _ = network.computeLoss(batch: batch, gradient: true)
    // As the trainer steps: dense layers apply their weight updates during backward.
    optimizer.beginStep(learningRate: 0.001)
    context.optimizer = optimizer
    // The last layer's activation is fused into the loss, as in training.
    for i in stride(from: layers.count - 2, through: 0, by: -1) {
        let t = now()
        layers[i].backward(
            inputGradient: i == 0 ? nil : network.gradients[i]!.pointer,
            outputGradient: network.gradients[i + 1]!.pointer,
            input: network.activations[i].pointer, output: network.activations[i + 1].pointer, batch: batch,
            context: context)
        timed(i, false, now() - t)
    }
    optimizer.finishStep()
}

/// A training step (`layerByLayerStep`) 200 times after a warm-up, with each layer's forward plus backward timed;
/// then 200 steps as the trainer takes them, gathering the next batch alongside. Reports medians (in `unit`: "ms"
/// or "us") and heap allocations per step (the plan promises none).
func benchStep(
    kernel: String, shape: String, layers: [Layer], optimizer kind: StrataEngine.OptimizerKind, threads: Int,
    unit: String, batch: Int = 64
) {
    let steps = stepsWanted
    let (network, optimizer) = preparedNetwork(layers, threads: threads, optimizer: kind, batch: batch)
    var forward = [[Double]](repeating: [], count: layers.count), backward = forward
    var totals: [Double] = []
    for i in 0..<layers.count {
        forward[i].reserveCapacity(steps)
        backward[i].reserveCapacity(steps)
    }
    totals.reserveCapacity(steps)
    var allocations: UInt = 0
    network.zeroGradients()  // as the trainer does; each optimizer step then clears them for the next
    for step in 0...steps {
        let before = strata_allocation_count()
        let start = now()
        layerByLayerStep(network, optimizer, layers, step: step, batch: batch) { i, isForward, seconds in
            if isForward { forward[i].append(seconds) } else { backward[i].append(seconds) }
        }
        totals.append(now() - start)
        if step == 0 {  // warm-up: first touches of buffers
            totals.removeAll(keepingCapacity: true)
            for i in 0..<layers.count {
                forward[i].removeAll(keepingCapacity: true)
                backward[i].removeAll(keepingCapacity: true)
            }
        } else {
            allocations += strata_allocation_count() - before
        }
    }
    // The step as the trainer takes it: the same work, with the next batch's rows (shuffled, from a set of
    // 4096 examples) gathered alongside the light tail.
    let examples = 4096, features = network.input.count / batch
    let dataset = (0..<examples * features).map { Float($0 % 251) / 251 },
        labels = (0..<examples).map { Float($0 % 10) }
    var order = Array(0..<examples)
    var random = SplitMix64(seed: 6)
    random.shuffle(&order)
    var overlapped: [Double] = []
    overlapped.reserveCapacity(steps)
    var overlappedAllocations: UInt = 0
    dataset.withUnsafeBufferPointer { x in
        labels.withUnsafeBufferPointer { y in
            order.withUnsafeBufferPointer { order in
                for step in 0...steps {
                    let before = strata_allocation_count()
                    let context = StepContext(training: true, step: UInt64(step), seed: 1, workspace: network.workspace)
                    let next = (step + 1) * batch % (examples - batch)
                    let start = now()
                    _ = network.trainingStep(
                        batch: batch, context: context, alongside: 8,
                        { part in
                            network.loadSpareRows(
                                part: part, of: 8, features: x.baseAddress!, targets: y.baseAddress!,
                                order: order.baseAddress, start: next,
                                count: batch)
                        },
                        begin: { _ in
                            optimizer.beginStep(learningRate: 0.001)
                            return optimizer
                        })
                    optimizer.finishStep()
                    network.useSpareBatch()
                    if step > 0 {
                        overlapped.append(now() - start)
                        overlappedAllocations += strata_allocation_count() - before
                    }
                }
            }
        }
    }
    let scale = unit == "us" ? 1e6 : 1e3
    var fields: [(String, Any)] = [
        ("kernel", kernel), ("shape", shape), ("threads", threads), ("\(unit)_per_step", median(totals) * scale),
        ("allocations_per_step", Double(allocations) / Double(steps)),
        ("with_gather_\(unit)_per_step", median(overlapped) * scale),
        ("with_gather_allocations_per_step", Double(overlappedAllocations) / Double(steps)),
    ]
    for (i, layer) in layers.enumerated() where !forward[i].isEmpty {
        // A dense or conv2d layer's activation runs as a layer of the same name.
        let label = (layer as? ActivationLayer).map { "\(layer.name)_\($0.kind.name)" } ?? layer.name
        fields.append(("\(label)_\(unit)", (median(forward[i]) + median(backward[i])) * scale))
    }
    emit(fields)
}

/// The engine layers of a bundled spec as its plan builds them (every rewrite applied), and its optimizer.
func plannedLayers(_ specName: String, batch: Int = 64) -> ([Layer], StrataEngine.OptimizerKind) {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../specs/\(specName).yaml"
    ).path
    let (spec, diagnostics) = SpecParser.load(path: path)
    guard let spec else { fatalError("\(specName) does not parse: \(diagnostics.items)") }
    let plan = ModelPlan(spec: spec, batchSize: batch, threads: 1)
    return (plan.network.layers, spec.optimizer.kind.value)
}

/// The thread counts the training steps are timed with: 1 and 2, or STRATA_BENCH_THREADS alone (e.g. for a profiler).
let stepThreads = threadsWanted.map { [$0] } ?? [1, 2]

/// fashion-mlp (784-128(relu)-10(softmax), SGD momentum), fashion-mlp-big (784-512-256-10, Adam, its batch of
/// 128), fashion-cnn (Adam; pooling before the relus, conv2d_2 computing only the 10x10 outputs its pooling reads,
/// conv2d_1 fused with its pooling) and fashion-cnn-bn, each as its plan builds it.
for (name, spec, shape, unit, batch) in [
    ("mlp_train_step", "fashion-mlp", "784-128-10 b64", "us", 64),
    ("mlp_big_train_step", "fashion-mlp-big", "784-512-256-10 b128", "us", 128),
    ("cnn_train_step", "fashion-cnn", "fashion-cnn b64", "ms", 64),
    ("cnn_bn_train_step", "fashion-cnn-bn", "fashion-cnn-bn b64", "ms", 64),
] where wanted(name.replacingOccurrences(of: "_train_step", with: "").replacingOccurrences(of: "_", with: "-")) {
    for threads in stepThreads {
        let (layers, optimizer) = plannedLayers(spec, batch: batch)
        benchStep(
            kernel: name, shape: shape, layers: layers, optimizer: optimizer, threads: threads, unit: unit, batch: batch
        )
    }
}

/// `strata-bench paired` (only when asked): fashion-mlp's and fashion-cnn's training steps on one thread and on
/// two (STRATA_BENCH_THREADS sets the second count) in the same process, in blocks that take turns (the order
/// swapping each round) for 20 seconds a model, so that a shared machine's slow phases and other programs' loads
/// fall on both counts alike: the ratio is then far steadier than that of separate runs. Reports each count's mean
/// time a step, the ratio of the means and the median of the rounds' ratios.
func benchPaired(spec: String, blockSteps: Int, secondThreads: Int) {
    let sides = [1, secondThreads].map { threads in
        let (layers, kind) = plannedLayers(spec)
        let (network, optimizer) = preparedNetwork(layers, threads: threads, optimizer: kind)
        network.zeroGradients()
        return (network, optimizer, layers)
    }
    var step = 0
    func block(_ side: Int) -> Double {
        let (network, optimizer, layers) = sides[side]
        let start = now()
        for _ in 0..<blockSteps {
            layerByLayerStep(network, optimizer, layers, step: step, batch: 64)
            step += 1
        }
        return now() - start
    }
    for side in [0, 1] { _ = block(side) }  // warm-up: first touches of buffers
    var totals = [0.0, 0.0], ratios: [Double] = []
    let start = now()
    while now() - start < 20 || ratios.count < 5 {
        var seconds = [0.0, 0.0]
        for side in ratios.count % 2 == 0 ? [0, 1] : [1, 0] { seconds[side] = block(side) }
        totals[0] += seconds[0]
        totals[1] += seconds[1]
        ratios.append(seconds[1] / seconds[0])
    }
    let perStep = totals.map { $0 / Double(ratios.count * blockSteps) * 1000 }
    emit([
        ("kernel", "paired_train_step"), ("model", spec), ("threads", "1,\(secondThreads)"), ("rounds", ratios.count),
        ("ms_per_step_1", perStep[0]), ("ms_per_step_\(secondThreads)", perStep[1]),
        ("ratio", perStep[1] / perStep[0]), ("median_round_ratio", median(ratios)),
    ])
}

if filter == "paired" {
    let secondThreads = threadsWanted ?? 2
    if secondThreads == 1 { refuse("paired compares one thread with more: STRATA_BENCH_THREADS must be 2 or more") }
    benchPaired(spec: "fashion-mlp", blockSteps: 20, secondThreads: secondThreads)
    benchPaired(spec: "fashion-cnn", blockSteps: 5, secondThreads: secondThreads)
}

/// A conv2d layer's step in three parts, for each method: forward, weight and bias gradients (backward without
/// an input gradient), and the input gradient (the rest of a full backward).
/// With `sparse`, dy is about as sparse as fashion-cnn's 2x2 max pooling and relu pass it back (one value in five
/// nonzero, as measured over an epoch) and the layer sums only its nonzero values.
func benchConvParts(
    input: [Int], filters: Int, method: ConvolutionMethod, threads: Int, used: (Int, Int)? = nil, sparse: Bool = false
) {
    let batch = 64
    guard let layer = Conv2DLayer(name: "conv", inputShape: input, filters: filters, kernel: (3, 3)) else { return }
    layer.method = method
    if let used { layer.usedOutput = used }
    layer.sparseOutputGradient = sparse
    layer.prepare(maxBatch: batch)
    let x = Tensor(shape: [batch] + input, value: 0.5), y = Tensor(shape: [batch] + layer.outputShape)
    let dy = Tensor(shape: y.shape, value: 0.01), dx = Tensor(shape: x.shape)
    if sparse {
        var random = SplitMix64(seed: 4)
        for i in 0..<dy.count where random.nextInt(below: 5) != 0 { dy[i] = 0 }
    }
    let context = StepContext(training: true, step: 0, seed: 0, workspace: GEMMWorkspace(threads: threads))
    let forward = medianSeconds { layer.forward(output: y.pointer, input: x.pointer, batch: batch, context: context) }
    let weights = medianSeconds {
        layer.backward(
            inputGradient: nil, outputGradient: dy.pointer, input: x.pointer, output: y.pointer, batch: batch,
            context: context)
    }
    let full = medianSeconds {
        layer.backward(
            inputGradient: dx.pointer, outputGradient: dy.pointer, input: x.pointer, output: y.pointer, batch: batch,
            context: context)
    }
    emit([
        ("kernel", "conv2d_parts"),
        (
            "shape",
            "\(input.map(String.init).joined(separator: "x"))->\(filters) k3 b\(batch)"
                + (used.map { " used \($0.0)x\($0.1)" } ?? "")
                + (sparse ? " dy 1/5 nonzero" : "")
        ),
        ("method", method == .implicitGEMM ? "implicit" : "im2col"), ("threads", threads),
        ("forward_ms", forward * 1000),
        ("weight_gradient_ms", weights * 1000), ("input_gradient_ms", max(0, full - weights) * 1000),
    ])
}

for threads in wanted("parts") ? [1, 2] : [] {
    for method in CPU.hasAVX2FMA ? [ConvolutionMethod.im2col, .implicitGEMM] : [.im2col] {
        benchConvParts(input: [28, 28, 1], filters: 32, method: method, threads: threads)
        benchConvParts(input: [13, 13, 32], filters: 64, method: method, threads: threads)
    }
    // As fashion-cnn's plan runs conv2d_2: only the 10x10 outputs its 2x2 pooling reads, summing only the nonzero
    // values of the gradient its pooling and relu pass back (against all of them).
    for sparse in CPU.hasAVX2FMA ? [false, true] : [] {
        benchConvParts(
            input: [13, 13, 32], filters: 64, method: .implicitGEMM, threads: threads, used: (10, 10), sparse: sparse)
    }
}

/// Inference as `strata predict` computes it (the plan's forward, evaluating), on fashion-mlp and fashion-cnn at
/// batch 1 (latency) and 256 (throughput), 2 threads (STRATA_BENCH_THREADS sets another count); the mean beside
/// the median shows stalls under load. scripts/bench_onnx.py times onnxruntime on the exported models the same way.
let predictThreads = threadsWanted ?? 2
for (spec, batch) in [("fashion-mlp", 1), ("fashion-mlp", 256), ("fashion-cnn", 1), ("fashion-cnn", 256)]
where wanted("predict") {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../specs/\(spec).yaml"
    ).path
    guard let parsed = SpecParser.load(path: path).spec else { fatalError("\(spec) does not parse") }
    let plan = ModelPlan(spec: parsed, batchSize: batch, threads: predictThreads)
    plan.initialize(seed: 1)
    plan.freezeWeights()  // as a loaded Model does
    let network = plan.network
    var random = SplitMix64(seed: 5)
    for i in 0..<network.input.count { network.input[i] = random.nextUniform() }
    let context = StepContext(training: false, step: 0, seed: 1, workspace: network.workspace)
    // As `strata predict` runs its batches: each a timed step (the pool may run it alone, see StepContext).
    let samples = sampleSeconds(budget: 1, limit: 100_000) {
        context.timedStep(rows: batch) { network.forward(batch: batch, context: $0) }
    }
    let seconds = samples[samples.count / 2], mean = samples.reduce(0, +) / Double(samples.count)
    var fields: [(String, Any)] = [
        ("kernel", "predict"), ("model", spec), ("batch", batch), ("threads", predictThreads),
        ("ms_per_batch", seconds * 1000), ("ms_per_batch_mean", mean * 1000),
        ("examples_per_second", Double(batch) / seconds),
    ]
    for (i, layer) in network.layers.enumerated() {
        let label = (layer as? ActivationLayer).map { "\(layer.name)_\($0.kind.name)" } ?? layer.name
        let layerSeconds = medianSeconds(budget: 0.1) {
            layer.forward(
                output: network.activations[i + 1].pointer, input: network.activations[i].pointer, batch: batch,
                context: context)
        }
        fields.append(("\(label)_ms", layerSeconds * 1000))
    }
    emit(fields)
}
