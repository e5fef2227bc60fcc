import Foundation
import ONNXProto
import StrataEngine

/// A trained model as an ONNX model (opset 17, IR version 8): input `input` [N, …input shape] of raw features;
/// the checkpoint's preprocessing (scale, standardize) as the first nodes; each layer as its kind writes itself;
/// output `probabilities` (classifiers) or `outputs`, and for classifiers `class` (int64). Class names and the
/// spec's name and SHA-256 go in the metadata.
public enum ONNXExport {
    public static let opset: Int64 = 17
    public static let irVersion: Int64 = 8

    public static func model(_ model: Model) throws -> Onnx_ModelProto {
        var graph = ONNXGraph()
        let spec = model.spec
        var value = "input"
        value = preprocess(&graph, value, model.checkpoint.preprocessing, shape: spec.input.value)
        var tensors: [String: [String: [Float]]] = [:]
        for (name, tensor) in model.plan.modelTensors {
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            if parts.count == 2 { tensors[parts[0], default: [:]][parts[1]] = tensor.values }
        }
        var shape = spec.input.value
        for (layer, summary) in zip(spec.layers, model.summary.layers) {
            do {
                value = try layer.kind.export(
                    &graph, input: value, shape: shape, name: layer.name.value,
                    tensors: tensors[layer.name.value] ?? [:])
            } catch {
                throw CheckpointError(path: model.path, message: "cannot be exported: \(error.message)")
            }
            shape = summary.outputShape
        }
        let classifier = spec.loss.value.isClassification
        let outputName = classifier ? "probabilities" : "outputs"
        var outputs = [valueInfo(outputName, elementType: .float, shape: shape)]
        graph.renameOutput(value, to: outputName)
        if classifier {
            let classes: String
            if spec.loss.value == .binaryCrossentropy {
                let positive = graph.node(
                    "Greater", [outputName, graph.constant("threshold", [0.5], shape: [])], name: "class")
                let squeezed = graph.node(
                    "Squeeze", [positive, graph.constant("class_axis", int64: [1])], name: "class")
                classes = graph.node("Cast", [squeezed], name: "class", attributes: [ONNXGraph.attribute("to", int: 7)])
            } else {
                classes = graph.node(
                    "ArgMax", [outputName], name: "class",
                    attributes: [ONNXGraph.attribute("axis", int: 1), ONNXGraph.attribute("keepdims", int: 0)])
            }
            graph.renameOutput(classes, to: "class")
            outputs.append(valueInfo("class", elementType: .int64, shape: nil))
        }
        var proto = Onnx_GraphProto()
        proto.name = spec.name
        proto.node = graph.nodes
        proto.initializer = graph.initializers
        proto.input = [valueInfo("input", elementType: .float, shape: spec.input.value)]
        proto.output = outputs
        var result = Onnx_ModelProto()
        result.irVersion = irVersion
        result.producerName = "strata"
        var opset = Onnx_OperatorSetIdProto()
        opset.version = ONNXExport.opset
        result.opsetImport = [opset]
        result.graph = proto
        result.metadataProps = metadata(model)
        return result
    }

    /// x·scale, then (x − mean) / deviation, per feature in the input's layout.
    private static func preprocess(_ graph: inout ONNXGraph, _ x: String, _ p: Preprocessing, shape: [Int]) -> String {
        var value = x
        if let scale = p.scale {
            value = graph.node("Mul", [value, graph.constant("scale", [scale], shape: [])], name: "preprocess")
        }
        if let mean = p.mean, let deviation = p.standardDeviation {
            value = graph.node("Sub", [value, graph.constant("mean", mean, shape: shape)], name: "preprocess")
            value = graph.node(
                "Div", [value, graph.constant("standard_deviation", deviation, shape: shape)], name: "preprocess")
        }
        return value
    }

    private static func valueInfo(
        _ name: String, elementType: Onnx_TensorProto.DataType, shape: [Int]?
    ) -> Onnx_ValueInfoProto {
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(elementType.rawValue)
        var dims: [Onnx_TensorShapeProto.Dimension] = []
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = "N"
        dims.append(batch)
        for size in shape ?? [] {
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = Int64(size)
            dims.append(dim)
        }
        var shapeProto = Onnx_TensorShapeProto()
        shapeProto.dim = dims
        tensor.shape = shapeProto
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }

    private static func metadata(_ model: Model) -> [Onnx_StringStringEntryProto] {
        var entries: [(String, String)] = [
            ("spec_name", model.spec.name), ("spec_sha256", SHA256.hex(model.checkpoint.specText)),
        ]
        for (key, list) in [("class_names", model.classNames), ("feature_names", model.checkpoint.featureNames)] {
            if let list, let json = try? JSONSerialization.data(withJSONObject: list) {
                entries.append((key, String(decoding: json, as: UTF8.self)))
            }
        }
        return entries.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
    }
}
