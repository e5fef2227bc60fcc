import Foundation

/// An error writing an output file: which file, and why in words.
public struct OutputError: FileError, Sendable {
    public var path: String
    public var place: String? { nil }
    public var message: String
    public var help: String?

    public init(path: String, _ message: String, help: String? = nil) {
        self.path = path
        self.message = message
        self.help = help
    }
}

/// Writes output files so that nothing is lost: a regular file is written to a temporary name beside it and
/// renamed into place, keeping the permissions of the file it replaces; a symbolic link is followed and its target
/// written that way; a character device or a FIFO (`/dev/stdout`) is written through, never replaced; a folder, a
/// socket or a block device is refused.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let target = try resolve(path)
        if let kind = fileType(target), kind == S_IFCHR || kind == S_IFIFO {
            return try writeThrough(bytes, to: target, named: path)
        }
        let url = URL(fileURLWithPath: target)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())")
        // A stale temporary (or anything else put at its name, a link included) is removed, never written through.
        unlink(temporary.path)
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            throw failure(path, "cannot create a file in \(url.deletingLastPathComponent().path)")
        }
        do {
            defer { close(descriptor) }
            // The file replaced keeps its permissions (a checkpoint kept private stays private).
            if let mode = permissions(target) { fchmod(descriptor, mode) }
            try writeAll(bytes, to: descriptor, named: path)
            guard fsync(descriptor) == 0 else { throw failure(path, "cannot flush it to disk") }
        } catch {
            unlink(temporary.path)
            throw error
        }
        guard rename(temporary.path, target) == 0 else {
            let error = failure(path, "cannot move the new file into place")
            unlink(temporary.path)
            throw error
        }
    }

    /// Checks, before any work, that `path` can be written: not empty, not a folder, its folder creatable and
    /// writable. Returns the path a write will go to (symbolic links resolved).
    @discardableResult
    public static func checkWritable(_ path: String) throws -> String {
        let target = try resolve(path)
        if let kind = fileType(target), kind == S_IFCHR || kind == S_IFIFO { return target }
        let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
        guard access(folder, W_OK) == 0 else {
            throw failure(path, "its folder \(folder) is not writable", errno: errno)
        }
        return target
    }

    /// The file a write of `path` lands in: the path itself, or a symbolic link's target; its folder created.
    private static func resolve(_ path: String) throws -> String {
        guard !path.isEmpty else { throw OutputError(path: "''", "the output path is empty") }
        guard !path.hasSuffix("/") else {
            throw OutputError(path: path, "names a folder, not a file", help: "give a file name, e.g. \(path)out")
        }
        let target = try followLinks(path)
        let kind = fileType(target)
        switch kind {
        case S_IFDIR?:
            throw OutputError(path: path, "is a folder", help: "give a file name inside it, e.g. \(path)/out")
        case S_IFSOCK?, S_IFBLK?:
            // Only a regular file is replaced, and only a stream (a terminal, a pipe) written through.
            throw OutputError(path: path, "is a \(kind == S_IFSOCK ? "socket" : "block device"), not a file")
        default: break
        }
        let folder = URL(fileURLWithPath: target).deletingLastPathComponent()
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                throw OutputError(path: path, "cannot be written: \(folder.path) is a file, not a folder")
            }
        } else {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw OutputError(
                    path: path, "cannot create its folder \(folder.path): a file is in the way, or it is not writable")
            }
        }
        return target
    }

    /// The file a chain of symbolic links ends at, existing or not (a dangling link names the file to create).
    private static func followLinks(_ path: String) throws -> String {
        var target = path
        for _ in 0..<40 {
            var status = stat()
            guard lstat(target, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return target }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(target, &buffer, buffer.count - 1)
            guard count > 0 else { return target }
            let destination = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            target =
                destination.hasPrefix("/")
                ? destination
                : URL(fileURLWithPath: target).deletingLastPathComponent().appendingPathComponent(destination).path
        }
        throw OutputError(path: path, "is a chain of more than 40 symbolic links")
    }

    /// The kind of file at `path` (S_IFREG, S_IFDIR, …), or nil when nothing is there.
    private static func fileType(_ path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & S_IFMT
    }

    /// The permission bits of the regular file at `path`, or nil when none is there.
    private static func permissions(_ path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        return status.st_mode & 0o7777
    }

    private static func writeThrough(_ bytes: [UInt8], to target: String, named path: String) throws {
        let descriptor = open(target, O_WRONLY)
        guard descriptor >= 0 else { throw failure(path, "cannot open it for writing") }
        defer { close(descriptor) }
        try writeAll(bytes, to: descriptor, named: path)
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, named path: String) throws {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes {
                Foundation.write(descriptor, $0.baseAddress! + written, bytes.count - written)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw failure(path, "cannot write it") }
            written += count
        }
    }

    /// The system's reason in words (no space left on the device, file too large, permission denied).
    private static func failure(_ path: String, _ what: String, errno code: Int32 = errno) -> OutputError {
        OutputError(path: path, "\(what): \(String(cString: strerror(code)).lowercased())")
    }
}

/// The files written beside a checkpoint, named so they never collide with it: `runs/x.safetensors` gives
/// `runs/x.history.jsonl` and `runs/x.svg`; a checkpoint named without `.safetensors` keeps its whole name.
public enum CompanionFiles {
    public static func base(_ checkpoint: String) -> String {
        checkpoint.hasSuffix(".safetensors") ? String(checkpoint.dropLast(".safetensors".count)) : checkpoint
    }

    public static func history(_ checkpoint: String) -> String { base(checkpoint) + ".history.jsonl" }
    public static func plot(_ checkpoint: String) -> String { base(checkpoint) + ".svg" }
}
