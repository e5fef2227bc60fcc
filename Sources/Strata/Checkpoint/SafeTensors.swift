import Foundation

/// A named float32 tensor as stored in a checkpoint.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

public struct CheckpointError: FileError, Sendable {
    public var path: String
    public var place: String?
    public var message: String
    public var help: String?

    public init(path: String, place: String? = nil, message: String, help: String? = nil) {
        self.path = path
        self.place = place
        self.message = message
        self.help = help
    }
}

/// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON (padded with spaces to a
/// multiple of 8) mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} relative to the data
/// that follows, plus `__metadata__` of string values; then the packed little-endian data.
public enum SafeTensors {
    /// Headers larger than this are refused before anything is allocated for them.
    public static let maximumHeaderSize = 100 << 20

    public static func encode(_ tensors: [NamedTensor], metadata: [String: String]) throws -> [UInt8] {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for tensor in tensors {
            let size = tensor.values.count * 4
            header[tensor.name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        var json = [UInt8](
            try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]))
        while json.count % 8 != 0 { json.append(0x20) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.count + offset)
        for shift in stride(from: 0, to: 64, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: UInt64(json.count) >> UInt64(shift)))
        }
        bytes += json
        for tensor in tensors {
            for value in tensor.values {
                let bits = value.bitPattern.littleEndian
                bytes += [
                    UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8),
                    UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24),
                ]
            }
        }
        return bytes
    }

    /// Parses and validates every part; any inconsistency is an error that says what is wrong.
    public static func decode(
        _ bytes: [UInt8], path: String
    ) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        func fail(_ message: String) -> CheckpointError { CheckpointError(path: path, message: message) }
        guard bytes.count >= 8 else {
            throw fail("truncated: \(bytes.count) bytes, shorter than the 8-byte header length")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << UInt64(8 * i) }
        guard length <= UInt64(maximumHeaderSize) else {
            // A safetensors file starts with a small binary length; text there means some other kind of file.
            if bytes.prefix(8).allSatisfy({ (0x20...0x7E).contains($0) || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }) {
                let start = String(decoding: bytes.prefix(8), as: UTF8.self).replacingOccurrences(of: "\n", with: "\\n")
                throw CheckpointError(
                    path: path,
                    message: "is not a checkpoint: it begins with text (\"\(start)…\"), not a safetensors header",
                    help: "give the .safetensors file `strata train` wrote")
            }
            throw fail(
                "header length \(length) is larger than the \(maximumHeaderSize)-byte limit; not a Strata checkpoint")
        }
        guard length <= UInt64(bytes.count - 8) else {
            throw fail("header length \(length) runs past the end of the file (\(bytes.count) bytes)")
        }
        let headerEnd = 8 + Int(length)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
            let header = object as? [String: Any]
        else { throw fail("the header at bytes 8..<\(headerEnd) is not a JSON object") }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let values = raw as? [String: Any] else { throw fail("__metadata__ is not an object of strings") }
            for (key, value) in values {
                guard let text = value as? String else { throw fail("__metadata__ value '\(key)' is not a string") }
                metadata[key] = text
            }
        }
        let dataSize = bytes.count - headerEnd
        var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, raw) in header where name != "__metadata__" {
            guard let entry = raw as? [String: Any] else { throw fail("tensor '\(name)' has no description object") }
            guard let dtype = entry["dtype"] as? String else { throw fail("tensor '\(name)' has no dtype") }
            guard dtype == "F32" else {
                throw fail("tensor '\(name)' has dtype \(dtype); Strata checkpoints hold F32 only")
            }
            guard let shape = entry["shape"] as? [Any], let dims = ints(shape), dims.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor '\(name)' has no valid shape")
            }
            guard let offsets = entry["data_offsets"] as? [Any], let pair = ints(offsets), pair.count == 2 else {
                throw fail("tensor '\(name)' has no valid data_offsets")
            }
            let (begin, end) = (pair[0], pair[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail("tensor '\(name)' data_offsets [\(begin), \(end)] lie outside the \(dataSize) data bytes")
            }
            var elements = 1
            for d in dims {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("tensor '\(name)' shape \(dims) is too large") }
                elements = product
            }
            guard elements.multipliedReportingOverflow(by: 4).partialValue == end - begin, elements <= Int.max / 4
            else {
                throw fail(
                    "tensor '\(name)' shape \(dims) needs \(elements * 4) bytes but data_offsets give \(end - begin)")
            }
            entries.append((name, dims, begin, end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var expected = 0
        for entry in entries {
            if entry.begin < expected {
                throw fail("tensor '\(entry.name)' overlaps the tensor before it (offset \(entry.begin) < \(expected))")
            }
            if entry.begin > expected {
                throw fail("a gap of \(entry.begin - expected) bytes lies before tensor '\(entry.name)'")
            }
            expected = entry.end
        }
        if expected != dataSize { throw fail("\(dataSize - expected) trailing bytes after the last tensor") }
        let tensors = entries.map { entry -> NamedTensor in
            var values = [Float](repeating: 0, count: (entry.end - entry.begin) / 4)
            var o = headerEnd + entry.begin
            for i in 0..<values.count {
                let bits =
                    UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3])
                    << 24
                values[i] = Float(bitPattern: bits)
                o += 4
            }
            return NamedTensor(name: entry.name, shape: entry.shape, values: values)
        }
        return (tensors.sorted { $0.name < $1.name }, metadata)
    }

    /// Whole numbers only: JSON numbers come back as NSNumber, which also covers booleans and fractions.
    private static func ints(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        for value in values {
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 9e15 else { return nil }
            out.append(Int(double))
        }
        return out
    }
}

/// Writes to a temporary file in the same folder, syncs it, and renames it into place, so a crash or an
/// interrupt never leaves a half-written file under the real name.
