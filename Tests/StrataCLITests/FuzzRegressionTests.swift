import Foundation
import Testing

/// Every fuzz target's seed corpus and every input a fuzzer once crashed on (Tests/Fuzz/regressions) run through
/// the same target code as `scripts/fuzz` drives; a crash ends the replay with a signal, a non-zero status.
@Test(arguments: ["spec", "csv", "idx", "safetensors", "history", "import"])
func fuzzCorpusAndRegressionsReplayCleanly(target: String) throws {
    let result = try CLI.run(
        ["\(target)", "Tests/Fuzz/corpus/\(target)", "Tests/Fuzz/regressions/\(target)"], product: "strata-fuzz")
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("\(target): ") && result.stdout.contains("inputs replayed, none crashed"))
}
