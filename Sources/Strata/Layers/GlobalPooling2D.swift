import StrataEngine

/// What the global poolings share: [height, width, channels] to [channels], no keys.
public protocol GlobalPooling2DKind: LayerKind {
    init()
    static var reduction: GlobalPooling2DLayer.Reduction { get }
}

extension GlobalPooling2DKind {
    public static var keys: [KeyRule] { [] }
    public init(_ arguments: LayerArguments) { self.init() }

    public func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int] {
        try requireImage(input)
        return [input[2]]
    }

    public func explain(_ layer: LayerSummary) -> [String] {
        let (h, w) = (layer.inputShape[0], layer.inputShape[1])
        let what = Self.reduction == .average ? "mean" : "max"
        return [
            "y[c] = \(what) of x[·, ·, c] over all \(h)x\(w) positions: one value per channel, a flat [\(layer.outputShape[0])]",
            "parameters: 0", "FLOPs: 0 counted",
        ]
    }

    /// The mean or maximum over the height and width axes of the channels-last values.
    public func export(
        _ graph: inout ONNXGraph, input: String, shape: [Int], name: String, tensors: [String: [Float]]
    ) throws(ExportProblem) -> String {
        graph.node(
            Self.reduction == .average ? "ReduceMean" : "ReduceMax", [input], name: name,
            attributes: [ONNXGraph.attribute("axes", ints: [1, 2]), ONNXGraph.attribute("keepdims", int: 0)])
    }

    public func engineLayers(name: String, input: [Int], index: Int) -> [Layer] {
        guard let layer = GlobalPooling2DLayer(name: name, inputShape: input, reduction: Self.reduction) else {
            preconditionFailure("\(name): the checked input is not [height, width, channels]")
        }
        return [layer]
    }
}

public struct GlobalAveragePooling2DSpec: GlobalPooling2DKind {
    public static let typeName = "global_average_pooling2d"
    public static let summary = "the mean of each channel over the whole image: [h, w, c] to [c]"
    public static let reduction = GlobalPooling2DLayer.Reduction.average
    public init() {}
}

public struct GlobalMaxPooling2DSpec: GlobalPooling2DKind {
    public static let typeName = "global_max_pooling2d"
    public static let summary = "the maximum of each channel over the whole image: [h, w, c] to [c]"
    public static let reduction = GlobalPooling2DLayer.Reduction.maximum
    public init() {}
}
