import Testing

@testable import Strata

private let spec = """
    # a comment that stays
    name: edit
    input: [4]
    layers:
      - dense: {units: 8, activation: relu}
      - dropout: {rate: 0.5}
      - flatten
      - dense:
          units: 3
          activation: softmax
    loss: sparse_categorical_crossentropy
    optimizer: adam
    training:
      batch_size: 16   # small
    data: {train: {csv: {path: "x.csv"}}}

    """

private func edited(_ assignments: String...) -> (String?, [String]) {
    let settings = assignments.map { SpecSetting(assignment: $0)! }
    let (text, diagnostics) = SpecEditor.apply(settings, to: spec, file: "s.yaml")
    return (text, diagnostics.items.map { "\($0.location.map { "\($0.line):\($0.column)" } ?? "-") \($0.message)" })
}

@Test func settingsReplaceValuesInPlaceKeepingTheRest() throws {
    let (text, errors) = edited(
        "training.batch_size=128", "layers.0.dense.units=32", "layers.3.dense.activation=sigmoid",
        "data.train.csv.path='y z.csv'", "input=[5]")
    #expect(errors.isEmpty)
    let lines = try #require(text).split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines[0] == "# a comment that stays")
    #expect(lines[2] == "input: [5]")
    #expect(lines[4] == "  - dense: {units: 32, activation: relu}")
    #expect(lines[9] == "      activation: sigmoid")
    #expect(lines[13] == "  batch_size: 128   # small")
    #expect(lines[14] == "data: {train: {csv: {path: 'y z.csv'}}}")
}

@Test func settingsAddMissingKeysWhereTheyBelong() throws {
    let (text, errors) = edited(
        "training.epochs=3", "layers.0.dense.use_bias=false", "layers.3.dense.use_bias=false", "seed=9",
        "optimizer.adam.learning_rate=0.01", "checkpoint.path=out.safetensors")
    #expect(errors.isEmpty)
    let result = try #require(text)
    #expect(result.contains("training:\n  epochs: 3\n  batch_size: 16"))
    #expect(result.contains("- dense: {use_bias: false, units: 8, activation: relu}"))
    #expect(result.contains("  - dense:\n      use_bias: false\n      units: 3"))
    #expect(result.contains("optimizer: {adam: {learning_rate: 0.01}}"))
    #expect(result.contains("checkpoint: {path: out.safetensors}\nseed: 9\n"))
    // The edited spec parses with the new values.
    let parsed = try #require(SpecParser.parse(text: result, file: "s.yaml").spec)
    #expect(parsed.training.epochs.value == 3 && parsed.seed == 9)
}

@Test func settingsThatCannotApplyAreLocatedErrors() {
    #expect(
        edited("layers.7.dense.units=3").1 == [
            "5:3 --set layers.7.dense.units=3: `layers` is a list of 4 items; `7` is not one of its indices"
        ])
    #expect(
        edited("training.batch_size.x=3").1 == [
            "14:15 --set training.batch_size.x=3: `training.batch_size` is the value `16`; it has no key `x`"
        ])
    #expect(
        edited("layers.3=flatten").1 == [
            "8:5 --set layers.3=flatten: `layers.3` holds a block of keys or lines; set one of its values instead"
        ])
    #expect(edited("training..epochs=3").1 == ["- --set training..epochs=3: the path has an empty part"])
    // A value that is not YAML by itself is the setting's error, not a syntax error somewhere in the spec.
    let unclosed = edited("training.batch_size=[1").1
    #expect(
        unclosed.count == 1 && unclosed[0].hasPrefix("- --set training.batch_size=[1: the value is not YAML on its own")
    )
}

@Test func anAddedKeyThatIsNotOneIsReportedByTheParserWithASuggestion() throws {
    let (text, _) = edited("training.batch_sise=8")
    let diagnostics = SpecParser.parse(text: try #require(text), file: "s.yaml").diagnostics
    #expect(diagnostics.items.contains { $0.message.contains("batch_sise") && $0.location?.line == 14 })
}

@Test func assignmentsSplitAtTheFirstEquals() {
    #expect(SpecSetting(assignment: "a.b = x=y") == SpecSetting(path: "a.b", value: "x=y"))
    #expect(SpecSetting(assignment: "a.b") == nil)
    #expect(SpecSetting(assignment: "=3") == nil)
    #expect(SpecSetting(assignment: "a=") == nil)
}

/// A block under its key is replaced whole, on the key's line; what follows the block stays.
@Test func aBlockUnderItsKeyIsReplacedWhole() throws {
    let (training, trainingErrors) = edited("training={batch_size: 2, epochs: 3}")
    #expect(trainingErrors.isEmpty)
    #expect(try #require(training).contains("optimizer: adam\ntraining: {batch_size: 2, epochs: 3}\ndata:"))
    let (layers, layersErrors) = edited("layers=[flatten, {dense: {units: 3}}]")
    #expect(layersErrors.isEmpty)
    #expect(try #require(layers).contains("input: [4]\nlayers: [flatten, {dense: {units: 3}}]\nloss:"))
    let (dense, denseErrors) = edited("layers.3.dense={units: 5}")
    #expect(denseErrors.isEmpty)
    #expect(try #require(dense).contains("  - dense: {units: 5}\nloss:"))
}
