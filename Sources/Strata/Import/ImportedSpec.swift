import Foundation

/// A spec built from another framework's description, before it is written as YAML: each part keeps where it
/// came from, which the written spec says in a comment.
struct ImportedSpec {
    /// One layer: a kind of LayerRegistry and its keys' values as YAML flow text, in the order written.
    struct Layer {
        var kind: String
        var keys: [(String, String)] = []
        var name: String?
        var origin: SourceLocation?
        /// The source's own words for it: `conv1 (Convolution)`.
        var source: String?
    }

    /// "Keras", "Caffe", "Darknet".
    var format: String
    var file: String
    var name: String
    var seed: Int?
    var input: [Int] = []
    var layers: [Layer] = []
    var loss: String?
    var lossNote: String?
    var metrics: [String] = []
    var optimizer = "sgd"
    var optimizerKeys: [(String, String)] = []
    var optimizerNote: String?
    var batchSize: Int?
    var epochs: Int?
    /// Comment lines above `training:` (how epochs were derived, what was not carried over).
    var trainingNotes: [String] = []
    /// Comment lines about the source's data (which Strata cannot read as it is), above `data:`.
    var dataNotes: [String] = []
    /// Keys of a `data:` section to fill in, written commented out (`scale: 0.00390625`).
    var dataKeys: [String] = []
    /// Warnings and errors found while importing, at their places in the source.
    var diagnostics = Diagnostics()

    /// A length of training given in batches (Caffe's max_iter, Darknet's max_batches) as epochs, when the
    /// training set's size is known; otherwise a comment with the arithmetic and a warning.
    mutating func setEpochs(steps: Int, batch: Int, examples size: Int?, what: String, at location: SourceLocation) {
        let examples = saturatingMultiply(steps, batch)
        guard let size else {
            trainingNotes.append(
                "\(format)'s \(what) \(steps) × batch \(batch) = \(examples) examples: set epochs to that ÷ your training set's size."
            )
            warning(
                "\(what) \(steps) counts batches; the spec's epochs need the training set's size", at: location,
                help: "give it with --train-examples N, or set training.epochs yourself")
            return
        }
        let exact = Double(examples) / Double(size)
        let rounded = max(1, Int(exact.rounded()))
        epochs = rounded
        trainingNotes.append(
            "\(format)'s \(what) \(steps) × batch \(batch) = \(examples) examples ≈ \(rounded) epochs of \(size).")
        if examples % size != 0 {
            warning(
                "\(what) \(steps) at batch \(batch) is \(formatTwo(exact)) epochs of \(size) examples; the spec trains \(rounded)",
                at: location)
        }
    }

    mutating func error(_ message: String, at location: SourceLocation?, help: String? = nil) {
        diagnostics.error(message, at: location, help: help)
    }

    mutating func warning(_ message: String, at location: SourceLocation?, help: String? = nil) {
        diagnostics.warning(message, at: location, help: help)
    }

    /// The spec as YAML, with a comment per part naming its origin.
    var yaml: String { rendered.text }

    /// The YAML and, for each layer's line, the place in the source it came from (one rendering for both).
    var rendered: (text: String, origins: [Int: SourceLocation]) {
        var origins: [Int: SourceLocation] = [:]
        var lines = [
            "# Imported by `strata import` from \(fileName(file)) (\(format)).",
            "# Each layer's comment gives the line it came from. Add the data below, then `strata check`.",
            // A spec's name names files; a Caffe net may be named anything.
            "name: \(YAMLText.word(FileName.made(from: name, fallback: "imported")))",
        ]
        if let seed { lines.append("seed: \(seed)") }
        lines += ["input: \(YAMLText.list(input.map(String.init)))", "layers:"]
        for layer in layers {
            var keys = layer.keys
            if let name = layer.name { keys.insert(("name", YAMLText.word(name)), at: 0) }
            var item = keys.isEmpty ? layer.kind : "\(layer.kind): \(YAMLText.map(keys))"
            // A kind whose body is one key's value (`- activation: relu`) is written that way.
            if let body = LayerRegistry.kind(named: layer.kind)?.bodyKey, keys.count == 1, keys[0].0 == body {
                item = "\(layer.kind): \(keys[0].1)"
            }
            lines.append("  - \(item)" + Self.comment(layer.origin, layer.source))
            if let origin = layer.origin { origins[lines.count] = origin }
        }
        if let loss { lines.append("loss: \(loss)" + (lossNote.map { "   # \($0)" } ?? "")) }
        if !metrics.isEmpty { lines.append("metrics: \(YAMLText.list(metrics))") }
        let optimizerText = optimizerKeys.isEmpty ? optimizer : "{\(optimizer): \(YAMLText.map(optimizerKeys))}"
        lines.append("optimizer: \(optimizerText)" + (optimizerNote.map { "   # \($0)" } ?? ""))
        var training: [String] = []
        if let batchSize { training.append("  batch_size: \(batchSize)") }
        if let epochs { training.append("  epochs: \(epochs)") }
        lines += trainingNotes.map { "# \($0)" }
        if !training.isEmpty { lines += ["training:"] + training }
        lines += dataNotes.map { "# \($0)" }
        lines.append("# data:        (uncomment, and point it at your data: see docs/spec.md#data)")
        lines.append("#   train: {csv: {path: train.csv, label: label}}")
        lines += dataKeys.map { "#   \($0)" }
        return (lines.joined(separator: "\n") + "\n", origins)
    }

    private static func comment(_ origin: SourceLocation?, _ source: String?) -> String {
        let place = origin.map { "\(fileName($0.file)):\($0.line):\($0.column)" }
        let text = [place, source].compactMap { $0 }.joined(separator: " ")
        return text.isEmpty ? "" : "   # \(text)"
    }
}

/// The last part of a path, for the written spec's comments.
func fileName(_ path: String) -> String { (path as NSString).lastPathComponent }

/// YAML flow text for imported values.
enum YAMLText {
    /// A number as YAML reads it back: whole numbers without a fraction, a float32 value (as Keras 2 and
    /// Caffe store them) in its shortest form, exponents with a fraction (`1.0e-07`, which YAML 1.1 reads as a
    /// number).
    static func number(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        let single = Float(x)
        var text = Double(single) == x ? "\(single)" : "\(x)"
        if let e = text.firstIndex(of: "e"), !text[..<e].contains(".") { text.insert(contentsOf: ".0", at: e) }
        return text
    }

    static func list(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }

    static func map(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// A string as a plain word when YAML reads it as that string, quoted otherwise.
    static func word(_ s: String) -> String {
        let plain =
            !s.isEmpty
            && s.unicodeScalars.allSatisfy {
                $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-./".unicodeScalars.contains($0)
            }
            && !["true", "false", "null", "yes", "no", "on", "off", "~"].contains(s.lowercased()) && Double(s) == nil
        if plain { return s }
        let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}

extension [ImportedSpec.Layer] {
    /// The one layer of these that carries the source layer's name: not a flatten or activation added beside it.
    var mainKind: String? {
        let main = count == 1 ? self : filter { $0.kind != "flatten" && $0.kind != "activation" }
        return main.count == 1 && main[0].kind != "activation" ? main[0].kind : nil
    }
}
