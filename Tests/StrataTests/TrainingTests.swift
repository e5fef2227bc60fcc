import CStrataKernels
import Foundation
import Testing

@testable import Strata
import StrataEngine
import StrataTestSupport

/// Trains a bundled spec in-process with its checkpoint in a temporary folder.
func train(_ name: String, configure: (inout TrainOptions) -> Void = { _ in }) throws -> (Trainer, TrainingResult) {
    let (checked, _, diagnostics) = Checker.check(path: Paths.spec(name))
    guard let checked else { throw TestFailure("\(name) does not check: \(diagnostics.items)") }
    var options = TrainOptions()
    options.output = temporaryFolder().appendingPathComponent("\(name).safetensors").path
    configure(&options)
    let trainer = try Trainer(checked: checked, options: options)
    return (trainer, try trainer.run())
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func temporaryFolder() -> URL { ScratchFolder.make() }

@Test func linearFitsTheLinesSlopeAndIntercept() throws {
    let (trainer, result) = try train("linear.yaml")
    let weights = trainer.plan.optimizer.parameters
    #expect(abs(weights[0].value[0] - 2) < 1e-3, "m = \(weights[0].value[0])")
    #expect(abs(weights[1].value[0] - 1) < 1e-3, "b = \(weights[1].value[0])")
    // The lecture's first two epochs: MSE 2.5 from m = −1, b = 5, then 1.825 after one step.
    #expect(result.history[0].values["loss"] == 2.5)
    #expect(abs(result.history[0].values["rmse"]! - 1.5811) < 1e-4)
    #expect(abs(result.history[1].values["loss"]! - 1.825) < 1e-5)
}

@Test func xorReachesFullAccuracy() throws {
    let (trainer, result) = try train("xor.yaml")
    #expect(result.history.last?.values["accuracy"] == 1)
    let evaluation = trainer.plan.evaluate(trainer.data.train, classCount: 2)
    #expect(evaluation.metrics.value(.accuracy) == 1)
}

@Test func irisReachesValidationAccuracy() throws {
    let (_, result) = try train("iris.yaml")
    let accuracy = try #require(result.history.last?.values["val_accuracy"])
    #expect(accuracy >= 0.93)
}

@Test func digitsReachesHeldOutTestAccuracy() throws {
    let (trainer, result) = try train("digits.yaml")
    let test = try #require(result.test)
    #expect(test.metrics.value(.accuracy) >= 0.95, "test accuracy \(test.metrics.value(.accuracy))")
    #expect(test.metrics.examples == 359)
    // Test examples never reach training: the three splits partition the 1797 rows.
    #expect(trainer.data.train.count + (trainer.data.validation?.count ?? 0) + test.metrics.examples == 1797)
}

@Test func evalReproducesTheFinalEpochsValidation() throws {
    let (_, result) = try train("iris.yaml")
    let model = try Model(checkpoint: result.checkpointPath)
    let evaluation = try model.evaluate(.validation)
    #expect(abs(evaluation.loss - result.history.last!.values["val_loss"]!) < 1e-9)
    #expect(evaluation.metrics.value(.accuracy) == result.history.last!.values["val_accuracy"]!)
    #expect(model.classNames == ["setosa", "versicolor", "virginica"])
}

@Test func sameSeedGivesIdenticalCheckpointsOnAnyThreadCount() throws {
    let (_, one) = try train("iris.yaml") {
        $0.epochs = 3
        $0.threads = 1
    }
    let (_, two) = try train("iris.yaml") {
        $0.epochs = 3
        $0.threads = 2
    }
    let again = try train("iris.yaml") {
        $0.epochs = 3
        $0.threads = 2
    }.1
    let bytes = try [one, two, again].map { try Data(contentsOf: URL(fileURLWithPath: $0.checkpointPath)) }
    #expect(bytes[0] == bytes[1])
    #expect(bytes[1] == bytes[2])
    let (_, otherSeed) = try train("iris.yaml") {
        $0.epochs = 3
        $0.seed = 7
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: otherSeed.checkpointPath)) != bytes[0])
}

