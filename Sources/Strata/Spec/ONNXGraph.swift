import Foundation
import ONNXProto

/// An ONNX graph under construction: nodes in order and their weights as initializers. Each layer kind writes
/// itself into one (`LayerKind.export`), reading a value by name and returning the name of its output.
public struct ONNXGraph {
    public private(set) var nodes: [Onnx_NodeProto] = []
    public private(set) var initializers: [Onnx_TensorProto] = []
    private var used: Set<String> = []

    public init() {}

    /// A name not used yet, from `base`.
    mutating func fresh(_ base: String) -> String {
        var name = base
        var index = 1
        while used.contains(name) {
            index += 1
            name = "\(base)_\(index)"
        }
        used.insert(name)
        return name
    }

    /// A float32 initializer of `shape` holding `values` (row-major); returns its name.
    public mutating func constant(_ base: String, _ values: [Float], shape: [Int]) -> String {
        var tensor = Onnx_TensorProto()
        tensor.name = fresh(base)
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(tensor)
        return tensor.name
    }

    /// An int64 initializer (shapes, axes).
    public mutating func constant(_ base: String, int64 values: [Int64]) -> String {
        var tensor = Onnx_TensorProto()
        tensor.name = fresh(base)
        tensor.dims = [Int64(values.count)]
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(tensor)
        return tensor.name
    }

    /// A node `op` of `inputs`; returns its output's name.
    public mutating func node(
        _ op: String, _ inputs: [String], name base: String, attributes: [Onnx_AttributeProto] = []
    ) -> String {
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = fresh("\(base)/\(op)")
        node.input = inputs
        node.output = [fresh("\(base)/\(op.lowercased())")]
        node.attribute = attributes
        nodes.append(node)
        return node.output[0]
    }

    /// Makes the node that writes `name` write `exposed` instead, or adds an Identity when no node writes it (the
    /// graph's input passed straight through).
    public mutating func renameOutput(_ name: String, to exposed: String) {
        used.insert(exposed)
        if let index = nodes.lastIndex(where: { $0.output.contains(name) }) {
            nodes[index].output = nodes[index].output.map { $0 == name ? exposed : $0 }
            for later in nodes.indices where later > index {
                nodes[later].input = nodes[later].input.map { $0 == name ? exposed : $0 }
            }
        } else {
            var node = Onnx_NodeProto()
            node.opType = "Identity"
            node.name = fresh("\(exposed)/Identity")
            node.input = [name]
            node.output = [exposed]
            nodes.append(node)
        }
    }

    /// Runs `body` on `x` [N, H, W, C] laid out channels-first, as ONNX's Conv and pooling want it, and returns
    /// the result laid out channels-last again: Strata's order for everything after.
    public mutating func channelsFirst(_ x: String, name: String, _ body: (inout ONNXGraph, String) -> String) -> String
    {
        let first = node("Transpose", [x], name: name, attributes: [Self.attribute("perm", ints: [0, 3, 1, 2])])
        let result = body(&self, first)
        return node("Transpose", [result], name: name, attributes: [Self.attribute("perm", ints: [0, 2, 3, 1])])
    }

    public static func attribute(_ name: String, int value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    public static func attribute(_ name: String, float value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    public static func attribute(_ name: String, ints values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }
}

/// Why a layer cannot be exported: named, never a wrong model.
public struct ExportProblem: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
