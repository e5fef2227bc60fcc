import Foundation
import StrataTestSupport
import Testing

private let fixtures = CLI.repository.appendingPathComponent("Tests/StrataTests/Fixtures/import")

/// `strata import` writes a spec that, given data, trains and explains; the data left for the user is what the
/// checker reports missing.
@Test func importedKerasModelChecksTrainsAndExplains() throws {
    let folder = ScratchFolder.make("import-cli")
    let spec = folder.appendingPathComponent("chain.yaml").path
    let imported = try CLI.run(["import", fixtures.appendingPathComponent("keras/chain.json").path, "--output", spec])
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(imported.stderr.contains("Wrote \(spec) from Keras"))
    let missing = try CLI.run(["check", spec])
    #expect(missing.status == 1)
    #expect(missing.stderr.contains("data"))
    var text = try String(contentsOfFile: spec, encoding: .utf8)
    text += """
        data:
          train: {inline: {x: [[0, 0, 1, 1], [1, 1, 0, 0], [0, 1, 0, 1], [1, 0, 1, 0]], y: [0, 1, 0, 1]}}
        training: {batch_size: 2, epochs: 3}
        """
    try text.write(toFile: spec, atomically: true, encoding: .utf8)
    let trained = try CLI.run([
        "train", spec, "--quiet", "--no-plot", "--output", folder.appendingPathComponent("chain.safetensors").path,
    ])
    #expect(trained.status == 0, "\(trained.stderr)")
    let explained = try CLI.run(["explain", spec])
    #expect(explained.status == 0)
    #expect(explained.stdout.contains("dense_4 (dense): [4] → [8]"))
}

@Test func importPrintsTheSpecWithoutOutput() throws {
    let result = try CLI.run(["import", fixtures.appendingPathComponent("darknet/regression.cfg").path])
    #expect(result.status == 0)
    #expect(result.stdout.hasPrefix("# Imported by `strata import` from regression.cfg (Darknet)."))
    #expect(result.stdout.contains("loss: mse"))
}

@Test func importRefusalIsLocatedAndWritesNothing() throws {
    let output = ScratchFolder.make("import-cli").appendingPathComponent("branch.yaml").path
    let result = try CLI.run([
        "import", fixtures.appendingPathComponent("caffe/branch.prototxt").path, "--output", output,
    ])
    #expect(result.status == 1)
    #expect(
        result.stderr.contains(
            "branch.prototxt:6:52: error: layer conv2b takes conv1, but the layer before it made conv2a"))
    #expect(!FileManager.default.fileExists(atPath: output))
}

@Test func importUsageErrors() throws {
    let file = fixtures.appendingPathComponent("caffe/lenet_train_test.prototxt").path
    let shape = try CLI.run(["import", file, "--input", "28,28"])
    #expect(shape.status == 2)
    #expect(shape.stderr.contains("--input 28,28: write HEIGHT,WIDTH,CHANNELS or N"))
    let examples = try CLI.run(["import", file, "--input", "28,28,1", "--train-examples", "0"])
    #expect(examples.status == 2)
    let folder = try CLI.run(["import", file, "--input", "28,28,1", "--output", ScratchFolder.make("import-cli").path])
    #expect(folder.status == 1)
    #expect(folder.stderr.contains("folder"))
    let noShape = try CLI.run(["import", file])
    #expect(noShape.status == 1)
    #expect(noShape.stderr.contains("--input HEIGHT,WIDTH,CHANNELS"))
}