@Test func trainingTwoThenResumingTwoEqualsTrainingFour() throws {
    let folder = temporaryFolder()
    let straight = folder.appendingPathComponent("straight.safetensors").path
    let resumed = folder.appendingPathComponent("resumed.safetensors").path
    _ = try train("digits.yaml") {
        $0.epochs = 4
        $0.output = straight
    }
    _ = try train("digits.yaml") {
        $0.epochs = 2
        $0.output = resumed
    }
    _ = try train("digits.yaml") {
        $0.epochs = 4
        $0.output = resumed
        $0.resume = resumed
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: straight)) == Data(contentsOf: URL(fileURLWithPath: resumed)))
}

@Test func initFromStartsFromWeightsWithAFreshOptimizer() throws {
    let (_, first) = try train("xor.yaml") { $0.epochs = 20 }
    let (trainer, _) = try train("xor.yaml") {
        $0.epochs = 0
        $0.initFrom = first.checkpointPath
    }
    let stored = try Checkpoint.read(first.checkpointPath)
    #expect(trainer.plan.optimizer.parameters[0].value.values == stored.tensor("dense_1.weight")?.values)
    #expect(trainer.plan.optimizer.iterations == 0)
}

@Test func initFromNamesMismatchedTensors() throws {
    let (_, iris) = try train("iris.yaml") { $0.epochs = 1 }
    #expect {
        _ = try train("xor.yaml") {
            $0.epochs = 0
            $0.initFrom = iris.checkpointPath
        }
    } throws: { error in
        "\(error)".contains("'dense_1.weight' has shape [4, 16] in the checkpoint, the model needs [2, 8]")
    }
}

@Test func divergenceStopsAtOnceNamingEpochBatchAndLayer() throws {
    #expect {
        _ = try train("linear.yaml") { $0.learningRate = 1e38 }
    } throws: { error in
        // One step to m ≈ 3e38; the next forward overflows Float in dense_1.
        guard case .diverged(let epoch, let batch, let layer, _) = error as? TrainingError else { return false }
        return epoch == 2 && batch == 1 && layer == "dense_1"
    }
    #expect {
        _ = try train("linear.yaml") { $0.learningRate = 1e30 }
    } throws: { error in
        "\(error)".contains(
            "epoch 2, batch 1; every layer's output is finite, but the outputs grew too large for the loss")
    }
}

@Test func earlyStoppingStopsAndRestoresTheBestEpoch() throws {
    let (trainer, result) = try train("digits.yaml") { $0.epochs = 60 }
    let best = try #require(trainer.state.monitor.best)
    let bestRecord = try #require(result.history.first { $0.epoch == trainer.state.monitor.bestEpoch })
    #expect(bestRecord.values["val_loss"] == best)
    if result.stoppedEarly {
        #expect(result.history.count == trainer.state.monitor.bestEpoch + 9)
    }
    // Restored weights give the best epoch's validation loss again.
    let evaluation = trainer.plan.evaluate(trainer.data.validation!, classCount: 10)
    #expect(abs(evaluation.loss - best) < 1e-9)
}

@Test func historyFileHasOneRecordPerEpoch() throws {
    let (_, result) = try train("iris.yaml") { $0.epochs = 3 }
    let lines = try String(contentsOfFile: result.historyPath, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 3)
    let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Double])
    #expect(Set(first.keys) == ["epoch", "seconds", "learning_rate", "loss", "accuracy", "val_loss", "val_accuracy"])
}

@Test func libraryAPIAsTheReadmeShowsIt() throws {
    let (checked, _, diagnostics) = Checker.check(path: Paths.spec("iris.yaml"))
    let spec = try #require(checked, "\(diagnostics.items)")
    var options = TrainOptions()
    options.output = temporaryFolder().appendingPathComponent("iris.safetensors").path
    let result = try Trainer(checked: spec, options: options).run()
    #expect(result.history.last!.values["val_accuracy"]! >= 0.93)
    let model = try Model(checkpoint: result.checkpointPath)
    let probabilities = model.predict([5.1, 3.5, 1.4, 0.2])
    #expect(probabilities.count == 3)
    #expect(probabilities[0] > 0.9, "a typical setosa: \(probabilities)")
    #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
    #expect(try model.evaluate(.validation).loss.isFinite)
}

