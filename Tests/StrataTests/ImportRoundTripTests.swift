import Foundation
import StrataEngine
import StrataTestSupport
import Testing

@testable import Strata

/// A Keras 3 model config written from a spec, as `model.save()` would write its config.json (layers and
/// compile settings), for the round trip: bundled spec → Keras JSON → `strata import` → the same model.
enum KerasConfigWriter {
    static func json(_ spec: Spec) -> String {
        let input = object(
            "InputLayer",
            [
                "batch_shape": "[null, \(spec.input.value.map(String.init).joined(separator: ", "))]",
                "name": "\"input_layer\"",
            ])
        let layers = [input] + spec.layers.map(layer)
        let optimizer = object(
            ["sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"][spec.optimizer.name] ?? "?",
            ["learning_rate": "\(spec.optimizer.learningRate.value)"])
        let metrics = spec.metrics.map { "\"\($0.value.rawValue)\"" }.joined(separator: ", ")
        return """
            {"module": "keras", "class_name": "Sequential", "config": {"name": "\(spec.name)", "layers": [
            \(layers.joined(separator: ",\n"))
            ]}, "compile_config": {"optimizer": \(optimizer), "loss": "\(spec.loss.value.rawValue)", "metrics": [\(metrics)]}}
            """
    }

    private static func object(_ className: String, _ config: [String: String]) -> String {
        let fields = config.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
        return #"{"module": "keras.layers", "class_name": "\#(className)", "config": {\#(fields)}}"#
    }

    private static func activation(_ kind: ActivationKind?) -> String {
        guard let kind else { return "\"linear\"" }
        return "\"\(kind.name)\""
    }

    private static func pair(_ v: [Int]) -> String { "[\(v[0]), \(v[1])]" }

    private static func layer(_ layer: LayerSpec) -> String {
        var config = ["name": "\"\(layer.name.value)\""]
        let kind = layer.kind
        switch kind {
        case let dense as DenseSpec:
            config["units"] = "\(dense.units.value)"
            config["activation"] = activation(dense.activation?.value)
            config["use_bias"] = "\(dense.weights.useBias)"
            return object("Dense", config)
        case let conv as Conv2DSpec:
            config["filters"] = "\(conv.filters.value)"
            config["kernel_size"] = pair(conv.kernelSize.value)
            config["strides"] = pair(conv.strides.value)
            config["padding"] = "\"\(conv.padding.rawValue)\""
            config["activation"] = activation(conv.activation?.value)
            config["use_bias"] = "\(conv.weights.useBias)"
            return object("Conv2D", config)
        case let pool as any Pooling2DKind:
            config["pool_size"] = pair(pool.poolSize.value)
            config["strides"] = pair(pool.strides.value)
            config["padding"] = "\"\(pool.padding.rawValue)\""
            return object(pool is MaxPool2DSpec ? "MaxPooling2D" : "AveragePooling2D", config)
        case is GlobalAveragePooling2DSpec: return object("GlobalAveragePooling2D", config)
        case is GlobalMaxPooling2DSpec: return object("GlobalMaxPooling2D", config)
        case is FlattenSpec: return object("Flatten", config)
        case let dropout as DropoutSpec:
            config["rate"] = "\(dropout.rate.value)"
            return object("Dropout", config)
        case let a as ActivationSpec:
            config["activation"] = activation(a.function.value)
            return object("Activation", config)
        case let bn as BatchNormalizationSpec:
            config["axis"] = "-1"
            config["momentum"] = "\(bn.momentum)"
            config["epsilon"] = "\(bn.epsilon)"
            config["center"] = "\(bn.center)"
            config["scale"] = "\(bn.scale)"
            return object("BatchNormalization", config)
        default:
            return object("Unwritten\(kind.typeName)", config)
        }
    }
}

private let bundledSpecs: [String] = {
    let folder = Paths.repository.appendingPathComponent("specs")
    let top = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).map { "specs/\($0)" }
    let lessons =
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("lessons").path)) ?? [])
        .map { "specs/lessons/\($0)" }
    return (top + lessons).filter { $0.hasSuffix(".yaml") }.sorted()
}()

@Test func thereAreBundledSpecsToRoundTrip() { #expect(bundledSpecs.count >= 10) }

private func summary(_ spec: Spec) throws -> ModelSummary {
    let (_, summary, diagnostics) = Checker.check(spec, options: CheckOptions(readData: false))
    #expect(!diagnostics.hasErrors, "\(diagnostics.errors)")
    return try #require(summary)
}

/// Each bundled spec's model, written as Keras would and imported back: the same layers, names, shapes,
/// parameter counts, loss, metrics, optimizer and learning rate.
@Test(arguments: bundledSpecs)
func bundledSpecRoundTripsThroughKerasJSON(_ relative: String) throws {
    let original = try #require(SpecParser.load(path: Paths.repository.appendingPathComponent(relative).path).spec)
    let path = ScratchFolder.make("roundtrip").appendingPathComponent("model.json").path
    FileManager.default.createFile(atPath: path, contents: Data(KerasConfigWriter.json(original).utf8))
    let result = Importer.run(path: path)
    let yaml = try #require(result.yaml, "\(result.diagnostics.items)")
    #expect(!result.diagnostics.hasErrors)
    let imported = try #require(
        SpecParser.parse(text: yaml + "data: {train: {inline: {x: [[0]], y: [0]}}}\n", file: "i.yaml").spec)
    let (a, b) = (try summary(original), try summary(imported))
    let describe = { (s: ModelSummary) in
        s.layers.map { "\($0.name) \($0.typeName) \($0.outputShape) \($0.params) \($0.nonTrainableParams)" }
    }
    #expect(describe(a) == describe(b))
    #expect(imported.loss.value == original.loss.value)
    #expect(imported.metrics.map(\.value) == original.metrics.map(\.value))
    #expect(imported.optimizer.name == original.optimizer.name)
    #expect(imported.optimizer.learningRate.value == original.optimizer.learningRate.value)
}
