import Foundation
import StrataTestSupport
import Testing

// Options and output paths from issue 11: each a whole command, as a user runs it.

@Test func misspelledCommandGetsASuggestionAndExitsTwo() throws {
    let result = try CLI.run(["trian", "specs/xor.yaml"])
    #expect(result.status == 2)
    #expect(result.stderr.contains("unknown command 'trian'") && result.stderr.contains("did you mean 'train'?"))
}

@Test(arguments: [
    (["--epochs", "-1"], "--epochs must be at least 0"), (["--threads", "-3"], "--threads must be between 1 and 256"),
    (["--threads", "100000"], "--threads must be between 1 and 256"),
    (["--threads", "9223372036854775807"], "--threads must be between 1 and 256"),
    (["--output", ""], "--output is empty"),
])
func badTrainOptionsAreUsageErrors(options: [String], message: String) throws {
    let result = try CLI.run(["train", "specs/xor.yaml"] + options)
    #expect(result.status == 2, "\(result.stderr)")
    #expect(result.stderr.contains(message), "\(result.stderr)")
}

/// A usage error found while a command runs (after its options parsed) shows that command's usage, not the root's.
@Test func usageErrorsWhileRunningShowTheCommandsUsage() throws {
    let result = try CLI.run(["sweep", "specs/xor.yaml", "--runs", try CLI.temporaryFolder().path])
    #expect(result.status == 2)
    #expect(result.stderr.contains("nothing to sweep"), "\(result.stderr)")
    #expect(result.stderr.contains("Usage: strata sweep <spec>") && result.stderr.contains("'strata sweep --help'"))
}

@Test func hugeMemoryBudgetMeansNoLimit() throws {
    let result = try CLI.run(["check", "specs/xor.yaml", "--memory-budget", "9223372036854775807"])
    #expect(result.status == 0, "\(result.stderr)")
}

/// `--output o.svg`: the checkpoint is o.svg and its plot o.svg.svg; they never overwrite each other.
@Test func derivedFileNamesNeverCollideWithTheCheckpoint() throws {
    let folder = try CLI.temporaryFolder()
    let output = folder.appendingPathComponent("o.svg").path
    let result = try CLI.run(["train", "specs/xor.yaml", "--epochs", "2", "--quiet", "--output", output])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try CLI.run(["eval", output, "--data", "train"]).status == 0)
    #expect(FileManager.default.fileExists(atPath: output + ".svg"))
    #expect(FileManager.default.fileExists(atPath: output + ".history.jsonl"))
}

@Test func trailingSlashMeansAFolder() throws {
    let folder = try CLI.temporaryFolder()
    let result = try CLI.run(["train", "specs/xor.yaml", "--epochs", "1", "--quiet", "--output", folder.path + "/x/"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("x/xor.safetensors").path))
}

/// A symbolic link is followed, and stays a link.
@Test func outputThroughASymbolicLinkKeepsTheLink() throws {
    let folder = try CLI.temporaryFolder()
    let target = folder.appendingPathComponent("real.safetensors").path,
        link = folder.appendingPathComponent("link.safetensors").path
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    let result = try CLI.run(["train", "specs/xor.yaml", "--epochs", "1", "--quiet", "--no-plot", "--output", link])
    #expect(result.status == 0, "\(result.stderr)")
    #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target)
    #expect(try CLI.run(["eval", target, "--data", "train"]).status == 0)
}

/// `export` over a file kept private leaves it private.
@Test func replacedOutputKeepsItsPermissions() throws {
    let folder = try CLI.temporaryFolder()
    let output = folder.appendingPathComponent("private.onnx").path
    let checkpoint = folder.appendingPathComponent("xor.safetensors").path
    #expect(try CLI.run(["train", "specs/xor.yaml", "--epochs", "1", "--quiet", "--output", checkpoint]).status == 0)
    try Data("old".utf8).write(to: URL(fileURLWithPath: output))
    #expect(chmod(output, 0o600) == 0)
    let result = try CLI.run(["export", checkpoint, "--output", output])
    #expect(result.status == 0, "\(result.stderr)")
    var status = stat()
    #expect(stat(output, &status) == 0 && status.st_mode & 0o777 == 0o600 && status.st_size > 3)
}

