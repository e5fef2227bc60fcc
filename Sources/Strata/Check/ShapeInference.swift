/// Infers every layer's output shape from `input`, with parameter counts and FLOPs. The first layer whose
/// input does not fit gets the error, with the chain of shapes that led to it; inference stops there.
struct ShapeInference {
    let spec: Spec
    var diagnostics = Diagnostics()

    init(spec: Spec) { self.spec = spec }

    mutating func run() -> [LayerSummary]? {
        var shape = spec.input.value
        var producer = "input"
        var producerLine = spec.input.location.line
        var summaries: [LayerSummary] = []
        for layer in spec.layers {
            guard let summary = infer(layer, input: shape, from: producer, line: producerLine, previous: summaries) else {
                return nil
            }
            summaries.append(summary)
            shape = summary.outputShape
            producer = layer.name.value
            producerLine = layer.location.line
        }
        return summaries
    }

    private mutating func infer(
        _ layer: LayerSpec, input: [Int], from producer: String, line: Int, previous: [LayerSummary]
    ) -> LayerSummary? {
        let name = layer.name.value
        var summary = LayerSummary(
            name: name, typeName: layer.typeName, inputShape: input, outputShape: input, params: 0, flops: 0,
            location: layer.location)
        func fail(_ needs: String, help: String?) -> LayerSummary? {
            diagnostics.append(
                Diagnostic(
                    .error, "\(name) needs \(needs), got \(describeShape(input)) from \(producer) (line \(line))",
                    at: layer.location, help: help, notes: [chain(previous, upTo: input)]))
            return nil
        }
        switch layer.kind {
        case .dense(let dense):
            guard input.count == 1 else {
                return fail("a flat input [features]", help: "add `- flatten` before \(name)")
            }
            let units = dense.units.value
            summary.outputShape = [units]
            summary.params = saturatingAdd(saturatingMultiply(input[0], units), dense.useBias ? units : 0)
            summary.flops = saturatingAdd(saturatingMultiply(2, saturatingMultiply(input[0], units)), dense.useBias ? units : 0)
            checkInitialValues(dense.kernelInitializer, expected: [input[0], units], what: "kernel", layer: name)
            checkInitialValues(dense.biasInitializer, expected: [units], what: "bias", layer: name)
        case .conv2d(let conv):
            guard input.count == 3 else {
                return fail("[height, width, channels]", help: input.count == 1 ? "set `input` to the image shape, e.g. [28, 28, 1], and flatten after the convolutions" : nil)
            }
            guard let (height, width) = window(input, conv.kernelSize, conv.strides.value, conv.padding, what: "kernel_size", layer: layer) else { return nil }
            let kernelArea = conv.kernelSize.value[0] * conv.kernelSize.value[1]
            let filters = conv.filters.value
            summary.outputShape = [height, width, filters]
            let weights = saturatingMultiply(saturatingMultiply(kernelArea, input[2]), filters)
            summary.params = saturatingAdd(weights, conv.useBias ? filters : 0)
            let outputs = elementCount(summary.outputShape)
            summary.flops = saturatingAdd(
                saturatingMultiply(2, saturatingMultiply(outputs, kernelArea * input[2])), conv.useBias ? outputs : 0)
            checkInitialValues(conv.kernelInitializer, expected: conv.kernelSize.value + [input[2], filters], what: "kernel", layer: name)
            checkInitialValues(conv.biasInitializer, expected: [filters], what: "bias", layer: name)
        case .maxPool2d(let pool):
            guard input.count == 3 else {
                return fail("[height, width, channels]", help: nil)
            }
            guard let (height, width) = window(input, pool.poolSize, pool.strides.value, pool.padding, what: "pool_size", layer: layer) else { return nil }
            summary.outputShape = [height, width, input[2]]
        case .flatten:
            summary.outputShape = [elementCount(input)]
        case .dropout, .activation:
            break
        }
        return summary
    }

    /// Output height and width of a sliding window, Keras' rules: valid ⌊(n − k) / s⌋ + 1, same ⌈n / s⌉.
    private mutating func window(
        _ input: [Int], _ size: Located<[Int]>, _ strides: [Int], _ padding: Padding, what: String, layer: LayerSpec
    ) -> (Int, Int)? {
        let (k, s) = (size.value, strides)
        if padding == .same { return ((input[0] + s[0] - 1) / s[0], (input[1] + s[1] - 1) / s[1]) }
        guard k[0] <= input[0], k[1] <= input[1] else {
            diagnostics.error(
                "\(what) \(describeShape(k)) of \(layer.name.value) is larger than its input \(input[0])x\(input[1])",
                at: size.location, help: "use a smaller \(what), or `padding: same`")
            return nil
        }
        return ((input[0] - k[0]) / s[0] + 1, (input[1] - k[1]) / s[1] + 1)
    }

    private mutating func checkInitialValues(_ initializer: Located<Initializer>, expected: [Int], what: String, layer: String) {
        guard case .values(let values, let shape) = initializer.value else { return }
        // A 1-D list fills a bias or a single-column kernel; otherwise the written shape must match.
        let fits = shape == expected || (shape.count == 1 && values.count == elementCount(expected) && expected.count <= 2 && (expected.count == 1 || expected.last == 1))
        if !fits {
            diagnostics.error(
                "\(layer) \(what) values have shape \(describeShape(shape)), but the \(what) is \(describeShape(expected))",
                at: initializer.location,
                help: what == "kernel" ? "dense kernels are [inputs, units]; conv2d kernels are [height, width, channels, filters]" : nil)
        }
    }

    private func chain(_ previous: [LayerSummary], upTo input: [Int]) -> String {
        let steps = ["input \(describeShape(spec.input.value))"] + previous.map { "\($0.name) \(describeShape($0.outputShape))" }
        return "shapes: " + steps.joined(separator: " → ")
    }
}
