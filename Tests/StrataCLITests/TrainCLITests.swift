import Foundation
import Testing

@Test func trainPrintsOnePlainLinePerEpochIntoAPipe() throws {
    let folder = try CLI.temporaryFolder()
    let output = folder.appendingPathComponent("iris.safetensors").path
    let result = try CLI.run(["train", "specs/iris.yaml", "--epochs", "3", "--output", output])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 4)
    for (index, line) in lines.prefix(3).enumerated() {
        #expect(line.hasPrefix("Epoch \(index + 1)/3 - "))
        #expect(
            line.contains(" - loss: ") && line.contains(" - accuracy: ") && line.contains(" - val_loss: ")
                && line.contains(" - val_accuracy: "))
    }
    #expect(!result.stdout.contains("\u{1B}") && !result.stdout.contains("\r"))
    #expect(
        lines[3]
            == "Saved \(output) and \(folder.appendingPathComponent("iris.history.jsonl").path); learning curves in \(folder.appendingPathComponent("iris.svg").path)"
    )
    #expect(FileManager.default.fileExists(atPath: output))
}

@Test func trainQuietPrintsNothing() throws {
    let folder = try CLI.temporaryFolder()
    let result = try CLI.run([
        "train", "specs/linear.yaml", "--quiet", "--epochs", "2", "--output",
        folder.appendingPathComponent("l.safetensors").path,
    ])
    #expect(result.status == 0)
    #expect(result.stdout == "")
}

@Test func trainWithSpecErrorsExitsOneBeforeAnyCompute() throws {
    let folder = try CLI.temporaryFolder()
    try "input: [2]\nlayers: []\nloss: mse\noptimizer: sgd\ndata: {train: {inline: {x: [[1, 2]], y: [1]}}}\n"
        .write(to: folder.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
    let result = try CLI.run(["train", "bad.yaml"], in: folder)
    #expect(result.status == 1)
    #expect(result.stderr.contains("bad.yaml:2:9: error: layers is empty"))
}

@Test func trainDivergenceExitsThree() throws {
    let folder = try CLI.temporaryFolder()
    let result = try CLI.run([
        "train", "specs/linear.yaml", "--learning-rate", "1e38", "--output",
        folder.appendingPathComponent("l.safetensors").path,
    ])
    #expect(result.status == 3)
    #expect(
        result.stderr.contains(
            "error: the loss became NaN or infinite in epoch 2, batch 1; the first layer whose output went non-finite is dense_1"
        ))
    #expect(result.stderr.contains("help: lower the learning_rate"))
}