/// A parent that is a file is found before training, with the reason in words.
@Test func outputUnderAFileFailsBeforeTraining() throws {
    let folder = try CLI.temporaryFolder()
    let file = folder.appendingPathComponent("plain")
    try Data("x".utf8).write(to: file)
    let result = try CLI.run(["train", "specs/digits.yaml", "--quiet", "--output", file.path + "/run.safetensors"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("is a file, not a folder"), "\(result.stderr)")
    #expect(!result.stderr.contains("NSCocoaErrorDomain"))
}

/// A FIFO (as /dev/stdout may be) is written through, not replaced by a regular file.
@Test func predictWritesThroughAFIFO() throws {
    let folder = try CLI.temporaryFolder()
    let checkpoint = folder.appendingPathComponent("iris.safetensors").path
    #expect(try CLI.run(["train", "specs/iris.yaml", "--epochs", "1", "--quiet", "--output", checkpoint]).status == 0)
    let fifo = folder.appendingPathComponent("out.fifo").path
    #expect(mkfifo(fifo, 0o600) == 0)
    let reader = Process()
    reader.executableURL = URL(fileURLWithPath: "/bin/cat")
    reader.arguments = [fifo]
    let pipe = Pipe()
    reader.standardOutput = pipe
    try reader.run()
    let result = try CLI.run(["predict", checkpoint, "--input", "data/iris.csv", "--output", fifo])
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    reader.waitUntilExit()
    #expect(result.status == 0, "\(result.stderr)")
    #expect(text.split(separator: "\n").count == 151)
    var status = stat()
    #expect(stat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
    #expect(result.stderr.contains("Wrote predictions for 150 examples to \(fifo)"))
}

/// `--epochs 0` writes the (empty) history it says it saved, replacing an older run's.
@Test func zeroEpochsLeavesNoOlderHistory() throws {
    let folder = try CLI.temporaryFolder()
    let output = folder.appendingPathComponent("xor.safetensors").path
    #expect(try CLI.run(["train", "specs/xor.yaml", "--epochs", "3", "--quiet", "--output", output]).status == 0)
    #expect(try CLI.run(["train", "specs/xor.yaml", "--epochs", "0", "--quiet", "--output", output]).status == 0)
    let history = try String(contentsOfFile: folder.appendingPathComponent("xor.history.jsonl").path, encoding: .utf8)
    #expect(history.isEmpty)
}

/// A model trained on iris, once per test run.
private let irisCheckpoint: String = {
    let folder = try! CLI.temporaryFolder()
    let path = folder.appendingPathComponent("iris.safetensors").path
    _ = try! CLI.run(["train", "specs/iris.yaml", "--epochs", "5", "--quiet", "--no-plot", "--output", path])
    return path
}()

/// iris.csv rewritten: columns in `order` (indices into the original), with or without the header line.
private func irisVariant(_ order: [Int], header: Bool = true, relabel: ((String) -> String)? = nil) throws -> String {
    let lines = try String(contentsOf: CLI.repository.appendingPathComponent("data/iris.csv"), encoding: .utf8)
        .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    let rows = (header ? lines : Array(lines.dropFirst())).enumerated().map { index, cells -> String in
        var picked = order.map { cells[$0] }
        if let relabel, let last = order.last, last == 4, index > 0 || !header {
            picked[picked.count - 1] = relabel(picked.last!)
        }
        return picked.joined(separator: ",")
    }
    let path = try CLI.temporaryFolder().appendingPathComponent("iris-variant.csv").path
    try rows.joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Columns are matched by name: a file with its columns swapped predicts exactly what the original does.
@Test func predictMatchesColumnsByName() throws {
    let original = try CLI.run(["predict", irisCheckpoint, "--input", "data/iris.csv"])
    let swapped = try CLI.run(["predict", irisCheckpoint, "--input", try irisVariant([3, 2, 4, 1, 0])])
    #expect(original.status == 0 && swapped.status == 0, "\(swapped.stderr)")
    #expect(original.stdout == swapped.stdout)
}

@Test func predictRefusesAHeaderMissingAFeature() throws {
    let result = try CLI.run(["predict", irisCheckpoint, "--input", try irisVariant([0, 1, 2, 4])])
    #expect(result.status == 1)
    #expect(result.stderr.contains("the header has no column 'petal_width'"), "\(result.stderr)")
}

/// A headerless file is refused, not missing its first row; `--no-header` reads it by position, every row.
@Test func predictNeverEatsTheFirstRow() throws {
    let headerless = try irisVariant([0, 1, 2, 3], header: false)
    let refused = try CLI.run(["predict", irisCheckpoint, "--input", headerless])
    #expect(refused.status == 1)
    #expect(
        refused.stderr.contains("the first line holds numbers, not column names")
            && refused.stderr.contains("--no-header"))
    let read = try CLI.run(["predict", irisCheckpoint, "--input", headerless, "--no-header"])
    #expect(read.status == 0, "\(read.stderr)")
    #expect(read.stdout.split(separator: "\n").count == 151)
    // One line of numbers is the same mistake, not a file without rows.
    let oneLine = try CLI.temporaryFolder().appendingPathComponent("one-line.csv").path
    try "5.1,3.5,1.4,0.2\n".write(toFile: oneLine, atomically: true, encoding: .utf8)
    let single = try CLI.run(["predict", irisCheckpoint, "--input", oneLine])
    #expect(single.status == 1 && single.stderr.contains("the first line holds numbers"), "\(single.stderr)")
}

/// A model trained on class names does not take 0/1/2 as labels (it scored 0.04 before).
@Test func evalRefusesIndicesForAModelTrainedOnNames() throws {
    let names = ["setosa": "0", "versicolor": "1", "virginica": "2"]
    let file = try irisVariant([0, 1, 2, 3, 4]) { names[$0] ?? $0 }
    let result = try CLI.run(["eval", irisCheckpoint, "--data", file])
    #expect(result.status == 1)
    #expect(result.stderr.contains("label '0' is not one of the class names"), "\(result.stderr)")
}

/// A learning rate so large the update overflows: the weights go infinite while the last loss was finite. That
/// is divergence (exit 3), and no checkpoint of infinities is written.
@Test func infiniteWeightsAfterTheLastStepAreDivergence() throws {
    let output = try CLI.temporaryFolder().appendingPathComponent("linear.safetensors").path
    let result = try CLI.run([
        "train", "specs/linear.yaml", "--learning-rate", "1e308", "--epochs", "1", "--output", output,
    ])
    #expect(result.status == 3, "\(result.stderr)")
    #expect(result.stderr.contains("NaN or infinite"))
    #expect(!FileManager.default.fileExists(atPath: output))
}

/// Ctrl-C part-way through an epoch, then `--resume`: the same bytes as a run never interrupted (the epoch's
/// running sums are in the checkpoint, so its reported loss is whole).
@Test func resumeAfterAMidEpochInterruptIsByteIdentical() throws {
    let folder = try CLI.temporaryFolder()
    // digits without early stopping (it could end the run before the interrupt), its data by absolute path.
    let spec = folder.appendingPathComponent("digits.yaml").path
    try String(contentsOf: CLI.repository.appendingPathComponent("specs/digits.yaml"), encoding: .utf8)
        .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("early_stopping") }
        .joined(separator: "\n").replacingOccurrences(of: "../data/", with: CLI.repository.path + "/data/")
        .write(toFile: spec, atomically: true, encoding: .utf8)
    let interrupted = folder.appendingPathComponent("interrupted.safetensors").path
    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = ["train", spec, "--epochs", "100000", "--quiet", "--no-plot", "--output", interrupted]
    process.currentDirectoryURL = CLI.repository
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    Thread.sleep(forTimeInterval: 1.5)
    kill(process.processIdentifier, SIGINT)
    process.waitUntilExit()
    #expect(process.terminationStatus == 130)
    // The epoch it stopped in, from the checkpoint's metadata; both runs end one epoch later.
    let header = try Data(contentsOf: URL(fileURLWithPath: interrupted))
    let length = header.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let json = try JSONSerialization.jsonObject(with: header[8..<8 + length]) as? [String: Any]
    let epoch = try #require(Int((json?["__metadata__"] as? [String: String])?["epoch"] ?? ""))
    let epochs = String(epoch + 1)
    let straight = folder.appendingPathComponent("straight.safetensors").path
    #expect(try CLI.run(["train", spec, "--epochs", epochs, "--quiet", "--no-plot", "--output", straight]).status == 0)
    let resumed = try CLI.run([
        "train", spec, "--epochs", epochs, "--quiet", "--no-plot", "--resume", interrupted, "--output", interrupted,
    ])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: straight)) == Data(contentsOf: URL(fileURLWithPath: interrupted)))
}

