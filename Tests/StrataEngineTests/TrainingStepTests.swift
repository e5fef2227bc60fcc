import Testing

@testable import StrataEngine

/// A 200-440-5 classifier at batch 12: its first dense layer is heavy enough to share between threads, the rest
/// is its light tail.
private func classifier(threads: Int) -> Network {
    let layers: [Layer] = [
        DenseLayer(name: "dense_1", inputs: 200, units: 440), ActivationLayer(name: "relu", kind: .relu, shape: [440]),
        DenseLayer(name: "dense_2", inputs: 440, units: 5),
        ActivationLayer(name: "softmax", kind: .softmax, shape: [5]),
    ]
    let network = Network(layers: layers, loss: .sparseCategoricalCrossentropy, maxBatch: 12, threads: threads)
    var random = SplitMix64(seed: 8)
    for (_, p) in network.parameters { Initialization.fill(p.value, p.initializer, random: &random) }
    network.zeroGradients()
    return network
}

/// 40 examples of 200 features with class targets, as a data set in memory.
private let features: [Float] = {
    var random = SplitMix64(seed: 2)
    return (0..<40 * 200).map { _ in random.nextUniform() * 2 - 1 }
}()
private let targets: [Float] = (0..<40).map { Float($0 * 7 % 5) }

@Test func theLightTailStartsAfterTheLastHeavyLayer() {
    let mlp: [Layer] = [
        DenseLayer(name: "dense_1", inputs: 784, units: 128), ActivationLayer(name: "relu", kind: .relu, shape: [128]),
        DenseLayer(name: "dense_2", inputs: 128, units: 10),
        ActivationLayer(name: "softmax", kind: .softmax, shape: [10]),
    ]
    #expect(Network.tailStart(mlp, maxBatch: 64) == 1)
    #expect(Network.tailStart(mlp, maxBatch: 4096) == 3, "at batch 4096 the second dense layer is worth sharing too")
    let cnn: [Layer] = [
        MaxPool2DLayer(name: "pool", inputShape: [10, 10, 64], pool: (2, 2), strides: (2, 2))!,
        FlattenLayer(name: "flatten", inputShape: [5, 5, 64]),
        DenseLayer(name: "dense", inputs: 1600, units: 10),
        ActivationLayer(name: "softmax", kind: .softmax, shape: [10]),
    ]
    #expect(Network.tailStart(cnn, maxBatch: 64) == 1)
}

/// Four steps through `trainingStep`, each gathering the next batch alongside into the spare buffers, against
/// the same steps taken one call at a time with batches loaded in between: the same weights, bit for bit.
@Test(arguments: [1, 2])
func stepsWithTheNextBatchGatheredAlongsideMatchPlainSteps(threads: Int) {
    let overlapped = classifier(threads: threads), plain = classifier(threads: threads)
    #expect(overlapped.tailStart == 1)
    let order = [Int]((0..<40).reversed())
    let adam = OptimizerKind.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0)
    let overlappedOptimizer = Optimizer(kind: adam, parameters: overlapped.parameters.map(\.parameter))
    let plainOptimizer = Optimizer(kind: adam, parameters: plain.parameters.map(\.parameter))
    features.withUnsafeBufferPointer { x in
        targets.withUnsafeBufferPointer { y in
            order.withUnsafeBufferPointer { order in
                let (x, y, order) = (x.baseAddress!, y.baseAddress!, order.baseAddress!)
                overlapped.loadBatch(features: x, targets: y, order: order, start: 0, count: 12, total: 40)
                for step in 0..<4 {
                    // Batches of 12, 12, 12 and the last 4.
                    let start = step * 12, count = min(12, 40 - start)
                    let context = StepContext(
                        training: true, step: UInt64(step), seed: 1, workspace: overlapped.workspace)
                    let nextCount = min(12, max(0, 40 - start - 12))
                    let loss = overlapped.trainingStep(
                        batch: count, context: context, alongside: nextCount > 0 ? 3 : 0,
                        { part in
                            overlapped.loadSpareRows(
                                part: part, of: 3, features: x, targets: y, order: order, start: start + 12,
                                count: nextCount)
                        },
                        begin: { loss in
                            overlappedOptimizer.beginStep(learningRate: 0.01)
                            return overlappedOptimizer
                        })
                    overlappedOptimizer.finishStep()
                    if nextCount > 0 { overlapped.useSpareBatch() }

                    plain.loadBatch(features: x, targets: y, order: order, start: start, count: count, total: 40)
                    let plainContext = StepContext(
                        training: true, step: UInt64(step), seed: 1, workspace: plain.workspace)
                    plain.forward(batch: count, context: plainContext)
                    let plainLoss = plain.computeLoss(batch: count, gradient: true)
                    plain.backward(batch: count, context: plainContext)
                    plainOptimizer.step(learningRate: 0.01)
                    #expect(loss.bitPattern == plainLoss.bitPattern, "step \(step)")
                }
            }
        }
    }
    for (a, b) in zip(overlapped.parameters, plain.parameters) {
        #expect(a.parameter.value.values.map(\.bitPattern) == b.parameter.value.values.map(\.bitPattern), "\(a.layer)")
    }
}

