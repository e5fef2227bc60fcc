import StrataEngine

/// Inverted dropout while training; the identity when evaluating.
public struct DropoutSpec: LayerKind {
    public static let typeName = "dropout"
    public static let summary =
        "while training, zeroes each value with probability `rate` and scales the rest by 1/(1 − rate)"
    public static let keys = [
        KeyRule(
            "rate", .number(NumberBounds(atLeast: 0, below: 1)), .required,
            "the fraction of values dropped while training",
            what: "dropout rate",
            help:
                "the fraction of inputs to drop while training, e.g. `rate: 0.5`; 0 keeps all, 1 would drop everything")
    ]

    public var rate: Located<Double>

    public init(_ arguments: LayerArguments) { rate = arguments.number("rate") }

    public func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int] { input }

    public func explain(_ layer: LayerSummary) -> [String] {
        [
            "while training: each value is zeroed with probability \(format(rate.value)), the rest scaled by 1/(1 − \(format(rate.value))); when evaluating: y = x",
            "parameters: 0", "FLOPs: 0 counted",
        ]
    }

    public func engineLayers(name: String, input: [Int], index: Int) -> [Layer] {
        [DropoutLayer(name: name, rate: Float(rate.value), shape: input, index: index)]
    }

    /// Nothing: dropout does nothing when predicting.
    public func export(
        _ graph: inout ONNXGraph, input: String, shape: [Int], name: String, tensors: [String: [Float]]
    ) throws(ExportProblem) -> String { input }
}
