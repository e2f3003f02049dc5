import Foundation

/// A test's own directory under the system's temporary directory: `<tmp>/<prefix>-<UUID>`.
public enum TempDir {
    /// Creates a new directory, and `subdirectories` of it (relative paths, with their parents),
    /// and returns its path.
    public static func make(_ prefix: String, subdirectories: [String] = []) throws -> String {
        let dir = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for sub in subdirectories {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        return dir
    }

    /// Removes `dir` with all it holds, ignoring errors; nothing when `dir` is empty (a set-up that
    /// stopped before it made one).
    public static func remove(_ dir: String) {
        guard !dir.isEmpty else { return }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
