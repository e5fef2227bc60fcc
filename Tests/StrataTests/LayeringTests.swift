import Foundation
import Testing

/// ARCHITECTURE.md's rule for the folders of Sources/Strata, checked: a folder may use the types and functions
/// declared in the folders listed for it, and no other (so the pipeline has no cycles).
private let allowed: [String: Set<String>] = [
    "Spec": [],
    "Layers": ["Spec"],
    "Optimizers": ["Spec"],
    "Parse": ["Spec", "Layers", "Optimizers", "Data"],
    "Data": ["Spec"],
    "Check": ["Spec", "Layers", "Optimizers", "Parse", "Data"],
    "Plan": ["Spec", "Layers", "Optimizers"],
    "Checkpoint": ["Spec", "Data", "Plan"],
    "Train": ["Spec", "Layers", "Optimizers", "Parse", "Data", "Check", "Plan", "Checkpoint"],
    "Export": ["Spec", "Layers", "Optimizers", "Parse", "Data", "Check", "Plan", "Checkpoint", "Train"],
    "Import": ["Spec", "Layers", "Optimizers", "Parse", "Data", "Check"],
    "Report": ["Spec", "Layers", "Optimizers", "Parse", "Data", "Check", "Plan", "Checkpoint", "Train"],
]

@Test func foldersUseOnlyTheFoldersArchitectureAllows() throws {
    let root = Paths.repository.appendingPathComponent("Sources/Strata")
    let folders = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
    #expect(Set(folders) == Set(allowed.keys), "ARCHITECTURE.md and this test list every folder")
    var texts: [String: String] = [:]
    var home: [String: String] = [:]
    let declaration = try NSRegularExpression(
        pattern:
            #"^(?:public |final |private |fileprivate |indirect )*(?:struct|enum|class|protocol|func|typealias) ([A-Za-z_][A-Za-z0-9_]*)"#,
        options: .anchorsMatchLines)
    for folder in folders {
        let files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)
        let text = try files.map {
            try String(contentsOf: root.appendingPathComponent("\(folder)/\($0)"), encoding: .utf8)
        }
        .joined(separator: "\n")
        // Comments and messages name other stages freely; only code counts.
        texts[folder] = withoutStringText(
            text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
                .joined(separator: "\n"))
        for match in declaration.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            if let range = Range(match.range(at: 1), in: text), text[range].count > 2 {
                home[String(text[range]), default: folder] = folder
            }
        }
    }
    for (folder, text) in texts {
        let words = Set(text.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init))
        for word in words {
            guard let owner = home[word], owner != folder else { continue }
            #expect(allowed[folder]?.contains(owner) == true, "\(folder) uses \(word), declared in \(owner)")
        }
    }
}

/// The text with the literal parts of one-line string literals blanked (interpolations kept: they are code).
private func withoutStringText(_ text: String) -> String {
    var result = ""
    var inString = false, escaped = false
    var depth = 0  // parentheses open inside an interpolation
    for c in text {
        if !inString || depth > 0 {
            result.append(c)
            if depth > 0 {
                if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            } else if c == "\"" {
                inString = true
            }
            continue
        }
        if escaped {
            escaped = false
            if c == "(" {
                depth = 1
                result.append(c)
            }
        } else if c == "\\" {
            escaped = true
        } else if c == "\"" || c == "\n" {
            inString = false
            result.append(c)
        }
    }
    return result
}
