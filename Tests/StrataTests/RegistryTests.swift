import Foundation
import Testing

@testable import Strata
import StrataEngine

/// A spec over inline data whose layers are `layers` (YAML list items), checked.
private func checked(
    input: [Int], _ layers: String, loss: String = "sparse_categorical_crossentropy", extra: String = ""
) throws -> CheckedSpec {
    let x = Array(repeating: Array(repeating: 0.5, count: input.reduce(1, *)), count: 4)
    let rows = x.enumerated().map { i, row in row.map { "\($0 + Double(i) * 0.1)" }.joined(separator: ", ") }
    let text = """
        input: \(input)
        layers:
        \(layers)
        loss: \(loss)
        optimizer: adam
        training: {batch_size: 2}
        \(extra)
        data: {train: {inline: {x: [\(rows.map { "[\($0)]" }.joined(separator: ", "))], y: [0, 1, 0, 1]}}}
        """
    let (spec, parseDiagnostics) = SpecParser.parse(text: text, file: "registry.yaml")
    let (result, _, diagnostics) = Checker.check(try #require(spec, "\(parseDiagnostics.items)"))
    return try #require(result, "\(diagnostics.items)")
}

/// The checker and the engine ask the same kind: for every registered kind, the engine layers it builds hold the
/// parameters (names and shapes) and state its descriptor declares, and produce the shape it infers.
@Test func everyKindsEngineLayersMatchWhatItDeclares() throws {
    let samples: [String: (input: [Int], body: String)] = [
        "dense": ([6], "{units: 3, activation: relu, kernel_regularizer: {l2: 0.01}}"),
        "conv2d": ([6, 6, 2], "{filters: 4, kernel_size: 3, padding: same, activation: relu}"),
        "max_pool2d": ([6, 6, 2], "{pool_size: 2}"),
        "average_pooling2d": ([6, 6, 2], "{pool_size: 3, strides: 2, padding: same}"),
        "global_average_pooling2d": ([6, 6, 2], "{}"),
        "global_max_pooling2d": ([6, 6, 2], "{}"),
        "flatten": ([6, 6, 2], "{}"),
        "dropout": ([6], "{rate: 0.5}"),
        "activation": ([6], "gelu"),
        "batch_normalization": ([6, 6, 2], "{momentum: 0.9}"),
    ]
    #expect(Set(samples.keys) == Set(LayerRegistry.typeNames), "every registered kind has a sample here")
    for (name, sample) in samples {
        let (spec, diagnostics) = SpecParser.parse(
            text:
                "input: \(sample.input)\nlayers: [{\(name): \(sample.body)}]\nloss: mse\noptimizer: sgd\ndata: {train: {inline: {x: [[0]], y: [0]}}}",
            file: "\(name).yaml")
        let layer = try #require(spec?.layers.first, "\(name): \(diagnostics.items)")
        let output = try layer.kind.outputShape(input: sample.input, name: layer.name.value)
        let declared = layer.kind.tensors(input: sample.input, output: output)
        let built = layer.kind.engineLayers(name: layer.name.value, input: sample.input, index: 0)
        #expect(built.last?.outputShape == output, "\(name)")
        let parameters = built.flatMap(\.parameters).map { "\($0.name) \($0.value.shape)" }
        let state = built.flatMap(\.state).map { "\($0.name) \($0.value.shape)" }
        #expect(parameters == declared.filter(\.trainable).map { "\($0.name) \($0.shape)" }, "\(name)")
        #expect(state == declared.filter { !$0.trainable }.map { "\($0.name) \($0.shape)" }, "\(name)")
        // And it writes itself into ONNX from those tensors.
        var graph = ONNXGraph()
        var tensors: [String: [Float]] = [:]
        for layer in built {
            for p in layer.parameters { tensors[p.name] = p.value.values }
            for s in layer.state { tensors[s.name] = s.value.values }
        }
        #expect(throws: Never.self, "\(name)") {
            _ = try layer.kind.export(&graph, input: "x", shape: sample.input, name: layer.name.value, tensors: tensors)
        }
    }
}

@Test func summaryCountsNonTrainableState() throws {
    let spec = try checked(
        input: [4, 4, 1],
        """
          - conv2d: {filters: 2, kernel_size: 3, use_bias: false}
          - batch_normalization
          - activation: relu
          - global_average_pooling2d
          - dense: {units: 2, activation: softmax}
        """)
    let bn = spec.summary.layers[1]
    #expect(bn.params == 4 && bn.nonTrainableParams == 4)
    #expect(spec.summary.nonTrainableParams == 4)
    #expect(spec.summary.layers[3].outputShape == [2])
}

/// A batch-normalized model keeps its moving statistics in the checkpoint; resuming restores them, so two
/// epochs and two more give the bytes of four straight.
@Test func movingStatisticsAreSavedAndResumedExactly() throws {
    let spec = try checked(
        input: [3],
        """
          - dense: {units: 4}
          - batch_normalization: {momentum: 0.5}
          - activation: elu
          - dense: {units: 2, activation: softmax}
        """)
    let folder = temporaryFolder()
    func run(_ epochs: Int, _ path: String, resume: String? = nil) throws {
        var options = TrainOptions()
        options.epochs = epochs
        options.output = folder.appendingPathComponent(path).path
        options.resume = resume.map { folder.appendingPathComponent($0).path }
        options.threads = 1
        _ = try Trainer(checked: spec, options: options).run()
    }
    try run(4, "straight.safetensors")
    try run(2, "resumed.safetensors")
    try run(4, "resumed.safetensors", resume: "resumed.safetensors")
    let straight = try Data(contentsOf: folder.appendingPathComponent("straight.safetensors"))
    #expect(straight == (try Data(contentsOf: folder.appendingPathComponent("resumed.safetensors"))))
    let checkpoint = try Checkpoint.read(folder.appendingPathComponent("straight.safetensors").path)
    let mean = try #require(checkpoint.tensor("batch_normalization_1.moving_mean"))
    let variance = try #require(checkpoint.tensor("batch_normalization_1.moving_variance"))
    #expect(mean.shape == [4] && mean.values.contains { $0 != 0 })
    #expect(variance.values.contains { $0 != 1 })
    // Evaluation reads the moving statistics back from the file.
    let model = try Model(checkpoint: folder.appendingPathComponent("straight.safetensors").path)
    #expect(model.plan.state[0].value.values == mean.values)
}

/// Keras adds the penalty to the reported loss: at a learning rate too small to move the weights, the loss with
/// `l2: 100` is the loss without it plus 100·ΣW² of the (same, seeded) initial kernel.
@Test func kernelRegularizerAddsItsPenaltyToTheReportedLoss() throws {
    func run(_ regularizer: String) throws -> (loss: Double, penalty: Double) {
        let spec = try checked(input: [3], "  - dense: {units: 2, activation: softmax\(regularizer)}")
        var options = TrainOptions()
        options.epochs = 1
        options.learningRate = 1e-12
        options.writeFiles = false
        let trainer = try Trainer(checked: spec, options: options)
        let penalty = trainer.plan.network.regularizationPenalty()
        return (try trainer.run().history.last?.values["loss"] ?? .nan, penalty)
    }
    let plain = try run("")
    let penalized = try run(", kernel_regularizer: {l2: 100}")
    #expect(plain.penalty == 0 && penalized.penalty > 1)
    #expect(abs(penalized.loss - (plain.loss + penalized.penalty)) < 1e-4 * penalized.loss)
}
