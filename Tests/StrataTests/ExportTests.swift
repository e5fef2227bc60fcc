import Foundation
import ONNXProto
import Testing

@testable import Strata

/// A model trained in-process from `text` (a spec with inline data) for one epoch, loaded back from its checkpoint.
private func trainedModel(_ text: String) throws -> Model {
    let folder = temporaryFolder()
    let specPath = folder.appendingPathComponent("m.yaml").path
    try text.write(toFile: specPath, atomically: true, encoding: .utf8)
    let (checked, _, diagnostics) = Checker.check(path: specPath)
    var options = TrainOptions()
    options.output = folder.appendingPathComponent("m.safetensors").path
    options.epochs = 1
    let result = try Trainer(checked: try #require(checked, "\(diagnostics.items)"), options: options).run()
    return try Model(checkpoint: result.checkpointPath)
}

private let inlineData = "data: {train: {inline: {x: [[0, 1], [1, 0], [1, 1], [0, 0]], y: [0, 1, 1, 0]}}}"

/// iris as exported: standardization first, then Gemm and activation per dense layer, softmax probabilities and
/// an ArgMax class; initializers in Keras' layout; a dynamic batch dimension; class and feature names.
@Test func irisExportsAsStandardizeGemmReluGemmSoftmax() throws {
    let (_, result) = try train("iris.yaml") { $0.epochs = 1 }
    let proto = try ONNXExport.model(try Model(checkpoint: result.checkpointPath))
    #expect(proto.opsetImport.first?.version == 17 && proto.irVersion == 8)
    let graph = proto.graph
    #expect(graph.node.map(\.opType) == ["Sub", "Div", "Gemm", "Relu", "Gemm", "Softmax", "ArgMax"])
    #expect(
        graph.initializer.map { "\($0.name) \($0.dims)" } == [
            "mean [4]", "standard_deviation [4]", "dense_1.weight [4, 16]", "dense_1.bias [16]",
            "dense_2.weight [16, 3]",
            "dense_2.bias [3]",
        ])
    #expect(graph.input.first?.name == "input")
    #expect(graph.input.first?.type.tensorType.shape.dim.map(\.dimParam) == ["N", ""])
    #expect(graph.output.map(\.name) == ["probabilities", "class"])
    #expect(graph.node.last?.attribute.map(\.name) == ["axis", "keepdims"])
    let metadata = Dictionary(uniqueKeysWithValues: proto.metadataProps.map { ($0.key, $0.value) })
    #expect(metadata["class_names"] == #"["setosa","versicolor","virginica"]"#)
    #expect(metadata["spec_name"] == "iris")
}

/// One sigmoid unit: the class is p > 0.5, squeezed to [N] and cast to int64.
@Test func binaryClassifierExportsAThresholdClass() throws {
    let model = try trainedModel(
        "input: [2]\nlayers: [{dense: {units: 4, activation: tanh}}, {dense: {units: 1, activation: sigmoid}}]\n"
            + "loss: binary_crossentropy\noptimizer: adam\n\(inlineData)\n")
    let ops = try ONNXExport.model(model).graph.node.map(\.opType)
    #expect(ops == ["Gemm", "Tanh", "Gemm", "Sigmoid", "Greater", "Squeeze", "Cast"])
}

/// Every activation as its ONNX form (gelu and silu written out for opset 17), alphas as attributes.
@Test func activationsExportAsTheirOperators() throws {
    let model = try trainedModel(
        """
        input: [2]
        layers:
          - dense: {units: 3, activation: {leaky_relu: {alpha: 0.1}}}
          - activation: {elu: {alpha: 0.5}}
          - activation: gelu
          - activation: silu
          - activation: softplus
          - dropout: {rate: 0.5}
          - batch_normalization
          - dense: {units: 1}
        loss: mse
        optimizer: sgd
        \(inlineData)
        """)
    let nodes = try ONNXExport.model(model).graph.node
    #expect(
        nodes.map(\.opType) == [
            "Gemm", "LeakyRelu", "Elu", "Mul", "Erf", "Add", "Mul", "Mul", "Sigmoid", "Mul", "Softplus", "Mul", "Add",
            "Gemm",
        ])
    #expect(nodes[1].attribute.first?.f == 0.1 && nodes[2].attribute.first?.f == 0.5)
    #expect(try ONNXExport.model(model).graph.output.map(\.name) == ["outputs"])
}

/// Convolution and pooling run channels-first between two transposes (Strata stays channels-last, so flatten keeps
/// its order); the kernel is reordered to [filters, channels, kh, kw]; same padding puts the odd row after, as
/// Keras; average pooling does not count padding; global pooling reduces the height and width axes.
@Test func convolutionsAndPoolingsExportChannelsFirst() throws {
    let model = try trainedModel(
        """
        input: [5, 5, 2]
        layers:
          - conv2d: {filters: 3, kernel_size: 2, padding: same, activation: relu}
          - max_pool2d: {pool_size: 2}
          - average_pooling2d: {pool_size: 2, strides: 1, padding: same}
          - batch_normalization
          - global_average_pooling2d
          - dense: {units: 1}
        loss: mse
        optimizer: sgd
        data: {train: {inline: {x: [[\((0..<50).map(String.init).joined(separator: ", "))]], y: [1]}}}
        """)
    let graph = try ONNXExport.model(model).graph
    #expect(
        graph.node.map(\.opType) == [
            "Transpose", "Conv", "Transpose", "Relu", "Transpose", "MaxPool", "Transpose", "Transpose", "AveragePool",
            "Transpose", "Mul", "Add", "ReduceMean", "Gemm",
        ])
    let conv = try #require(graph.node.first { $0.opType == "Conv" })
    #expect(
        conv.attribute.map { "\($0.name) \($0.ints)" } == [
            "kernel_shape [2, 2]", "strides [1, 1]", "pads [0, 0, 1, 1]",
        ])
    #expect(graph.initializer.first { $0.name == "conv2d_1.weight" }?.dims == [3, 2, 2, 2])
    let average = try #require(graph.node.first { $0.opType == "AveragePool" })
    #expect(average.attribute.map(\.name) == ["kernel_shape", "strides", "pads", "count_include_pad"])
}

/// The last two kinds: global max pooling reduces like the average, and flatten of an image is ONNX's Flatten of
/// the channels-last values (Strata's order).
@Test func globalMaxPoolingAndFlattenExport() throws {
    let image = "[\((0..<18).map(String.init).joined(separator: ", "))]"
    let pooled = try trainedModel(
        "input: [3, 3, 2]\nlayers: [{global_max_pooling2d: }, {dense: {units: 1}}]\nloss: mse\noptimizer: sgd\n"
            + "data: {train: {inline: {x: [\(image)], y: [1]}}}\n")
    let reduce = try #require(try ONNXExport.model(pooled).graph.node.first)
    #expect(reduce.opType == "ReduceMax")
    #expect(reduce.attribute.map { "\($0.name) \($0.ints) \($0.i)" } == ["axes [1, 2] 0", "keepdims [] 0"])
    let flat = try trainedModel(
        "input: [3, 3, 2]\nlayers: [{flatten: }, {dense: {units: 1}}]\nloss: mse\noptimizer: sgd\n"
            + "data: {train: {inline: {x: [\(image)], y: [1]}}}\n")
    let nodes = try ONNXExport.model(flat).graph.node
    #expect(nodes.map(\.opType) == ["Flatten", "Gemm"])
    #expect(nodes[0].attribute.first?.i == 1)
}
