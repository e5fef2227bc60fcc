import Foundation
import ZIPFoundation

/// A `.keras` file is a zip archive; its `config.json` holds the model config and the compile settings.
enum KerasArchive {
    /// The text of config.json, and a name for it in messages (`model.keras:config.json`).
    static func config(path: String, limit: Int) throws(ImportFailure) -> (String, String) {
        let member = "\(path):config.json"
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw ImportFailure("\(path) is not a zip archive Strata can read", at: nil)
        }
        guard let entry = archive["config.json"], entry.type == .file else {
            throw ImportFailure(
                "\(path) has no config.json", at: nil, help: "a .keras file written by model.save() holds one")
        }
        var bytes = Data()
        do {
            // The sizes an archive claims are not trusted: reading stops at the limit.
            _ = try archive.extract(entry) { chunk in
                bytes.append(chunk)
                if bytes.count > limit { throw ImportFailure("\(member) holds more than \(limit >> 20) MiB", at: nil) }
            }
        } catch let failure as ImportFailure {
            throw failure
        } catch {
            throw ImportFailure("\(member) cannot be read: the archive is damaged", at: nil)
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw ImportFailure("\(member) is not UTF-8 text", at: nil)
        }
        return (text, member)
    }
}
