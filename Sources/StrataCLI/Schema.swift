import ArgumentParser
import Strata

struct Schema: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, markdown
    }

    static let configuration = CommandConfiguration(
        abstract: "Print the spec language as a JSON Schema (draft 2020-12), or its key tables as Markdown.",
        discussion:
            "Editors complete and document specs from it: put `# yaml-language-server: $schema=strata.schema.json` on a spec's first line."
    )

    @Option(help: "json (the schema) or markdown (the layer and optimizer key tables of docs/spec.md).")
    var format: Format = .json

    func run() {
        switch format {
        case .json: print(SpecSchema.document().rendered())
        case .markdown: print(KeyDocs.layerTables() + "\n" + KeyDocs.optimizerTables(), terminator: "")
        }
    }
}