/// Stopping early with restore_best_weights says which epoch's weights were kept; resuming a finished run says
/// there is nothing left to do.
@Test func earlyStopSaysWhichWeightsWereRestoredAndAFinishedResumeSaysSo() throws {
    let output = try CLI.temporaryFolder().appendingPathComponent("digits.safetensors").path
    let result = try CLI.run(["train", "specs/digits.yaml", "--epochs", "200", "--no-plot", "--output", output])
    #expect(result.status == 0)
    let line = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("Stopped early after epoch") })
    #expect(line.contains("; weights restored from epoch "), "\(line)")
    let again = try CLI.run([
        "train", "specs/digits.yaml", "--epochs", "3", "--quiet", "--resume", output, "--output", output,
    ])
    #expect(again.status == 0)
    #expect(again.stderr.contains("nothing left to train"), "\(again.stderr)")
}

/// /dev/zero given where a CSV goes: refused at its first byte, in check, eval and predict.
@Test func endlessInputIsRefusedEverywhere() throws {
    let spec = try CLI.temporaryFolder().appendingPathComponent("zero.yaml").path
    try
        "input: [2]\nlayers: [{dense: {units: 1}}]\nloss: mse\noptimizer: sgd\ndata: {train: {csv: {path: /dev/zero}}}\n"
        .write(toFile: spec, atomically: true, encoding: .utf8)
    for arguments in [
        ["check", spec], ["eval", irisCheckpoint, "--data", "/dev/zero"],
        ["predict", irisCheckpoint, "--input", "/dev/zero"],
    ] {
        let result = try CLI.run(arguments)
        #expect(result.status == 1, "\(arguments)")
        #expect(result.stderr.contains("not a text file"), "\(arguments): \(result.stderr)")
    }
}

