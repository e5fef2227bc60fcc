import Foundation
import StrataTestSupport
import Testing

/// Runs the built `strata` binary as a user would and returns what it printed and its exit code.
struct CLIResult {
    var stdout: String
    var stderr: String
    var status: Int32
}

enum CLI {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var binary: URL { product("strata") }

    /// A built executable: the test bundle sits beside the products it was built with.
    static func product(_ name: String) -> URL {
        let candidates =
            [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        for folder in candidates {
            let url = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return repository.appendingPathComponent(".build/debug/\(name)")
    }

    /// Runs a command; `environment` adds variables to this process's.
    static func run(
        _ arguments: [String], in folder: URL = repository, product: String = "strata",
        environment: [String: String] = [:]
    ) throws -> CLIResult {
        let process = Process()
        process.executableURL = self.product(product)
        process.arguments = arguments
        process.currentDirectoryURL = folder
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
            status: process.terminationStatus)
    }

    static func temporaryFolder() throws -> URL { ScratchFolder.make("cli") }
}

/// `check --set` checks the spec as `train --set` would train it, its diagnostics headed by the settings.
@Test func checkTakesTheSettingsTrainTakes() throws {
    let wider = try CLI.run(["check", "specs/xor.yaml", "--set", "layers.0.dense.units=16"])
    #expect(wider.status == 0, "\(wider.stderr)")
    #expect(wider.stdout.contains("dense_1 (dense)   [16]"), "\(wider.stdout)")
    let refused = try CLI.run(["check", "specs/xor.yaml", "--set", "layers.0.dense.units=0"])
    #expect(refused.status == 1)
    #expect(refused.stderr.hasPrefix("in specs/xor.yaml with --set layers.0.dense.units=0:\n"), "\(refused.stderr)")
    #expect(refused.stderr.contains("specs/xor.yaml:6:20: error: units must be at least 1, got 0"))
    #expect(try CLI.run(["check", "specs/xor.yaml", "--set", "units"]).status == 2)
}

@Test func checkPrintsTheSummaryOfTheLinearSpec() throws {
    let result = try CLI.run(["check", "specs/linear.yaml"])
    #expect(result.status == 0)
    #expect(result.stderr == "")
    // The kernels' workspace depends on the machine's core count.
    let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    let memory = lines.first { $0.hasPrefix("Memory at") } ?? ""
    #expect(memory.hasPrefix("Memory at batch size 2: "))
    #expect(
        memory.contains(
            "(parameters 8 B, gradients 8 B, optimizer state 0 B, activations 184 B, data 32 B, kernel workspace "))
    #expect(
        lines.filter { !$0.hasPrefix("Memory at") }.joined(separator: "\n") == """
            Model: "linear"
            ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
            Layer (type)      Output Shape   Param #
            ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
            dense_1 (dense)   [1]            2
            ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
            Total params: 2 (8 B)
            FLOPs per example: 3

            """)
}

@Test func checkReportsEveryErrorWithSourceLineCaretAndHelp() throws {
    let folder = try CLI.temporaryFolder()
    let spec = """
        input: [2]
        layers:
          - dense: {unit: 1}
        loss: mse
        optimizer:
          sgd: {learning_rate: 0}
        data:
          train: {inline: {x: [[0, 1]], y: [1]}}

        """
    try spec.write(to: folder.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
    let result = try CLI.run(["check", "bad.yaml"], in: folder)
    #expect(result.status == 1)
    #expect(result.stdout == "")
    #expect(
        result.stderr == """
            bad.yaml:3:13: error: unknown key 'unit' in dense layer
              |
            3 |   - dense: {unit: 1}
              |             ^
              help: did you mean 'units'?

            bad.yaml:6:24: error: learning_rate must be greater than 0, got 0
              |
            6 |   sgd: {learning_rate: 0}
              |                        ^
              help: a typical learning_rate is 0.001 to 0.1

            2 errors

            """)
}

@Test(.needsFashionMNIST) func checkJSONHasLayersTotalsAndDiagnostics() throws {
    let result = try CLI.run(["check", "--format", "json", "specs/fashion-cnn.yaml"])
    #expect(result.status == 0)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let layers = try #require(object["layers"] as? [[String: Any]])
    #expect(
        layers.map { $0["name"] as? String } == [
            "conv2d_1", "max_pool2d_1", "conv2d_2", "max_pool2d_2", "flatten_1", "dense_1",
        ])
    #expect(layers[0]["output_shape"] as? [Int] == [26, 26, 32])
    #expect(layers[0]["type"] as? String == "conv2d")
    #expect(layers.map { $0["params"] as? Int } == [320, 0, 18496, 0, 0, 16010])
    #expect(object["total_params"] as? Int == 34826)
    #expect(object["flops_per_example"] as? Int == 4_911_306)
    #expect((object["diagnostics"] as? [Any])?.isEmpty == true)
}

@Test func checkJSONLocatesDiagnostics() throws {
    let folder = try CLI.temporaryFolder()
    try "input: [2]\nlayers: []\nloss: mse\noptimizer: sgd\ndata: {train: {inline: {x: [[1, 2]], y: [1]}}}\n"
        .write(to: folder.appendingPathComponent("empty.yaml"), atomically: true, encoding: .utf8)
    let result = try CLI.run(["check", "--format", "json", "empty.yaml"], in: folder)
    #expect(result.status == 1)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let diagnostics = try #require(object["diagnostics"] as? [[String: Any]])
    #expect(diagnostics.count == 1)
    #expect(diagnostics.first?["severity"] as? String == "error")
    #expect(diagnostics.first?["file"] as? String == "empty.yaml")
    #expect(diagnostics.first?["line"] as? Int == 2)
    #expect(diagnostics.first?["column"] as? Int == 9)
    #expect(diagnostics.first?["message"] as? String == "layers is empty")
    #expect(diagnostics.first?["help"] as? String != nil)
}

@Test func warningsKeepExitZero() throws {
    let folder = try CLI.temporaryFolder()
    try
        "input: [2]\nlayers:\n  - dense: {units: 2, activation: softmax}\nloss: mse\noptimizer: sgd\ndata: {train: {inline: {x: [[1, 2]], y: [[1, 0]]}}}\n"
        .write(to: folder.appendingPathComponent("warn.yaml"), atomically: true, encoding: .utf8)
    let result = try CLI.run(["check", "warn.yaml"], in: folder)
    #expect(result.status == 0)
    #expect(result.stderr.contains("warn.yaml:3:35: warning: mse on softmax outputs is unusual"))
    #expect(result.stderr.hasSuffix("1 warning\n"))
}

@Test func missingSpecFileIsAnErrorNotACrash() throws {
    let result = try CLI.run(["check", "no-such-spec.yaml"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("error: cannot open spec 'no-such-spec.yaml': no such file"))
}

@Test func usageErrorsExitTwo() throws {
    #expect(try CLI.run(["check"]).status == 2)
    #expect(try CLI.run(["check", "specs/linear.yaml", "--format", "xml"]).status == 2)
    #expect(try CLI.run(["frobnicate"]).status == 2)
}
