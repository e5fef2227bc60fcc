import Foundation
import Testing

@testable import Strata

/// A real checkpoint taken apart, so each case can damage one thing and put it back together.
private struct Pieces {
    var header: [String: Any]
    var data: [UInt8]

    init(_ bytes: [UInt8]) {
        var length = 0
        for i in 0..<8 { length |= Int(bytes[i]) << (8 * i) }
        header = try! JSONSerialization.jsonObject(with: Data(bytes[8..<8 + length])) as! [String: Any]
        data = Array(bytes[(8 + length)...])
    }

    func bytes(headerText: String? = nil) -> [UInt8] {
        let json =
            headerText.map { Array($0.utf8) }
            ?? [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        var out: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) }
        out += json
        out += data
        return out
    }

    mutating func edit(_ tensor: String, _ change: (inout [String: Any]) -> Void) {
        var entry = header[tensor] as! [String: Any]
        change(&entry)
        header[tensor] = entry
    }

    mutating func editMetadata(_ change: (inout [String: Any]) -> Void) {
        var metadata = header["__metadata__"] as! [String: Any]
        change(&metadata)
        header["__metadata__"] = metadata
    }
}

private let original: [UInt8] = {
    let (_, result) = try! train("xor.yaml") { $0.epochs = 2 }
    return [UInt8](try! Data(contentsOf: URL(fileURLWithPath: result.checkpointPath)))
}()

private func damaged(_ kind: String) -> [UInt8] {
    var p = Pieces(original)
    // Tensors in data order: the first holds offset 0.
    let names = p.header.keys.filter { $0 != "__metadata__" }.sorted {
        ((p.header[$0] as! [String: Any])["data_offsets"] as! [Int])[0]
            < ((p.header[$1] as! [String: Any])["data_offsets"] as! [Int])[0]
    }
    switch kind {
    case "empty": return []
    case "short length": return Array(original.prefix(5))
    case "length past end": return [0xFF, 0xFF, 0, 0, 0, 0, 0, 0] + Array(original[8..<100])
    case "huge length": return [0, 0, 0, 0, 0, 0, 0, 1] + Array(original[8...])
    case "not json": return p.bytes(headerText: "{not json at all}")
    case "json array": return p.bytes(headerText: "[1, 2, 3]")
    case "unknown dtype": p.edit(names[0]) { $0["dtype"] = "F16" }
    case "negative shape": p.edit(names[0]) { $0["shape"] = [-1, 8] }
    case "no offsets": p.edit(names[0]) { $0.removeValue(forKey: "data_offsets") }
    case "offsets past data": p.edit(names.last!) { $0["data_offsets"] = [0, 1 << 30] }
    case "overlap":
        p.edit(names[1]) { entry in
            let offsets = entry["data_offsets"] as! [Int]
            entry["data_offsets"] = [offsets[0] - 4, offsets[1] - 4]
        }
    case "gap":
        p.edit(names.last!) { entry in
            let offsets = entry["data_offsets"] as! [Int]
            entry["data_offsets"] = [offsets[0] + 4, offsets[1] + 4]
        }
        p.data += [0, 0, 0, 0]
    case "trailing bytes": p.data += [1, 2, 3, 4]
    case "truncated data": p.data.removeLast(6)
    case "shape size mismatch": p.edit(names[0]) { $0["shape"] = [3, 8] }
    case "foreign file": p.header.removeValue(forKey: "__metadata__")
    case "other format": p.editMetadata { $0["format"] = "strata-checkpoint-99" }
    case "spec edited": p.editMetadata { $0["spec"] = ($0["spec"] as! String) + "\n# edited\n" }
    case "metadata not string": p.editMetadata { $0["epoch"] = 3 }
    case "missing tensor":
        let victim = "dense_2.bias"
        let size = ((p.header[victim] as! [String: Any])["data_offsets"] as! [Int])
        p.header.removeValue(forKey: victim)
        // Close the hole so only the missing name is wrong.
        for name in names where name != victim {
            p.edit(name) { entry in
                var offsets = entry["data_offsets"] as! [Int]
                if offsets[0] >= size[1] { offsets = offsets.map { $0 - (size[1] - size[0]) } }
                entry["data_offsets"] = offsets
            }
        }
        p.data.removeSubrange(size[0]..<size[1])
    case "wrong shape":
        p.edit("dense_1.bias") { $0["shape"] = [2, 4] }
    case "state not json": p.editMetadata { $0["state"] = "{oops" }
    case "infinite weight":
        let offset = ((p.header["dense_1.weight"] as! [String: Any])["data_offsets"] as! [Int])[0]
        p.data.replaceSubrange(offset..<offset + 4, with: [0, 0, 0x80, 0x7F])
    default: fatalError(kind)
    }
    return p.bytes()
}

