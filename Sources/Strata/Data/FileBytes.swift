import CZlib
import Foundation

/// Reads a whole file; `.gz` files (and plain ones: zlib passes them through) are decompressed on the way.
enum FileBytes {
    /// Refuse to inflate past this: a tiny `.gz` can claim gigabytes.
    static let maximumSize = 4 << 30

    static func read(_ path: String, limit: Int = maximumSize) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError(path: path, "no such file")
        }
        guard let file = gzopen(path, "rb") else {
            throw DataError(path: path, "cannot be opened")
        }
        defer { gzclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(1 << 20, limit))
        while true {
            let count = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if count < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                throw DataError(
                    path: path, place: "byte \(bytes.count) of the decompressed data",
                    "corrupt or truncated: \(message)")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<Int(count)])
            if bytes.count >= limit && limit < maximumSize { return Array(bytes.prefix(limit)) }
            if bytes.count > maximumSize {
                throw DataError(path: path, "larger than \(maximumSize >> 30) GiB when decompressed")
            }
        }
        return bytes
    }
}
