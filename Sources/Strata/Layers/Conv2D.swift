import StrataEngine

/// 2-D convolution, channels last: y[i, j, f] = activation(Σ over the window and channels of W·x + b[f]),
/// W [kh, kw, channels, filters] as Keras lays it out.
public struct Conv2DSpec: LayerKind {
    public static let typeName = "conv2d"
    public static let summary = "2-D convolution: each filter slides over the image, channels last"
    public static let keys =
        [
            KeyRule(
                "filters", .integer(1...Int.max), .required, "the number of output channels",
                help: "the number of output channels, e.g. `filters: 32`"),
            KeyRule(
                "kernel_size", .pair(1...Int.max), .required, "the window size",
                help: "the window size, e.g. `kernel_size: 3` or `[3, 3]`"),
            KeyRule("strides", .pair(1...Int.max), .value(.pair([1, 1])), "the step between windows"),
            KeyRule(
                "padding", .word(Padding.allCases.map(\.rawValue)), .value(.word("valid")),
                "`same` pads so the output is ⌈input / stride⌉"),
        ] + WeightKeys.rules

    public var filters: Located<Int>
    public var kernelSize: Located<[Int]>
    public var strides: Located<[Int]>
    public var padding: Padding
    public var weights: WeightKeys
    public var activation: Located<ActivationKind>? { weights.activation }

    public init(_ arguments: LayerArguments) {
        filters = arguments.integer("filters")
        kernelSize = arguments.pair("kernel_size") ?? Located([1, 1], at: arguments.location)
        strides = arguments.pair("strides") ?? Located([1, 1], at: arguments.location)
        padding = Padding(rawValue: arguments.word("padding")) ?? .valid
        weights = WeightKeys(arguments)
    }

    public func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int] {
        let w = try windowOutput(
            input, size: kernelSize, strides: strides.value, padding: padding, what: "kernel_size", name: name)
        return [w.outputHeight, w.outputWidth, filters.value]
    }

    public func tensors(input: [Int], output: [Int]) -> [TensorDecl] {
        weights.tensors(kernel: kernelSize.value + [input[2], filters.value], bias: filters.value)
    }

    public func flops(input: [Int], output: [Int]) -> Int {
        let outputs = elementCount(output)
        let perOutput = saturatingMultiply(elementCount(kernelSize.value), input[2])
        return saturatingAdd(
            saturatingMultiply(2, saturatingMultiply(outputs, perOutput)), weights.useBias ? outputs : 0)
    }

    /// Its output and gradient (twice with an activation), and at most a column matrix of every window (the
    /// im2col method; the implicit one needs less).
    public func trainingFloats(input: [Int], output: [Int]) -> Int {
        let outputs = saturatingMultiply(weights.copiesPerOutput, elementCount(output))
        let columns = saturatingMultiply(
            output[0] * output[1], saturatingMultiply(elementCount(kernelSize.value), input[2]))
        return saturatingAdd(outputs, columns)
    }

    public func explain(_ layer: LayerSummary) -> [String] {
        let g = groupedDigits
        let (k, c, f) = (kernelSize.value, layer.inputShape[2], filters.value)
        let (name, formula) = (activation?.value ?? .linear).explained
        let sum =
            "Σ over the \(k[0])x\(k[1]) window and \(c) channel\(c == 1 ? "" : "s") of W·x\(weights.useBias ? " + b" : "")"
        var lines = [
            "y[i, j, f] = \(name.isEmpty ? sum : "\(name)(\(sum))"), W of shape [\(k[0]), \(k[1]), \(c), \(f)], stride \(strides.value.map(String.init).joined(separator: "x")), \(padding.rawValue) padding"
        ]
        if let formula { lines.append(formula) }
        lines.append("parameters: \(k[0])·\(k[1])·\(c)·\(f)\(weights.useBias ? " + \(f)" : "") = \(g(layer.params))")
        let biasAdds = elementCount(layer.outputShape)
        lines.append(
            "FLOPs: 2·\(k[0])·\(k[1])·\(c) per output value × \(layer.outputShape[0])·\(layer.outputShape[1])·\(f) outputs\(weights.useBias ? " + \(g(biasAdds)) bias adds" : "") = \(g(layer.flops))"
        )
        return lines + regularizerLines(weights.kernelRegularizer?.value)
    }

    public func engineLayers(name: String, input: [Int], index: Int) -> [Layer] {
        let (k, s) = (kernelSize.value, strides.value)
        // The checker has laid this window over this input, so the layer can be built.
        guard
            let layer = Conv2DLayer(
                name: name, inputShape: input, filters: filters.value, kernel: (k[0], k[1]), strides: (s[0], s[1]),
                same: padding == .same, useBias: weights.useBias, kernelInitializer: weights.kernelInitializer.value,
                biasInitializer: weights.biasInitializer.value)
        else { preconditionFailure("\(name): the checked window does not fit") }
        return weights.engineLayers(layer, weight: layer.weight, name: name)
    }

    /// Conv on the channels-first layout with W as [filters, channels, kh, kw] (Keras keeps [kh, kw, channels,
    /// filters]), the same padding split as Keras, then its activation.
    public func export(
        _ graph: inout ONNXGraph, input: String, shape: [Int], name: String, tensors: [String: [Float]]
    ) throws(ExportProblem) -> String {
        guard let weight = tensors["weight"] else { throw ExportProblem("\(name) has no weight in the checkpoint") }
        let window = try windowOrProblem(shape, name: name)
        let (kh, kw, c, f) = (kernelSize.value[0], kernelSize.value[1], shape[2], filters.value)
        var reordered = [Float](repeating: 0, count: weight.count)
        for i in 0..<kh {
            for j in 0..<kw {
                for k in 0..<c {
                    for o in 0..<f {
                        reordered[((o * c + k) * kh + i) * kw + j] = weight[((i * kw + j) * c + k) * f + o]
                    }
                }
            }
        }
        var inputs = [graph.constant("\(name).weight", reordered, shape: [f, c, kh, kw])]
        if weights.useBias, let bias = tensors["bias"] {
            inputs.append(graph.constant("\(name).bias", bias, shape: [f]))
        }
        let convolved = graph.channelsFirst(input, name: name) { graph, x in
            graph.node("Conv", [x] + inputs, name: name, attributes: window.onnxAttributes)
        }
        return (activation?.value ?? .linear).export(&graph, input: convolved, name: name)
    }

    private func windowOrProblem(_ input: [Int], name: String) throws(ExportProblem) -> Window {
        do {
            return try windowOutput(
                input, size: kernelSize, strides: strides.value, padding: padding, what: "kernel_size", name: name)
        } catch {
            throw ExportProblem("\(name): its window does not fit its input")
        }
    }
}
