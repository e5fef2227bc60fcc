import Foundation

/// Folders for tests' files, all under one root per test process that is removed when the process exits, so a
/// test run leaves nothing behind in the system's temporary folder.
public enum ScratchFolder {
    private static let root: URL = {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-tests-\(getpid())")
        atexit { try? FileManager.default.removeItem(at: ScratchFolder.root) }
        return root
    }()

    /// A new, empty folder under the process's root.
    public static func make(_ prefix: String = "test") -> URL {
        let folder = root.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}
