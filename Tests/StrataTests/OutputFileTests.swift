import Foundation
import Strata
import Testing

/// A link left at the temporary name (a crashed write's leftover, or something planted in a shared folder) is
/// removed, and what it points to is never written.
@Test func aLinkAtTheTemporaryNameIsNotWrittenThrough() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strata-output-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let bystander = folder.appendingPathComponent("bystander").path
    try Data("keep".utf8).write(to: URL(fileURLWithPath: bystander))
    let output = folder.appendingPathComponent("model.onnx").path
    let temporary = folder.appendingPathComponent(".model.onnx.tmp-\(getpid())").path
    try FileManager.default.createSymbolicLink(atPath: temporary, withDestinationPath: bystander)
    try AtomicFile.write(Array("new".utf8), to: output)
    #expect(try String(contentsOfFile: bystander, encoding: .utf8) == "keep")
    #expect(try String(contentsOfFile: output, encoding: .utf8) == "new")
    #expect(!FileManager.default.fileExists(atPath: temporary))
}

/// The file replaced keeps its permission bits; a new file gets the usual 0644 (less the umask).
@Test func aReplacedFileKeepsItsPermissions() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strata-output-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let output = folder.appendingPathComponent("checkpoint.safetensors").path
    try AtomicFile.write(Array("first".utf8), to: output)
    #expect(chmod(output, 0o640) == 0)
    try AtomicFile.write(Array("second".utf8), to: output)
    var status = stat()
    #expect(stat(output, &status) == 0 && status.st_mode & 0o777 == 0o640)
    #expect(try String(contentsOfFile: output, encoding: .utf8) == "second")
}

/// A socket at the output path is refused, not replaced by a regular file.
@Test func aSocketIsNotReplaced() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strata-output-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("s").path
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    #expect(descriptor >= 0)
    defer { close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { bytes in
        for (i, byte) in path.utf8.prefix(bytes.count - 1).enumerated() { bytes[i] = byte }
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    #expect(bound == 0)
    #expect(throws: OutputError.self) { try AtomicFile.write(Array("x".utf8), to: path) }
    var status = stat()
    #expect(lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFSOCK)
}
