import Foundation
import StrataEngine
import Yams

/// Reads spec files into `Spec` values. Every problem found is returned; a spec comes back only when none is an error.
public enum SpecParser {
    /// A spec is a short text; anything larger is not one.
    static let maximumSpecSize = 16 << 20

    public static func load(path: String) -> (spec: Spec?, diagnostics: Diagnostics) {
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path, limit: maximumSpecSize)
        } catch {
            var diagnostics = Diagnostics()
            diagnostics.error("cannot open spec '\(path)': \(error.reason)", at: nil)
            return (nil, diagnostics)
        }
        let data = Data(bytes)
        return parse(data: data, file: path)
    }

    /// The spec at `path` with `settings` applied to its text (see `SpecEditor`); `source` is the text the
    /// diagnostics refer to, the edited one when the settings applied.
    public static func load(
        path: String, settings: [SpecSetting]
    ) -> (
        spec: Spec?, diagnostics: Diagnostics, source: String?
    ) {
        guard !settings.isEmpty else {
            let (spec, diagnostics) = load(path: path)
            return (spec, diagnostics, nil)
        }
        let (original, diagnostics) = load(path: path)
        guard let original, !diagnostics.hasErrors else {
            return (nil, diagnostics, nil)
        }
        let (edited, editDiagnostics) = SpecEditor.apply(settings, to: original.source, file: path)
        guard let edited else { return (nil, editDiagnostics, original.source) }
        let (spec, parseDiagnostics) = parse(text: edited, file: path)
        return (spec, parseDiagnostics, edited)
    }

    public static func parse(data: Data, file: String) -> (spec: Spec?, diagnostics: Diagnostics) {
        var diagnostics = Diagnostics()
        if let offset = data.firstIndex(of: 0) {
            let (line, column) = YAMLLoader.lineAndColumn(
                ofUTF8Offset: offset, in: String(decoding: data.prefix(offset), as: UTF8.self))
            diagnostics.error(
                "this is not a text file: byte 0x00 at offset \(offset)",
                at: SourceLocation(file: file, line: line, column: column), help: "a spec is a YAML text file")
            return (nil, diagnostics)
        }
        guard let text = String(validatingUTF8Data: data) else {
            let offset = firstInvalidUTF8Offset(data)
            let prefix = String(decoding: data.prefix(offset), as: UTF8.self)
            let (line, column) = YAMLLoader.lineAndColumn(ofUTF8Offset: prefix.utf8.count, in: prefix)
            diagnostics.error(
                "this is not UTF-8 text: invalid byte 0x\(String(data[offset], radix: 16)) at offset \(offset)",
                at: SourceLocation(file: file, line: line, column: column), help: "save the spec as UTF-8")
            return (nil, diagnostics)
        }
        return parse(text: text, file: file)
    }

    public static func parse(text original: String, file: String) -> (spec: Spec?, diagnostics: Diagnostics) {
        let text = LineBreaks.normalized(original)
        var diagnostics = Diagnostics()
        guard let root = YAMLLoader.compose(text: text, file: file, into: &diagnostics) else {
            return (nil, diagnostics)
        }
        let reader = NodeReader(file: file)
        let spec = SpecBuilder(reader: reader, file: file, text: text).build(root)
        diagnostics.append(contentsOf: reader.diagnostics)
        return (diagnostics.hasErrors ? nil : spec, diagnostics)
    }

    private static func firstInvalidUTF8Offset(_ data: Data) -> Int {
        var index = 0
        let bytes = [UInt8](data)
        while index < bytes.count {
            let lead = bytes[index]
            let length =
                lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
            if length == 0 || index + length > bytes.count { return index }
            if bytes[index + 1..<index + length].contains(where: { $0 >> 6 != 0b10 }) { return index }
            index += length
        }
        return max(0, bytes.count - 1)
    }
}

