import StrataEngine

/// [h, w, c] laid out as one vector; no copy in the engine (the buffer is shared).
public struct FlattenSpec: LayerKind {
    public static let typeName = "flatten"
    public static let summary = "lays the input out as one vector (row-major, channels fastest)"
    public static let keys: [KeyRule] = []

    public init(_ arguments: LayerArguments) {}

    public func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int] { [elementCount(input)] }

    /// None: it shares its input's buffers.
    public func trainingFloats(input: [Int], output: [Int]) -> Int { 0 }

    public func explain(_ layer: LayerSummary) -> [String] {
        [
            "y = x laid out as one vector of \(groupedDigits(layer.outputShape[0])) values (row-major, channels fastest)",
            "parameters: 0", "FLOPs: 0",
        ]
    }

    public func engineLayers(name: String, input: [Int], index: Int) -> [Layer] {
        [FlattenLayer(name: name, inputShape: input)]
    }

    /// Flatten(axis 1) of the channels-last values: Strata's order (row-major, channels fastest).
    public func export(
        _ graph: inout ONNXGraph, input: String, shape: [Int], name: String, tensors: [String: [Float]]
    ) throws(ExportProblem) -> String {
        shape.count == 1
            ? input : graph.node("Flatten", [input], name: name, attributes: [ONNXGraph.attribute("axis", int: 1)])
    }
}