/// A checkpoint evaluates from any folder, and after its project moved: the spec it carries is found beside it.
@Test func evalWorksFromAnotherFolderAndAfterTheProjectMoved() throws {
    let project = try CLI.temporaryFolder()
    for folder in ["specs", "data", "runs"] {
        try FileManager.default.createDirectory(
            at: project.appendingPathComponent(folder), withIntermediateDirectories: true)
    }
    for file in ["specs/iris.yaml", "data/iris.csv"] {
        try FileManager.default.copyItem(
            at: CLI.repository.appendingPathComponent(file), to: project.appendingPathComponent(file))
    }
    let train = try CLI.run(
        ["train", "specs/iris.yaml", "--epochs", "2", "--quiet", "--output", "runs/iris.safetensors"], in: project)
    #expect(train.status == 0, "\(train.stderr)")
    let elsewhere = try CLI.temporaryFolder()
    let fromElsewhere = try CLI.run(
        ["eval", project.appendingPathComponent("runs/iris.safetensors").path, "--data", "train"], in: elsewhere)
    #expect(fromElsewhere.status == 0, "\(fromElsewhere.stderr)")
    let moved = elsewhere.appendingPathComponent("moved")
    try FileManager.default.moveItem(at: project, to: moved)
    let afterMove = try CLI.run(
        ["eval", moved.appendingPathComponent("runs/iris.safetensors").path, "--data", "train"], in: elsewhere)
    #expect(afterMove.status == 0, "\(afterMove.stderr)")
    #expect(afterMove.stdout == fromElsewhere.stdout)
}

/// Files of the wrong kind are named as what they are.
@Test(arguments: [
    (["eval", "data/iris.csv"], "is not a checkpoint: it begins with text"),
    (["eval", "/dev/zero"], "it is not a regular file"),
    (["eval", "specs"], "it is a folder, not a file"),
    (["check", "specs"], "cannot open spec 'specs': it is a folder, not a file"),
    (["check", "/dev/zero"], "it is not a regular file"),
])
func wrongKindsOfFileAreNamed(arguments: [String], message: String) throws {
    let result = try CLI.run(arguments)
    #expect(result.status == 1)
    #expect(result.stderr.contains(message), "\(result.stderr)")
}