private let damageCases: [(String, String)] = [
    ("empty", "truncated: 0 bytes"),
    ("short length", "truncated: 5 bytes"),
    ("length past end", "header length 65535 runs past the end of the file"),
    ("huge length", "is larger than the 104857600-byte limit"),
    ("not json", "is not a JSON object"),
    ("json array", "is not a JSON object"),
    ("unknown dtype", "has dtype F16; Strata checkpoints hold F32 only"),
    ("negative shape", "has no valid shape"),
    ("no offsets", "has no valid data_offsets"),
    ("offsets past data", "lie outside the"),
    ("overlap", "overlaps the tensor before it"),
    ("gap", "a gap of 4 bytes lies before tensor"),
    ("trailing bytes", "4 trailing bytes after the last tensor"),
    ("truncated data", "lie outside the"),
    ("shape size mismatch", "needs 96 bytes but data_offsets give 64"),
    ("foreign file", "no Strata format in __metadata__"),
    ("other format", "format 'strata-checkpoint-99' is not strata-checkpoint-1"),
    ("spec edited", "spec hash mismatch"),
    ("metadata not string", "__metadata__ value 'epoch' is not a string"),
    ("missing tensor", "missing tensor 'dense_2.bias'"),
    ("wrong shape", "'dense_1.bias' has shape [2, 4] in the checkpoint, the model needs [8]"),
    ("state not json", "the metadata's 'state' is not valid"),
    ("infinite weight", "holds NaN or infinite values"),
]

@Test(arguments: damageCases)
func damagedCheckpointIsRefusedWithItsReason(kind: String, message: String) throws {
    let path = temporaryFolder().appendingPathComponent("\(kind.replacingOccurrences(of: " ", with: "-")).safetensors")
        .path
    try Data(damaged(kind)).write(to: URL(fileURLWithPath: path))
    #expect {
        _ = try Model(checkpoint: path)
    } throws: { error in
        guard let error = error as? CheckpointError else { return false }
        return error.path == path && error.message.contains(message)
    }
}

@Test func undamagedCheckpointLoads() throws {
    let path = temporaryFolder().appendingPathComponent("ok.safetensors").path
    try Data(original).write(to: URL(fileURLWithPath: path))
    let model = try Model(checkpoint: path)
    #expect(model.checkpoint.state.epoch == 2)
    #expect(damageCases.count >= 15)
}

@Test func missingCheckpointIsAnError() {
    #expect(throws: CheckpointError.self) { _ = try Model(checkpoint: "/nonexistent/model.safetensors") }
}

