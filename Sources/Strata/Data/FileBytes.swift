import CStrataZlib
import Foundation

/// Reads a file, bounded: `.gz` files (and plain ones: zlib passes them through) are decompressed on the way,
/// and reading stops as soon as the data passes its limit, so a small `.gz` that claims gigabytes, or a device
/// such as /dev/zero, costs no more than the limit. A gzip file's trailer (CRC-32 and size) is checked.
enum FileBytes {
    /// Binary data (IDX) past this is refused.
    static let maximumSize = 4 << 30
    /// Text (CSV, history files) past this is refused.
    static let maximumTextSize = 256 << 20

    /// The whole file, at most `limit` bytes after decompression (more is an error). With `text`, a NUL byte is
    /// an error as soon as it is read.
    static func read(_ path: String, limit: Int = maximumSize, text: Bool = false) throws -> [UInt8] {
        try read(path, limit: limit, text: text, prefix: false)
    }

    /// The first `count` bytes (fewer if the file is shorter), for a header.
    static func prefix(_ path: String, count: Int) throws -> [UInt8] {
        try read(path, limit: count, text: false, prefix: true)
    }

    private static func read(_ path: String, limit: Int, text: Bool, prefix: Bool) throws -> [UInt8] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw DataError(path: path, "no such file")
        }
        guard !isFolder.boolValue else { throw DataError(path: path, "is a folder, not a file") }
        guard let file = gzopen(path, "rb") else { throw DataError(path: path, "cannot be opened") }
        defer { gzclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(1, min(1 << 20, limit + 1)))
        var crc = crc32(0, nil, 0)
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
            let piece = chunk[0..<Int(count)]
            if text, let zero = piece.firstIndex(of: 0) {
                throw DataError(path: path, place: "byte \(bytes.count + zero)", "not a text file (byte 0x00)")
            }
            bytes.append(contentsOf: piece)
            if prefix, bytes.count >= limit { return Array(bytes.prefix(limit)) }
            if bytes.count > limit {
                throw DataError(
                    path: path, "holds more than \(describe(limit))\(gzdirect(file) == 0 ? " when decompressed" : "")",
                    help: text ? "text inputs are read whole and are limited to \(describe(limit))" : nil)
            }
            crc = piece.withUnsafeBytes { crc32(crc, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count)) }
        }
        if gzdirect(file) == 0 { try checkTrailer(path, crc: crc, size: bytes.count) }
        return bytes
    }

    /// The gzip trailer: CRC-32 and size (mod 2³²) of the data, little-endian, the file's last 8 bytes. A
    /// file cut short there decompresses completely but is not whole (`gzip -t` rejects it).
    private static func checkTrailer(_ path: String, crc: uLong, size: Int) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        guard end >= 18 else { throw DataError(path: path, "corrupt: too short to be a whole gzip file") }
        try? handle.seek(toOffset: end - 8)
        let trailer = [UInt8](handle.readData(ofLength: 8))
        guard trailer.count == 8 else { return }
        let word = { (o: Int) in (0..<4).reduce(UInt32(0)) { $0 | UInt32(trailer[o + $1]) << (8 * $1) } }
        guard word(0) == UInt32(truncatingIfNeeded: crc), word(4) == UInt32(truncatingIfNeeded: size) else {
            throw DataError(
                path: path, place: "byte \(end - 8)", "corrupt or truncated: the gzip trailer does not match the data",
                help: "check the file with `gzip -t`; download or copy it again")
        }
    }

    private static func describe(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? "\(bytes >> 30) GiB" : bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}

/// A spec or a checkpoint: a regular file read whole, refused when it is something else (a folder, a device
/// such as /dev/zero that never ends) or larger than `limit`.
enum RegularFile {
    struct Problem: Error {
        let reason: String
    }

    static func read(_ path: String, limit: Int) throws(Problem) -> [UInt8] {
        var status = stat()
        guard stat(path, &status) == 0 else { throw Problem(reason: "no such file") }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw Problem(reason: "it is a folder, not a file")
        default: throw Problem(reason: "it is not a regular file (a device or a pipe)")
        }
        guard Int(status.st_size) <= limit else {
            throw Problem(reason: "it is \(status.st_size) bytes, over the \(limit >> 20) MiB limit")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw Problem(reason: "it cannot be read") }
        guard data.count <= limit else { throw Problem(reason: "it grew past the \(limit >> 20) MiB limit while read") }
        return [UInt8](data)
    }
}