/// Peak resident memory of a `strata` command, in bytes, as GNU time measures it (Debian's `time` package).
private func peakMemory(_ arguments: [String]) throws -> (status: Int32, bytes: Int) {
    let report = try CLI.temporaryFolder().appendingPathComponent("time.txt").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
    process.arguments = ["-f", "%M", "-o", report, CLI.binary.path] + arguments
    process.currentDirectoryURL = CLI.repository
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let kilobytes = Int(try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n").last ?? "") ?? 0
    return (process.terminationStatus, kilobytes * 1024)
}

/// The memory estimate is honest: training's peak memory above a `check` of the same spec is within a quarter of
/// what `check` says training needs (once about 3.4 times less), and a batch far larger than the data allocates
/// only what the data fills.
@Test func memoryEstimateMatchesMeasuredPeakMemory() throws {
    let folder = try CLI.temporaryFolder()
    let spec = folder.appendingPathComponent("wide.yaml").path
    try String(contentsOf: CLI.repository.appendingPathComponent("specs/digits.yaml"), encoding: .utf8)
        .replacingOccurrences(of: "../data/", with: CLI.repository.path + "/data/")
        .replacingOccurrences(of: "units: 64, activation: relu", with: "units: 4096, activation: relu")
        .replacingOccurrences(of: "batch_size: 32", with: "batch_size: 1024")
        .write(toFile: spec, atomically: true, encoding: .utf8)
    let json = try CLI.run(["check", spec, "--format", "json"]).stdout
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    let estimate = try #require(object["memory_bytes"] as? Int)
    let checking = try peakMemory(["check", spec])
    let training = try peakMemory([
        "train", spec, "--epochs", "1", "--quiet", "--no-plot", "--output", folder.path + "/w.safetensors",
    ])
    #expect(checking.status == 0 && training.status == 0)
    let measured = Double(training.bytes - checking.bytes)
    #expect(abs(Double(estimate) - measured) < 0.25 * measured, "estimate \(estimate), measured \(Int(measured))")
    let huge = try peakMemory([
        "train", "specs/xor.yaml", "--batch-size", "10000000", "--epochs", "1", "--quiet", "--no-plot", "--output",
        folder.path + "/x.safetensors",
    ])
    #expect(huge.status == 0 && huge.bytes < 200 << 20)
}

@Test func surfaceErrorsNameTheirFile() throws {
    let result = try CLI.run(["plot", "--surface", "specs/xor.yaml"])
    #expect(result.status == 1)
    #expect(
        result.stderr.hasPrefix("specs/xor.yaml: error: the loss surface needs a model with exactly two"),
        "\(result.stderr)")
}

/// A file-size limit (ulimit -f, its signal ignored) makes the write fail: the error names the file and says
/// why in words, and no temporary file is left behind.
@Test func aFileSizeLimitIsReportedInWords() throws {
    let folder = try CLI.temporaryFolder()
    let output = folder.appendingPathComponent("x.safetensors").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [
        "-c",
        "trap '' XFSZ; ulimit -f 2; exec \"$0\" train specs/xor.yaml --epochs 2 --quiet --no-plot --output \"$1\"",
        CLI.binary.path, output,
    ]
    process.currentDirectoryURL = CLI.repository
    let err = Pipe()
    process.standardError = err
    try process.run()
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 1)
    #expect(text.contains("\(output): error: cannot write it: file too large"), "\(text)")
    let left = try FileManager.default.contentsOfDirectory(atPath: folder.path)
    #expect(!left.contains { $0.contains(".tmp-") }, "\(left)")
}

/// Under an MPI launcher (here its variables; CI also runs `mpirun -np 2`), a build without MPI refuses to
/// train N copies, naming the launcher's variable.
@Test func trainUnderAnMPILauncherIsRefused() throws {
    for variable in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"] {
        let result = try CLI.run(
            ["train", "specs/linear.yaml", "--quiet", "--no-plot", "--output", "/dev/null"],
            environment: [variable: "2"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "strata runs as one of 2 processes started together (\(variable)=2), but it was built without MPI"))
    }
    let one = try CLI.run(
        [
            "train", "specs/linear.yaml", "--quiet", "--no-plot", "--epochs", "1", "--output",
            ScratchFolder.make("mpi").appendingPathComponent("l.safetensors").path,
        ],
        environment: ["OMPI_COMM_WORLD_SIZE": "1"])
    #expect(one.status == 0, "\(one.stderr)")
    // A sweep is never split across processes: each would run the whole sweep.
    let sweep = try CLI.run(
        ["sweep", "specs/lessons/momentum.yaml", "--quiet", "--runs", ScratchFolder.make("mpi-sweep").path],
        environment: ["PMI_SIZE": "3"])
    #expect(sweep.status == 1)
    #expect(sweep.stderr.contains("strata sweep runs as one of 3 processes started together (PMI_SIZE=3)"))
}

/// `--resume` with another model's checkpoint: named by its shapes (each parameter once, not again for its
/// optimizer slots) and by the spec it came from, not as metadata that does not fit.
@Test func resumingAnotherModelsCheckpointNamesItsShapesAndSpec() throws {
    let output = try CLI.temporaryFolder().appendingPathComponent("xor-resumed.safetensors").path
    let result = try CLI.run([
        "train", "specs/xor.yaml", "--quiet", "--no-plot", "--resume", irisCheckpoint, "--output", output,
    ])
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stderr.contains("'dense_1.weight' has shape [4, 16] in the checkpoint, the model needs [2, 8]"))
    #expect(!result.stderr.contains("'optimizer."), "\(result.stderr)")
    #expect(result.stderr.contains("help: it was trained from "), "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: output))
}