@Test func poolingBeforeAMonotonicActivationIsExact() throws {
    let plan = try planned(
        input: [6, 6, 2],
        """
          - conv2d: {filters: 3, kernel_size: 3, activation: relu}
          - max_pool2d: {pool_size: 2}
          - flatten
          - dense: {units: 2, activation: softmax}
        """, batch: 4, threads: 1, seed: 3)
    #expect(
        plan.network.layers.map { String(describing: type(of: $0)) } == [
            "Conv2DLayer", "MaxPool2DLayer", "ActivationLayer", "FlattenLayer", "DenseLayer", "ActivationLayer",
        ])
    // The same layers in the spec's order, sharing the weights.
    let conv = plan.network.layers[0] as! Conv2DLayer, dense = plan.network.layers[4] as! DenseLayer
    let literal = Network(
        layers: [
            conv, ActivationLayer(name: "relu", kind: .relu, shape: [4, 4, 3]), plan.network.layers[1],
            plan.network.layers[3], dense, plan.network.layers[5],
        ], loss: .sparseCategoricalCrossentropy, maxBatch: 4, threads: 1)
    sameBatch(plan.network, literal, classes: 2)
    #expect(stepResults(plan.network) == stepResults(literal))
}

@Test func evalUsesTheSeedTrainingUsed() throws {
    let (_, result) = try train("digits.yaml") {
        $0.epochs = 2
        $0.seed = 7
    }
    let model = try Model(checkpoint: result.checkpointPath)
    #expect(model.spec.seed == 7)
    let test = try model.evaluate(.test)
    #expect(abs(test.loss - result.test!.loss) < 1e-12)
}

/// 2x2 pooling over a 5x5 convolution output reads only its top-left 4x4: the plan has the convolution compute
/// just that, and sum only the nonzero values of the gradient the pooling passes back; the outputs and every
/// gradient keep the bits of the full, dense computation. (A first 1x1 layer keeps the trimmed one from being
/// fused with its pooling.)
@Test func convolutionComputesOnlyWhatPoolingReads() throws {
    let plan = try planned(
        input: [7, 7, 2],
        """
          - conv2d: {filters: 16, kernel_size: 1}
          - conv2d: {filters: 16, kernel_size: 3, activation: relu}
          - max_pool2d: {pool_size: 2}
          - flatten
          - dense: {units: 2, activation: softmax}
        """, batch: 4, threads: 2, seed: 3)
    let layers = plan.network.layers
    let conv = try #require(layers[1] as? Conv2DLayer)
    #expect(conv.usedOutput == (4, 4) && conv.sparseOutputGradient)
    #expect(try #require(layers[0] as? Conv2DLayer).sparseOutputGradient == false, "no pooling follows the first")
    let full = try #require(Conv2DLayer(name: "conv2d_2", inputShape: [7, 7, 16], filters: 16, kernel: (3, 3)))
    full.weight.value.copy(from: conv.weight.value)
    full.bias!.value.copy(from: conv.bias!.value)
    let literal = Network(
        layers: [layers[0], full] + layers[2...], loss: .sparseCategoricalCrossentropy, maxBatch: 4, threads: 2)
    sameBatch(plan.network, literal, classes: 2)
    #expect(stepResults(plan.network) == stepResults(literal))
}