@Test func trainBadDataExitsOneNamingTheRecord() throws {
    let folder = try CLI.temporaryFolder()
    try "a,b,y\n1,2,3\n4,five,6\n".write(to: folder.appendingPathComponent("d.csv"), atomically: true, encoding: .utf8)
    try "input: [2]\nlayers: [{dense: {units: 1}}]\nloss: mse\noptimizer: sgd\ndata: {train: {csv: {path: d.csv}}}\n"
        .write(to: folder.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
    // Found by the check, which reads the data in full, before any training; the same from `strata check`.
    for command in ["train", "check"] {
        let result = try CLI.run([command, "s.yaml"], in: folder)
        #expect(result.status == 1)
        #expect(result.stderr.contains("d.csv, line 3: column 'b': 'five' is not a number"), "\(result.stderr)")
    }
}

@Test func headerOnlyCSVSaysItHasNoRowsAtCheck() throws {
    let folder = try CLI.temporaryFolder()
    try "a,b,y\n".write(to: folder.appendingPathComponent("d.csv"), atomically: true, encoding: .utf8)
    try
        "input: [2]\nlayers: [{dense: {units: 3, activation: softmax}}]\nloss: sparse_categorical_crossentropy\noptimizer: sgd\ndata: {train: {csv: {path: d.csv}}}\n"
        .write(to: folder.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
    let result = try CLI.run(["check", "s.yaml"], in: folder)
    #expect(result.status == 1)
    #expect(result.stderr.contains("has a header but no rows of data"), "\(result.stderr)")
}

@Test func evalAndPredictReadTheCheckpoint() throws {
    let folder = try CLI.temporaryFolder()
    let checkpoint = folder.appendingPathComponent("iris.safetensors").path
    #expect(try CLI.run(["train", "specs/iris.yaml", "--quiet", "--output", checkpoint]).status == 0)
    let eval = try CLI.run(["eval", checkpoint, "--data", "validation"])
    #expect(eval.status == 0, "\(eval.stderr)")
    #expect(eval.stdout.hasPrefix("validation data, 30 examples - loss: "))
    #expect(eval.stdout.contains("Per-class accuracy:\n  setosa  "))
    #expect(eval.stdout.contains("Confusion matrix (rows: actual, columns: predicted):"))
    let json = try CLI.run(["eval", checkpoint, "--data", "validation", "--format", "json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect(object["loss"] is Double && object["accuracy"] is Double)
    #expect((object["confusion_matrix"] as? [[Int]])?.count == 3)
    #expect(object["data"] as? String == "validation")
    #expect(
        (object["per_class_accuracy"] as? [String: Double])?.keys.sorted() == ["setosa", "versicolor", "virginica"])

    let inputs = folder.appendingPathComponent("flowers.csv")
    try "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n".write(
        to: inputs, atomically: true, encoding: .utf8)
    let predictions = folder.appendingPathComponent("predictions.csv").path
    let predict = try CLI.run(["predict", checkpoint, "--input", inputs.path, "--output", predictions])
    #expect(predict.status == 0, "\(predict.stderr)")
    let rows = try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n")
    #expect(rows.first == "class,p_setosa,p_versicolor,p_virginica")
    #expect(rows.count == 3)
    #expect(rows[1].hasPrefix("setosa,"))
    #expect(rows[2].hasPrefix("virginica,"))
}

@Test func evalOfADamagedCheckpointExitsOne() throws {
    let folder = try CLI.temporaryFolder()
    let path = folder.appendingPathComponent("junk.safetensors").path
    try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: path))
    let result = try CLI.run(["eval", path])
    #expect(result.status == 1)
    #expect(result.stderr.hasPrefix("\(path): error: is not a checkpoint: it begins with text"))
}

@Test func interruptFinishesTheStepSavesAndExits130() throws {
    let folder = try CLI.temporaryFolder()
    let checkpoint = folder.appendingPathComponent("long.safetensors").path
    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = ["train", "specs/xor.yaml", "--epochs", "100000000", "--quiet", "--output", checkpoint]
    process.currentDirectoryURL = CLI.repository
    process.standardOutput = FileHandle.nullDevice
    process.standardError = Pipe()
    try process.run()
    Thread.sleep(forTimeInterval: 1.0)
    kill(process.processIdentifier, SIGINT)
    let deadline = Date().addingTimeInterval(20)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        Issue.record("strata train ignored SIGINT for 20 s")
    }
    process.waitUntilExit()
    #expect(process.terminationStatus == 130)
    #expect(FileManager.default.fileExists(atPath: checkpoint))
    // The interrupted checkpoint resumes.
    let resumed = try CLI.run([
        "train", "specs/xor.yaml", "--quiet", "--resume", checkpoint, "--epochs", "1", "--output",
        folder.appendingPathComponent("again.safetensors").path,
    ])
    #expect(resumed.status == 0, "\(resumed.stderr)")
}

@Test func trainWritesItsPlotUnlessToldNot() throws {
    let folder = try CLI.temporaryFolder()
    let checkpoint = folder.appendingPathComponent("xor.safetensors").path
    #expect(try CLI.run(["train", "specs/xor.yaml", "--epochs", "3", "--quiet", "--output", checkpoint]).status == 0)
    let plot = folder.appendingPathComponent("xor.svg").path
    #expect(try String(contentsOfFile: plot, encoding: .utf8).contains("<svg"))
    let other = folder.appendingPathComponent("bare.safetensors").path
    #expect(
        try CLI.run(["train", "specs/xor.yaml", "--epochs", "3", "--quiet", "--no-plot", "--output", other]).status == 0
    )
    #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("bare.svg").path))
    let replot = try CLI.run(["plot", checkpoint, "--output", folder.appendingPathComponent("again.svg").path])
    #expect(replot.status == 0)
    #expect(replot.stdout == "Wrote \(folder.appendingPathComponent("again.svg").path)\n")
    let surface = try CLI.run(["plot", "--surface", checkpoint])
    #expect(surface.status == 1)
    #expect(surface.stderr.contains("exactly two trainable parameters"))
}

@Test func surfacePlotOfTheLine() throws {
    let folder = try CLI.temporaryFolder()
    let output = folder.appendingPathComponent("surface.svg").path
    let result = try CLI.run(["plot", "--surface", "specs/linear.yaml", "--output", output])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try String(contentsOfFile: output, encoding: .utf8).contains("class=\"path\" data-steps=\"1000\""))
}

