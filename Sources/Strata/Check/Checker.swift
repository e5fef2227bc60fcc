import StrataEngine
import Foundation

/// A spec that passed every check, with what the checker derived: ready to plan.
public struct CheckedSpec: Sendable {
    public var spec: Spec
    public var summary: ModelSummary
    public var data: DataFacts?
}

public struct CheckOptions: Sendable {
    /// Specs whose parameters, optimizer state and activations need more than this are refused.
    public var memoryBudgetBytes: Int
    /// Read the data files to check labels and feature counts.
    public var readData: Bool

    public static let defaultMemoryBudget = 8 << 30

    public init(memoryBudgetBytes: Int = defaultMemoryBudget, readData: Bool = true) {
        self.memoryBudgetBytes = memoryBudgetBytes
        self.readData = readData
    }
}

public enum Checker {
    /// Parses and checks a spec file. The checked spec comes back only when nothing is an error.
    public static func check(
        path: String, options: CheckOptions = .init()
    ) -> (checked: CheckedSpec?, summary: ModelSummary?, diagnostics: Diagnostics) {
        let (spec, diagnostics) = SpecParser.load(path: path)
        guard let spec else { return (nil, nil, diagnostics) }
        var result = check(spec, options: options)
        result.diagnostics = Diagnostics(diagnostics.items + result.diagnostics.items)
        return result
    }

    public static func check(
        _ spec: Spec, options: CheckOptions = .init()
    ) -> (checked: CheckedSpec?, summary: ModelSummary?, diagnostics: Diagnostics) {
        var diagnostics = Diagnostics()
        var shapes = ShapeInference(spec: spec)
        let layers = shapes.run()
        diagnostics.append(contentsOf: shapes.diagnostics)
        var summary: ModelSummary?
        if let layers {
            // The model alone first, so an absurd one is refused before any data is read.
            let s = ModelSummary(
                inputShape: spec.input.value, layers: layers, batchSize: spec.training.batchSize.value,
                memory: estimateMemory(spec, layers: layers, data: nil))
            summary = s
            var output = OutputCheck(spec: spec)
            output.run(outputShape: s.outputShape)
            diagnostics.append(contentsOf: output.diagnostics)
            checkBudget(s, spec: spec, options: options, into: &diagnostics)
        }
        let hasValidation = spec.training.validationSplit.value > 0 || spec.data?.validation != nil
        var monitors = MonitorCheck(spec: spec)
        monitors.run(hasValidation: hasValidation)
        diagnostics.append(contentsOf: monitors.diagnostics)
        var facts: DataFacts?
        // The data is checked against a model whose shapes are known (a shape error leaves no summary).
        if options.readData, let data = spec.data, summary != nil {
            var dataCheck = DataCheck(spec: spec, data: data)
            facts = dataCheck.run(outputShape: summary?.outputShape)
            diagnostics.append(contentsOf: dataCheck.diagnostics)
        }
        // With the data read: its size counts, and a batch is never larger than the largest source.
        if let layers, let facts, var s = summary, !diagnostics.hasErrors {
            s.memory = estimateMemory(spec, layers: layers, data: facts)
            s.batchSize = min(s.batchSize, facts.largestSource ?? s.batchSize)
            summary = s
            checkBudget(s, spec: spec, options: options, into: &diagnostics)
        }
        guard let summary, !diagnostics.hasErrors else { return (nil, summary, diagnostics) }
        return (CheckedSpec(spec: spec, summary: summary, data: facts), summary, diagnostics)
    }

    private static func checkBudget(
        _ s: ModelSummary, spec: Spec, options: CheckOptions, into diagnostics: inout Diagnostics
    ) {
        guard s.memory.totalBytes > options.memoryBudgetBytes else { return }
        let m = s.memory
        diagnostics.append(
            Diagnostic(
                .error,
                "training needs about \(formatBytes(m.totalBytes)), over the memory budget of \(formatBytes(options.memoryBudgetBytes))",
                at: largestLayer(spec, s.layers), help: "use fewer units or filters, or a smaller batch_size",
                notes: [
                    "parameters \(formatBytes(m.parameterBytes)), gradients \(formatBytes(m.gradientBytes)), optimizer state \(formatBytes(m.optimizerBytes)), activations \(formatBytes(m.activationBytes)) at batch \(s.batchSize), data \(formatBytes(m.dataBytes))"
                ]))
    }

    /// What training allocates: parameters and state, gradients, optimizer slots; per example of a batch each
    /// layer's outputs, gradients and scratch (as its kind counts them), the input and target rows twice (the
    /// next batch is gathered alongside); the kernels' per-thread workspace; and the data as read and split.
    /// With the data known, the batch is clamped to the largest source, as the plan clamps it.
    static func estimateMemory(_ spec: Spec, layers: [LayerSummary], data: DataFacts?) -> MemoryEstimate {
        let float = MemoryLayout<Float>.size
        let params = layers.map(\.params).reduce(0, saturatingAdd)
        let state = layers.map(\.nonTrainableParams).reduce(0, saturatingAdd)
        let slots = spec.optimizer.kind.value.slotNames.count
        let batch = min(spec.training.batchSize.value, data?.largestSource ?? Int.max)
        let targetWidth = data?.encoding.targetWidth ?? layers.last.map { elementCount($0.outputShape) } ?? 1
        let rows = saturatingMultiply(2, saturatingAdd(elementCount(spec.input.value), targetWidth))
        let perExample = layers.map(\.trainingFloats).reduce(rows, saturatingAdd)
        let activations = saturatingMultiply(saturatingMultiply(perExample, batch), float)
        var estimate = MemoryEstimate(
            parameterBytes: saturatingMultiply(saturatingAdd(params, state), float),
            gradientBytes: saturatingMultiply(params, float),
            optimizerBytes: saturatingMultiply(saturatingMultiply(params, slots), float), activationBytes: activations)
        estimate.dataBytes = saturatingMultiply(data?.heldFloats ?? 0, float)
        estimate.workspaceBytes = GEMMWorkspace.bytesPerThread * CPU.coreCount
        return estimate
    }

    private static func largestLayer(_ spec: Spec, _ layers: [LayerSummary]) -> SourceLocation {
        let costs = layers.map {
            saturatingAdd($0.params, saturatingMultiply(elementCount($0.outputShape), spec.training.batchSize.value))
        }
        guard let index = costs.indices.max(by: { costs[$0] < costs[$1] }) else { return spec.input.location }
        return layers[index].location
    }
}

public func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