@Test func checkpointLayoutFollowsSafetensors() throws {
    let pieces = Pieces(original)
    var length = 0
    for i in 0..<8 { length |= Int(original[i]) << (8 * i) }
    #expect(length % 8 == 0)
    #expect(
        Set(pieces.header.keys) == [
            "__metadata__", "dense_1.weight", "dense_1.bias", "dense_2.weight", "dense_2.bias",
            "optimizer.dense_1.weight.m", "optimizer.dense_1.weight.v", "optimizer.dense_1.bias.m",
            "optimizer.dense_1.bias.v",
            "optimizer.dense_2.weight.m", "optimizer.dense_2.weight.v", "optimizer.dense_2.bias.m",
            "optimizer.dense_2.bias.v",
        ])
    let weight = try #require(pieces.header["dense_1.weight"] as? [String: Any])
    #expect(weight["dtype"] as? String == "F32")
    #expect(weight["shape"] as? [Int] == [2, 8])
    let metadata = try #require(pieces.header["__metadata__"] as? [String: String])
    #expect(metadata["spec_sha256"] == SHA256.hex(metadata["spec"]!))
    #expect(metadata["epoch"] == "2")
}

@Test func sha256MatchesKnownDigests() {
    #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
        SHA256.hex(String(repeating: "a", count: 1000))
            == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
}

/// Edits one field of a JSON metadata value (`state`, `labels`, `preprocessing`).
private func editedJSON(_ key: String, _ change: @escaping (inout [String: Any]) -> Void) -> [UInt8] {
    var p = Pieces(original)
    p.editMetadata { metadata in
        var object = try! JSONSerialization.jsonObject(with: Data((metadata[key] as! String).utf8)) as! [String: Any]
        change(&object)
        metadata[key] = String(
            decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
    return p.bytes()
}

/// Metadata edited by hand (the spec hash still matches): each field is checked against the model before use, and
/// the refusal names it. These crashed `eval`, `predict` or `--resume`, or were silently accepted, before.
private let metadataCases: [(String, String, String)] = [
    ("labels", "classCount -1", "'labels.classCount' is -1"),
    ("labels", "classCount huge", "'labels.classCount' is 4611686018427387904"),
    ("labels", "classCount 11", "'labels.classCount' is 11"),
    ("labels", "targetWidth 0", "'labels.targetWidth' is 0"),
    ("labels", "targetWidth -1", "'labels.targetWidth' is -1"),
    ("labels", "targetWidth 1000", "'labels.targetWidth' is 1000"),
    ("preprocessing", "mean empty", "'preprocessing' has 0 means"),
    ("state", "epoch -1", "'state.epoch' is -1"),
    ("state", "iterations -1", "'state.iterations' is -1"),
    ("state", "batch -100", "'state.batch' is -100"),
]

@Test(arguments: metadataCases)
func editedMetadataIsRefusedNamingTheField(key: String, edit: String, message: String) throws {
    let bytes = editedJSON(key) { object in
        switch edit {
        case "classCount -1": object["classCount"] = -1
        case "classCount huge": object["classCount"] = 1 << 62
        case "classCount 11": object["classCount"] = 11
        case "targetWidth 0": object["targetWidth"] = 0
        case "targetWidth -1": object["targetWidth"] = -1
        case "targetWidth 1000": object["targetWidth"] = 1000
        case "mean empty": (object["mean"], object["standardDeviation"]) = ([Float](), [Float]())
        case "epoch -1": object["epoch"] = -1
        case "iterations -1": object["iterations"] = -1
        case "batch -100": object["batch"] = -100
        default: Issue.record("no edit \(edit)")
        }
    }
    let path = temporaryFolder().appendingPathComponent("edited.safetensors").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    #expect {
        _ = try Model(checkpoint: path)
    } throws: { error in
        (error as? CheckpointError)?.message.contains(message) == true
    }
}

/// `--resume` from a checkpoint whose state says it stopped at batch 1000 of an epoch of 1 batch.
@Test func resumeRefusesABatchPastTheEpoch() throws {
    let bytes = editedJSON("state") { $0["batch"] = 1000 }
    let path = temporaryFolder().appendingPathComponent("batch.safetensors").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    #expect {
        _ = try train("xor.yaml") {
            $0.epochs = 4
            $0.resume = path
        }
    } throws: { error in
        "\(error)".contains("'state.batch' is 1000, but an epoch here has 1 batches")
    }
}