/// A spec has no curves of its own: the error names the checkpoint training writes from it, and --surface.
@Test func plotOfASpecNamesItsCheckpoint() throws {
    let result = try CLI.run(["plot", "specs/linear.yaml"])
    #expect(result.status == 2)
    #expect(
        result.stderr.contains("is a spec: plot the checkpoint `strata train` wrote from it (runs/linear.safetensors)"))
    #expect(result.stderr.contains("--surface"), "\(result.stderr)")
}

/// eval, predict and export given a spec name the checkpoint training writes from it.
@Test(arguments: [["eval", "specs/iris.yaml"], ["predict", "specs/iris.yaml", "--input", "data/iris.csv"]])
func aSpecWhereACheckpointBelongsNamesTheCheckpoint(arguments: [String]) throws {
    let result = try CLI.run(arguments)
    #expect(result.status == 1)
    #expect(
        result.stderr.contains(
            "help: it is a spec: give the checkpoint `strata train` wrote from it, runs/iris.safetensors"),
        "\(result.stderr)")
}

@Test func evalPlotsTheConfusionMatrix() throws {
    let folder = try CLI.temporaryFolder()
    let checkpoint = folder.appendingPathComponent("iris.safetensors").path
    #expect(try CLI.run(["train", "specs/iris.yaml", "--quiet", "--epochs", "5", "--output", checkpoint]).status == 0)
    let plot = folder.appendingPathComponent("confusion.svg").path
    #expect(try CLI.run(["eval", checkpoint, "--data", "validation", "--plot", plot]).status == 0)
    let svg = try String(contentsOfFile: plot, encoding: .utf8)
    #expect(svg.contains("versicolor") && svg.components(separatedBy: "class=\"cell\"").count == 10)
}

@Test func explainPrintsTextAndMarkdown() throws {
    let text = try CLI.run(["explain", "specs/linear.yaml"])
    #expect(text.status == 0)
    #expect(text.stdout.contains("y = m·x + b"))
    let markdown = try CLI.run(["explain", "specs/linear.yaml", "--format", "markdown"])
    #expect(markdown.stdout.hasPrefix("# linear\n"))
}

@Test func batchSizeOverrideIsCheckedAgainstTheMemoryBudget() throws {
    let result = try CLI.run([
        "train", "specs/digits.yaml", "--batch-size", "1000000000000", "--quiet", "--output", "/tmp/never.safetensors",
    ])
    #expect(result.status == 1)
    #expect(result.stderr.contains("over the memory budget"))
}

/// On two threads the result says how many steps the pool ran alone (a count of this run's steps); on one thread
/// it has nothing to say.
@Test func trainResultCountsTheStepsRunAlone() throws {
    let folder = try CLI.temporaryFolder()
    var counts: [String: Any] = [:]
    for threads in ["1", "2"] {
        let result = folder.appendingPathComponent("result\(threads).json").path
        let run = try CLI.run([
            "train", "specs/linear.yaml", "--quiet", "--epochs", "2", "--threads", threads, "--result", result,
            "--output", folder.appendingPathComponent("l\(threads).safetensors").path,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: result))) as? [String: Any])
        counts[threads] = object["steps_alone"]
        if threads == "2" {
            let steps = try #require(object["steps"] as? Int), alone = try #require(object["steps_alone"] as? Int)
            #expect(steps > 0 && (0...steps).contains(alone))
        }
    }
    #expect(counts["1"] == nil && counts["2"] != nil)
}

/// A diagnostic about a value an option changed shows the file's line, so the option heads it (as `--set` does).
@Test func aWarningAboutAnOptionsValueNamesTheOption() throws {
    let output = try CLI.temporaryFolder().appendingPathComponent("xor.safetensors").path
    let result = try CLI.run([
        "train", "specs/xor.yaml", "--batch-size", "100", "--epochs", "1", "--quiet", "--no-plot", "--output", output,
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("in specs/xor.yaml with --batch-size 100 --epochs 1:\n"), "\(result.stderr)")
    #expect(result.stderr.contains("warning: batch_size 100 is larger than the 4 training examples"))
    let plain = try CLI.run(["train", "specs/xor.yaml", "--epochs", "1", "--quiet", "--no-plot", "--output", output])
    #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain.stderr)")
}