extension String {
    init?(validatingUTF8Data data: Data) {
        var decoded = ""
        var iterator = data.makeIterator()
        var codec = UTF8()
        loop: while true {
            switch codec.decode(&iterator) {
            case .scalarValue(let scalar): decoded.unicodeScalars.append(scalar)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = decoded
    }
}

/// Walks the composed tree section by section. Sections it cannot read are left at defaults so later
/// sections are still checked; the result is discarded if anything was an error.
struct SpecBuilder {
    let reader: NodeReader
    let file: String
    let text: String

    static let topLevelKeys = [
        "name", "seed", "input", "layers", "loss", "metrics", "optimizer", "training", "data", "checkpoint", "sweep",
    ]

    func build(_ root: Node) -> Spec? {
        if case .sequence = root {
            reader.error(
                "the spec must be a mapping of keys such as `input:` and `layers:`, but the file holds a list",
                at: root, help: "remove the leading '-' from the top-level keys")
            return nil
        }
        guard case .mapping = root else {
            reader.error(
                "the spec must be a mapping of keys such as `input:` and `layers:`, got \(reader.describe(root))",
                at: root)
            return nil
        }
        guard let top = reader.fields(root, what: "the spec", keys: Self.topLevelKeys) else { return nil }

        let defaultName = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let name = top["name"].flatMap { namingFiles($0, what: "name") } ?? defaultName
        let seed = top["seed"].flatMap { reader.int($0, what: "seed", range: 0...Int.max) }.map(UInt64.init) ?? 42
        let input = top.required(
            "input", help: "give the shape of one example, e.g. `input: [64]` or `input: [28, 28, 1]`"
        )
        .flatMap(parseInput)
        let layers = top.required("layers", help: "list the layers, e.g. `layers: [{dense: {units: 10}}]`")
            .flatMap(parseLayers)
        let loss = top.required("loss", help: "e.g. `loss: categorical_crossentropy` or `loss: mse`")
            .flatMap { node in
                reader.choice(node, what: "loss", LossKind.self).map { Located($0, at: reader.location(node)) }
            }
        let metrics = top["metrics"].map(parseMetrics) ?? []
        let optimizer = top.required(
            "optimizer", help: "e.g. `optimizer: {sgd: {learning_rate: 0.1}}` or `optimizer: adam`"
        )
        .flatMap(parseOptimizer)
        let training = parseTraining(top["training"], at: top.location)
        let data = top.required(
            "data", help: "say where the training data is, e.g. `data: {train: {csv: {path: data.csv}}}`"
        )
        .flatMap(parseData)
        let checkpoint = parseCheckpoint(top["checkpoint"], name: name, at: top.location)

        let sweep = top["sweep"].map(parseSweep)
        guard let input, let layers, let loss, let optimizer, let training, let checkpoint else { return nil }
        return Spec(
            file: file, source: text, name: name, seed: seed, input: input, layers: layers, loss: loss,
            metrics: metrics, optimizer: optimizer, training: training, data: data, checkpoint: checkpoint,
            sweep: sweep ?? nil)
    }

    private func parseInput(_ node: Node) -> Located<[Int]>? {
        let help = "the shape of one example without the batch: `[64]` for 64 features, `[28, 28, 1]` for a gray image"
        if case .scalar = node, node.tagName == .int {
            return reader.int(node, what: "input size", range: 1...Int.max).map {
                Located([$0], at: reader.location(node))
            }
        }
        guard let items = reader.sequence(node, what: "input") else { return nil }
        guard (1...3).contains(items.count) else {
            reader.error("input must have 1 to 3 dimensions, got \(items.count)", at: node, help: help)
            return nil
        }
        let dims = items.map { reader.int($0, what: "each input dimension", range: 1...Int.max) }
        guard !dims.contains(nil) else { return nil }
        return Located(dims.map { $0! }, at: reader.location(node))
    }

    private func parseMetrics(_ node: Node) -> [Located<MetricKind>] {
        let items: [Node]
        if case .scalar = node { items = [node] } else { items = reader.sequence(node, what: "metrics") ?? [] }
        var seen: Set<String> = []
        return items.compactMap { item in
            guard let metric = reader.choice(item, what: "metric", MetricKind.self) else { return nil }
            guard seen.insert(metric.rawValue).inserted else {
                reader.error("metric '\(metric.rawValue)' is listed twice", at: item)
                return nil
            }
            return Located(metric, at: reader.location(item))
        }
    }

    static let trainingKeys = ["batch_size", "epochs", "shuffle", "validation_split", "early_stopping"]

    /// A name that becomes a file or folder name (FileName).
    private func namingFiles(_ node: Node, what: String) -> String? {
        guard let name = reader.string(node, what: what) else { return nil }
        if let problem = FileName.problem(name) {
            reader.error(
                "\(what) '\(name)' \(problem)", at: node,
                help: "it names the files written for it, e.g. runs/NAME.safetensors; write e.g. `name: my-model`")
            return nil
        }
        return name
    }

    private func parseSweep(_ node: Node) -> SweepSection? {
        guard
            let fields = reader.fields(
                node, what: "sweep", keys: ["name", "set", "random", "seed", "jobs", "halving"])
        else { return nil }
        var section = SweepSection(axes: [], halving: false)
        section.name = fields["name"].flatMap { namingFiles($0, what: "sweep name") }
        section.random = fields["random"].flatMap {
            reader.int($0, what: "random", range: 1...SweepSettings.maximumRuns)
        }
        section.seed = fields["seed"].flatMap { reader.int($0, what: "seed", range: 0...Int.max) }.map(UInt64.init)
        section.jobs = fields["jobs"].flatMap { reader.int($0, what: "jobs", range: 1...64) }
        section.halving = fields["halving"].flatMap { reader.bool($0, what: "halving") } ?? false
        guard let set = fields.required("set", help: "e.g. `set: {training.batch_size: [16, 64]}`") else {
            return nil
        }
        guard case .mapping(let mapping) = set else {
            reader.error("sweep.set must map spec paths to values, got \(reader.describe(set))", at: set)
            return nil
        }
        for (key, value) in mapping {
            guard let path = key.string else { continue }
            let parsed: Result<SweepAxis, SweepError>
            switch value {
            case .sequence(let items):
                let texts = items.compactMap { item -> String? in
                    guard case .scalar(let scalar) = item else { return nil }
                    return scalar.string
                }
                guard texts.count == items.count else {
                    reader.error("sweep.set.\(path): list single values", at: value)
                    continue
                }
                parsed = SweepAxis.parse(path: path, values: "choice(" + texts.joined(separator: ",") + ")")
            case .scalar(let scalar):
                parsed = SweepAxis.parse(path: path, values: scalar.string)
            default:
                reader.error(
                    "sweep.set.\(path): give a list of values or a range such as loguniform(1e-4, 1e-1)", at: value)
                continue
            }
            switch parsed {
            case .success(let axis): section.axes.append(axis)
            case .failure(let error): reader.error("sweep.set.\(path): \(error.message)", at: value)
            }
        }
        return section
    }

    private func parseTraining(_ node: Node?, at location: SourceLocation) -> TrainingSpec? {
        var training = TrainingSpec(
            batchSize: Located(32, at: location), epochs: Located(1, at: location), shuffle: true,
            validationSplit: Located(0, at: location), earlyStopping: nil)
        guard let node else { return training }
        guard let fields = reader.fields(node, what: "training", keys: Self.trainingKeys) else { return nil }
        if let v = fields["batch_size"], let size = reader.int(v, what: "batch_size", range: 1...Int.max) {
            training.batchSize = Located(size, at: reader.location(v))
            training.batchSizeChosen = true
        }
        if let v = fields["epochs"], let epochs = reader.int(v, what: "epochs", range: 0...Int.max) {
            training.epochs = Located(epochs, at: reader.location(v))
        }
        if let v = fields["shuffle"], let shuffle = reader.bool(v, what: "shuffle") { training.shuffle = shuffle }
        if let v = fields["validation_split"],
            let split = reader.double(
                v, what: "validation_split", atLeast: 0, below: 1,
                help: "a fraction such as 0.2 holds out 20% of the training data")
        {
            training.validationSplit = Located(split, at: reader.location(v))
        }
        if let v = fields["early_stopping"] { training.earlyStopping = parseEarlyStopping(v) }
        return training
    }

    private func parseEarlyStopping(_ node: Node) -> EarlyStoppingSpec? {
        guard
            let fields = reader.fields(
                node, what: "early_stopping", keys: ["monitor", "patience", "min_delta", "restore_best_weights"])
        else { return nil }
        var spec = EarlyStoppingSpec(
            monitor: Located("val_loss", at: fields.location), patience: 0, minDelta: 0, restoreBestWeights: false)
        if let v = fields["monitor"], let monitor = reader.string(v, what: "monitor") {
            spec.monitor = Located(monitor, at: reader.location(v))
        }
        if let v = fields["patience"], let patience = reader.int(v, what: "patience", range: 0...Int.max) {
            spec.patience = patience
        }
        if let v = fields["min_delta"], let delta = reader.double(v, what: "min_delta", atLeast: 0) {
            spec.minDelta = delta
        }
        if let v = fields["restore_best_weights"], let restore = reader.bool(v, what: "restore_best_weights") {
            spec.restoreBestWeights = restore
        }
        return spec
    }

    private func parseCheckpoint(_ node: Node?, name: String, at location: SourceLocation) -> CheckpointSpec? {
        var spec = CheckpointSpec(
            path: Located("runs/\(name).safetensors", at: location), save: Located(.end, at: location),
            monitor: Located("val_loss", at: location))
        guard let node else { return spec }
        guard let fields = reader.fields(node, what: "checkpoint", keys: ["path", "save", "monitor"]) else {
            return nil
        }
        if let v = fields["path"], let path = reader.string(v, what: "checkpoint path") {
            if path.isEmpty {
                reader.error("checkpoint path is empty", at: v)
            } else {
                spec.path = Located(path, at: reader.location(v))
            }
        }
        if let v = fields["save"], let save = reader.choice(v, what: "save policy", SavePolicy.self) {
            spec.save = Located(save, at: reader.location(v))
        }
        if let v = fields["monitor"], let monitor = reader.string(v, what: "monitor") {
            spec.monitor = Located(monitor, at: reader.location(v))
        }
        return spec
    }
}
