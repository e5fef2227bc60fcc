/// Infers every layer's output shape from `input`, with parameter counts and FLOPs, by asking each layer's
/// kind. The first layer whose input does not fit gets the error, with the chain of shapes that led to it;
/// inference stops there.
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
            guard let summary = infer(layer, input: shape, from: producer, line: producerLine, previous: summaries)
            else {
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
        let output: [Int]
        do {
            output = try layer.kind.outputShape(input: input, name: name)
        } catch {
            switch error {
            case .needs(let needs, let help):
                diagnostics.append(
                    Diagnostic(
                        .error, "\(name) needs \(needs), got \(describeShape(input)) from \(producer) (line \(line))",
                        at: layer.location, help: help, notes: [chain(previous)]))
            case .invalid(let message, let location, let help):
                diagnostics.error(message, at: location, help: help)
            }
            return nil
        }
        let tensors = layer.kind.tensors(input: input, output: output)
        for tensor in tensors { checkInitialValues(tensor, layer: name) }
        let count = { (trainable: Bool) in
            tensors.filter { $0.trainable == trainable }.map { elementCount($0.shape) }.reduce(0, saturatingAdd)
        }
        return LayerSummary(
            name: name, typeName: layer.typeName, inputShape: input, outputShape: output, params: count(true),
            nonTrainableParams: count(false), flops: layer.kind.flops(input: input, output: output),
            trainingFloats: layer.kind.trainingFloats(input: input, output: output), location: layer.location)
    }

    private mutating func checkInitialValues(_ tensor: TensorDecl, layer: String) {
        guard let initializer = tensor.initializer, case .values(let values, let shape) = initializer.value else {
            return
        }
        let expected = tensor.shape
        let what = tensor.initializerKey.map { String($0.prefix { $0 != "_" }) } ?? tensor.name
        // A 1-D list fills a bias or a single-column kernel; otherwise the written shape must match.
        let fits =
            shape == expected
            || (shape.count == 1 && values.count == elementCount(expected) && expected.count <= 2
                && (expected.count == 1 || expected.last == 1))
        if !fits {
            diagnostics.error(
                "\(layer) \(what) values have shape \(describeShape(shape)), but the \(what) is \(describeShape(expected))",
                at: initializer.location, help: tensor.layout)
        }
    }

    private func chain(_ previous: [LayerSummary]) -> String {
        let steps =
            ["input \(describeShape(spec.input.value))"]
            + previous.map { "\($0.name) \(describeShape($0.outputShape))" }
        return "shapes: " + steps.joined(separator: " → ")
    }
}
