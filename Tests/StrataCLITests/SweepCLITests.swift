import Foundation
import StrataTestSupport
import Testing

/// `strata sweep` on the lecture's line, run in a scratch folder: four runs of 20 epochs each.
private func sweep(_ extra: [String], in folder: URL) throws -> CLIResult {
    try CLI.run(["sweep", CLI.repository.appendingPathComponent("specs/linear.yaml").path] + extra, in: folder)
}

@Test func aSweepRunIsByteIdenticalToStrataTrainWithTheSameSettings() throws {
    let folder = try CLI.temporaryFolder()
    let result = try sweep(["--set", "optimizer.sgd.learning_rate=0.01,0.1", "--quiet"], in: folder)
    #expect(result.status == 0, "\(result.stderr)")
    let run = folder.appendingPathComponent("runs/linear/2_learning_rate=0.1/model.safetensors")
    let direct = folder.appendingPathComponent("direct.safetensors")
    let train = try CLI.run(
        [
            "train", CLI.repository.appendingPathComponent("specs/linear.yaml").path, "--set",
            "optimizer.sgd.learning_rate=0.1", "--output", direct.path, "--quiet",
        ], in: folder)
    #expect(train.status == 0, "\(train.stderr)")
    #expect(try Data(contentsOf: run) == Data(contentsOf: direct))
    // The table ranks by the training loss (no validation data): the larger rate fits the line better.
    let lines = result.stdout.split(separator: "\n")
    #expect(lines.first?.hasPrefix("| rank | run | learning_rate | status | steps |") == true)
    #expect(lines.count == 4 && lines[2].hasPrefix("| 1 | 2_learning_rate=0.1 | 0.1 | finished | 1000 |"))
    for file in ["results.md", "results.csv", "results.json", "curves.svg"] {
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("runs/linear/\(file)").path))
    }
    let svg = try String(contentsOf: folder.appendingPathComponent("runs/linear/curves.svg"), encoding: .utf8)
    #expect(svg.contains("learning_rate=0.01") && svg.contains("class=\"against-key\""))
}

@Test func aDivergingRunIsRecordedAndTheSweepGoesOn() throws {
    let folder = try CLI.temporaryFolder()
    let result = try sweep(["--set", "optimizer.sgd.learning_rate=0.1,50", "--set", "training.epochs=30"], in: folder)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("2_learning_rate=50_epochs=30: diverged"))
    #expect(result.stdout.contains("| 2 | 2_learning_rate=50_epochs=30 | 50 | 30 | diverged in epoch 9 |"))
    #expect(result.stdout.contains("| 1 | 1_learning_rate=0.1_epochs=30 | 0.1 | 30 | finished |"))
}

@Test func anInterruptedSweepContinuesWithTheRunsNotFinished() throws {
    let folder = try CLI.temporaryFolder()
    let arguments = ["--set", "training.epochs=5,10,15"]
    #expect(try sweep(arguments, in: folder).status == 0)
    let runs = folder.appendingPathComponent("runs/linear")
    // As if the sweep had stopped before its second run ended.
    try FileManager.default.removeItem(at: runs.appendingPathComponent("2_epochs=10/result.json"))
    let again = try sweep(arguments, in: folder)
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stdout.contains("2_epochs=10: strata train"))
    #expect(!again.stdout.contains("1_epochs=5: strata train") && !again.stdout.contains("3_epochs=15: strata train"))
    #expect(again.stdout.contains("| 2_epochs=10 | 10 | finished |"))
    // Other values under the same name are refused rather than mixed in.
    let other = try sweep(["--set", "training.epochs=7,8"], in: folder)
    #expect(other.status == 1 && other.stderr.contains("holds a different sweep"))
}

@Test func oneBadValueIsALocatedErrorAndNothingRuns() throws {
    let folder = try CLI.temporaryFolder()
    let result = try sweep(["--set", "training.batch_size=2,0"], in: folder)
    #expect(result.status == 1)
    #expect(result.stderr.contains("2_batch_size=0: --set training.batch_size=0"))
    #expect(result.stderr.contains("specs/linear.yaml:16:15: error: batch_size must be at least 1, got 0"))
    #expect(result.stderr.contains("the sweep was not started"))
    #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("runs").path))
    let unknown = try sweep(["--set", "layers.3.dense.units=2,4"], in: folder)
    #expect(
        unknown.status == 1 && unknown.stderr.contains("`layers` is a list of 1 items; `3` is not one of its indices"))
    let usage = try sweep(["--set", "training.batch_size"], in: folder)
    #expect(usage.status == 2 && usage.stderr.contains("write PATH=V1,V2"))
}

/// Runs that fail alike (a key no setting fixes) show the errors once, then name the run that showed them.
@Test func runsThatFailAlikeShowTheirErrorsOnce() throws {
    let folder = try CLI.temporaryFolder()
    let result = try sweep(["--set", "optimizer.sgd.nonsense=1,2,3"], in: folder)
    #expect(result.status == 1)
    let heading = "1_nonsense=1: --set optimizer.sgd.nonsense=1"
    #expect(result.stderr.components(separatedBy: "unknown key 'nonsense'").count == 2, "\(result.stderr)")
    #expect(result.stderr.contains("3_nonsense=3: --set optimizer.sgd.nonsense=3: the same errors as 1_nonsense=1"))
    #expect(result.stderr.contains(heading + "\n"))
}

@Test func halvingTrainsTheBetterHalfOnAndPrunesTheRest() throws {
    let folder = try CLI.temporaryFolder()
    let result = try sweep(
        ["--set", "optimizer.sgd.learning_rate=0.001,0.01,0.1,0.2", "--set", "training.epochs=8", "--halving"],
        in: folder)
    #expect(result.status == 0, "\(result.stderr)")
    // Rungs of 2, 4 and 8 epochs: two runs pruned after 2, one after 4, one trained to 8.
    #expect(result.stdout.contains("pruned after epoch 2 |"))
    #expect(result.stdout.contains("pruned after epoch 4 |"))
    let finished = result.stdout.split(separator: "\n").filter { $0.contains("| finished |") }
    #expect(finished.count == 1 && finished[0].contains("| 8 |"))
}
