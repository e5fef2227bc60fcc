import Foundation
import StrataTestSupport
import Testing

/// The committed schema, which specs name on their first line for editors, is what `strata schema` prints.
@Test func committedSchemaIsCurrent() throws {
    let result = try CLI.run(["schema"])
    #expect(result.status == 0)
    let committed = try String(
        contentsOf: CLI.repository.appendingPathComponent("docs/strata.schema.json"), encoding: .utf8)
    #expect(result.stdout == committed, "run `strata schema > docs/strata.schema.json`")
}

/// A real validator (Python's jsonschema) accepts every bundled spec and refuses the key and type fixtures.
@Test(.needsSchemaValidator) func schemaValidatesBundledSpecsAndRefusesKeyFixtures() throws {
    let schema = ScratchFolder.make("schema").appendingPathComponent("strata.schema.json")
    try Data(try CLI.run(["schema"]).stdout.utf8).write(to: schema)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "scripts/validate_schema.py", schema.path, "."]
    process.currentDirectoryURL = CLI.repository
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(text)")
    #expect(text.contains(" passed, 0 failed"), "\(text)")
}

/// docs/spec.md's key tables are the ones the descriptors generate (`strata schema --format markdown`).
@Test func specDocsHoldTheGeneratedKeyTables() throws {
    let tables = try CLI.run(["schema", "--format", "markdown"]).stdout
    let docs = try String(contentsOf: CLI.repository.appendingPathComponent("docs/spec.md"), encoding: .utf8)
    for section in tables.components(separatedBy: "\n#### ").dropFirst() {
        let heading = section.prefix { $0 != "\n" }
        #expect(
            docs.contains("#### " + section.trimmingCharacters(in: .newlines)),
            "docs/spec.md lacks the current table of \(heading)")
    }
    #expect(!tables.isEmpty)
}