/// A step whose loss is not finite stops before backward: nothing is updated, and the caller still sees it.
@Test func aNonFiniteLossStopsTheStepBeforeBackward() {
    let network = classifier(threads: 2)
    for i in 0..<network.input.count { network.input[i] = .infinity }
    let before = network.parameters.map { $0.parameter.value.values }
    let context = StepContext(training: true, step: 0, seed: 1, workspace: network.workspace)
    var sawLoss = Double.nan
    let loss = network.trainingStep(
        batch: 12, context: context, alongside: 0, { _ in },
        begin: { loss in
            sawLoss = loss
            return nil
        })
    #expect(!loss.isFinite && !sawLoss.isFinite)
    #expect(network.parameters.map { $0.parameter.value.values } == before)
    #expect(network.parameters.allSatisfy { $0.parameter.gradient.values.allSatisfy { $0 == 0 } })
}

/// A parallel region started from inside a task runs inline on that thread, in order, instead of deadlocking.
@Test func regionsInsideATaskRunInline() {
    var cells = [Int](repeating: 0, count: 16)
    cells.withUnsafeMutableBufferPointer { cells in
        Parallel.run(4) { outer in
            Parallel.run(4) { inner in cells[outer * 4 + inner] = outer * 4 + inner + 1 }
        }
    }
    #expect(cells == Array(1...16))
}

/// Steps whose work is cut for one thread (as while the pool runs regions alone) among steps cut for two, on a
/// two-thread network: the same weights, bit for bit, as every step cut for two or for one.
@Test func stepsCutForOneThreadAmongStepsCutForTwoGiveTheSameBits() {
    let (rows, inputs) = (24, 256)
    var random = SplitMix64(seed: 5)
    let x = (0..<rows * inputs).map { _ in random.nextUniform() * 2 - 1 }
    let y = (0..<rows).map { Float($0 % 5) }
    let order = Array(0..<rows)
    func trained(threadsPerStep: [Int]) -> [[Float]] {
        let layers: [Layer] = [
            DenseLayer(name: "dense_1", inputs: inputs, units: 512),
            ActivationLayer(name: "relu", kind: .relu, shape: [512]),
            DenseLayer(name: "dense_2", inputs: 512, units: 5),
            ActivationLayer(name: "softmax", kind: .softmax, shape: [5]),
        ]
        let network = Network(layers: layers, loss: .sparseCategoricalCrossentropy, maxBatch: rows, threads: 2)
        var initial = SplitMix64(seed: 8)
        for (_, p) in network.parameters { Initialization.fill(p.value, p.initializer, random: &initial) }
        network.zeroGradients()
        let adam = OptimizerKind.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0)
        let optimizer = Optimizer(kind: adam, parameters: network.parameters.map(\.parameter))
        x.withUnsafeBufferPointer { x in
            y.withUnsafeBufferPointer { y in
                order.withUnsafeBufferPointer { order in
                    network.loadBatch(
                        features: x.baseAddress!, targets: y.baseAddress!, order: order.baseAddress!, start: 0,
                        count: rows, total: rows)
                }
            }
        }
        for (step, threads) in threadsPerStep.enumerated() {
            var context = StepContext(training: true, step: UInt64(step), seed: 1, workspace: network.workspace)
            context.threads = threads
            network.forward(batch: rows, context: context)
            _ = network.computeLoss(batch: rows, gradient: true)
            optimizer.beginStep(learningRate: 0.01)
            context.optimizer = optimizer
            network.backward(batch: rows, context: context)
            optimizer.finishStep()
        }
        return network.parameters.map { $0.parameter.value.values }
    }
    let cutForTwo = trained(threadsPerStep: [2, 2, 2, 2])
    #expect(trained(threadsPerStep: [2, 1, 2, 1]) == cutForTwo)
    #expect(trained(threadsPerStep: [1, 1, 1, 1]) == cutForTwo)
}
