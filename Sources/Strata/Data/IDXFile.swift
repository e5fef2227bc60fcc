/// An IDX file (the MNIST format): magic 0x00 0x00, a type byte (0x08 = unsigned byte), a dimension count,
/// big-endian 32-bit sizes, then the values. Only unsigned-byte data is used by image sets.
public struct IDXFile: Sendable {
    public var dimensions: [Int]
    public var values: [UInt8]

    /// Reads no more data than the header declares (plus a byte, to see that there is more).
    public static func read(_ path: String) throws -> IDXFile {
        let dimensions = try readDimensions(path)
        let size = saturatingAdd(4 + 4 * dimensions.count, dimensions.reduce(1, saturatingMultiply))
        guard size <= FileBytes.maximumSize else {
            throw DataError(
                path: path, place: "byte 4",
                "its header declares \(size) bytes, over the \(FileBytes.maximumSize >> 30) GiB limit")
        }
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path, limit: size)
        } catch let error as DataError where error.message.hasPrefix("holds more than") {
            throw DataError(
                path: path, place: "byte \(size)",
                "size mismatch: the header's dimensions \(dimensions.map(String.init).joined(separator: "x")) need \(size - 4 - 4 * dimensions.count) bytes of data, the file has more"
            )
        }
        return try parse(bytes, path: path)
    }

    public static func parse(_ bytes: [UInt8], path: String) throws -> IDXFile {
        guard bytes.count >= 4 else {
            throw DataError(path: path, place: "byte 0", "too short for an IDX header (\(bytes.count) bytes)")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(
                path: path, place: "byte 0",
                "not an IDX file: magic starts 0x\(hex(bytes[0]))\(hex(bytes[1])), expected 0x0000")
        }
        guard bytes[2] == 0x08 else {
            throw DataError(
                path: path, place: "byte 2",
                "IDX type 0x\(hex(bytes[2])) is not supported; image sets use 0x08 (unsigned bytes)")
        }
        let rank = Int(bytes[3])
        guard (1...4).contains(rank) else {
            throw DataError(path: path, place: "byte 3", "IDX dimension count \(rank) is outside 1...4")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError(
                path: path, place: "byte \(bytes.count)",
                "header ends early: \(rank) dimensions need \(headerSize) bytes")
        }
        var dimensions: [Int] = []
        var expected = 1
        for d in 0..<rank {
            let o = 4 + 4 * d
            let size = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dimensions.append(size)
            expected = saturatingMultiply(expected, size)
        }
        let actual = bytes.count - headerSize
        guard actual == expected else {
            throw DataError(
                path: path, place: "byte \(headerSize)",
                "size mismatch: the header's dimensions \(dimensions.map(String.init).joined(separator: "x")) need \(expected) bytes of data, the file has \(actual)"
            )
        }
        return IDXFile(dimensions: dimensions, values: Array(bytes[headerSize...]))
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}

extension IDXFile {
    /// Only the dimensions, reading no more of the (possibly compressed) file than the header.
    public static func readDimensions(_ path: String) throws -> [Int] {
        let header = try FileBytes.prefix(path, count: 4 + 4 * 4)
        guard header.count >= 4 else {
            throw DataError(path: path, place: "byte 0", "too short for an IDX header (\(header.count) bytes)")
        }
        let rank = min(Int(header[3]), 4)
        let padded = header + [UInt8](repeating: 0, count: max(0, 4 + 4 * rank - header.count))
        do {
            // Parse a zero-length body: only the header checks apply.
            _ = try parse(Array(padded.prefix(4 + 4 * rank)), path: path)
        } catch let error as DataError where error.message.hasPrefix("size mismatch") {
        }
        return (0..<rank).map { d in
            let o = 4 + 4 * d
            return Int(padded[o]) << 24 | Int(padded[o + 1]) << 16 | Int(padded[o + 2]) << 8 | Int(padded[o + 3])
        }
    }
}