/// A first convolution straight into a tiling max pooling and the relu moved after it runs fused: outputs,
/// winners' routing and every gradient keep the bits of the separate layers, also on two threads.
@Test(.enabled(if: CPU.hasAVX2FMA, "needs a CPU with AVX2 and FMA"), arguments: [(1, true), (2, true), (2, false)])
func firstConvolutionFusedWithPoolingIsExact(threads: Int, relu: Bool) throws {
    let plan = try planned(
        input: [9, 8, 1],
        """
          - conv2d: {filters: 32, kernel_size: 3\(relu ? ", activation: relu" : "")}
          - max_pool2d: {pool_size: 2}
          - flatten
          - dense: {units: 3, activation: softmax}
        """, batch: 5, threads: threads, seed: 4)
    let fused = try #require(plan.network.layers[0] as? ConvPoolLayer)
    #expect(fused.name == "conv2d_1" && plan.parameterNames.prefix(2) == ["conv2d_1.weight", "conv2d_1.bias"])
    // 7x6 convolution output, 2x2 pooling reads its top-left 6x6.
    #expect(fused.convolution.usedOutput == (6, 6))
    let layers = plan.network.layers
    #expect((fused.relu != nil) == relu)
    let separate = Network(
        layers: [fused.convolution, fused.pooling] + (fused.relu.map { [$0] } ?? []) + layers[1...],
        loss: .sparseCategoricalCrossentropy, maxBatch: 5, threads: threads)
    sameBatch(plan.network, separate, classes: 3)
    let fusedGradients = stepResults(plan.network), separateGradients = stepResults(separate)
    let identical = fusedGradients == separateGradients
    #expect(
        identical,
        "\(zip(fusedGradients, separateGradients).filter { $0 != $1 }.count) of \(fusedGradients.count) values differ")
    #expect(fusedGradients.contains { $0 != 0 })
}

/// Evaluating, the fused layer pools without recording winners (nothing will pass a gradient back): the same
/// outputs as in training, with a relu and without, and with AVX-512 tiles and without.
@Test(.enabled(if: CPU.hasAVX2FMA, "needs a CPU with AVX2 and FMA"), arguments: [true, false])
func fusedConvolutionEvaluatesAsItTrains(relu: Bool) throws {
    let plan = try planned(
        input: [9, 8, 1],
        """
          - conv2d: {filters: 64, kernel_size: 3\(relu ? ", activation: relu" : "")}
          - max_pool2d: {pool_size: 2}
          - flatten
          - dense: {units: 3, activation: softmax}
        """, batch: 5, threads: 2, seed: 4)
    let network = plan.network
    #expect(network.layers[0] is ConvPoolLayer)
    sameBatch(network, network, classes: 3)
    var outputs: [[Float]] = []
    for (training, avx512) in [(true, true), (false, true), (false, false)] {
        let previous = strata_cpu_set_avx512(avx512 ? 1 : 0)
        network.forward(
            batch: 5, context: StepContext(training: training, step: 0, seed: 1, workspace: network.workspace))
        strata_cpu_set_avx512(previous)
        outputs.append(network.output.values)
    }
    #expect(outputs[0] == outputs[1] && outputs[1] == outputs[2])
}

/// Random inputs in [-1, 1) and cycling class targets in `network`, copied into `other`: the same batch for both.
private func sameBatch(_ network: Network, _ other: Network, classes: Int) {
    var random = SplitMix64(seed: 9)
    for i in 0..<network.input.count { network.input[i] = random.nextUniform() * 2 - 1 }
    other.input.copy(from: network.input)
    for b in 0..<network.maxBatch {
        network.targets[b] = Float(b % classes)
        other.targets[b] = Float(b % classes)
    }
}

/// The outputs and every parameter gradient after one training step on the network's whole batch.
private func stepResults(_ network: Network) -> [Float] {
    let context = StepContext(training: true, step: 0, seed: 1, workspace: network.workspace)
    network.zeroGradients()
    network.forward(batch: network.maxBatch, context: context)
    _ = network.computeLoss(batch: network.maxBatch, gradient: true)
    network.backward(batch: network.maxBatch, context: context)
    return network.output.values + network.parameters.flatMap { $0.parameter.gradient.values }
}

/// The plan of a classifier with these layers (YAML list items) over `input`, its weights seeded.
private func planned(input: [Int], _ layers: String, batch: Int, threads: Int, seed: UInt64) throws -> ModelPlan {
    let text = """
        input: \(input)
        layers:
        \(layers)
        loss: sparse_categorical_crossentropy
        optimizer: sgd
        data: {train: {inline: {x: [[0]], y: [1]}}}
        """
    let (spec, diagnostics) = SpecParser.parse(text: text, file: "plan.yaml")
    let plan = ModelPlan(spec: try #require(spec, "\(diagnostics)"), batchSize: batch, threads: threads)
    plan.initialize(seed: seed)
    return plan
}
