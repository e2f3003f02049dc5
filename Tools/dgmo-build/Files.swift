import Foundation
import BundleBuilder

/// Small file-system helpers that turn Foundation's errors into one-line `BuildError`s.
enum Files {
    static let fm = FileManager.default

    static func exists(_ p: String) -> Bool { fm.fileExists(atPath: p) }

    static func isDirectory(_ p: String) -> Bool {
        var d: ObjCBool = false
        return fm.fileExists(atPath: p, isDirectory: &d) && d.boolValue
    }

    static func mkdir(_ p: String) throws(BuildError) {
        do { try fm.createDirectory(atPath: p, withIntermediateDirectories: true) } catch {
            throw BuildError("cannot create \(p): \(errorText(error))")
        }
    }

    /// Removes and recreates a directory, so a step never mixes old and new outputs.
    static func fresh(_ p: String) throws(BuildError) {
        if exists(p) {
            do { try fm.removeItem(atPath: p) } catch { throw BuildError("cannot remove \(p): \(errorText(error))") }
        }
        try mkdir(p)
    }

    static func copy(_ from: String, _ to: String) throws(BuildError) {
        try mkdir(PathText.directory(of: to))
        if exists(to) { try? fm.removeItem(atPath: to) }
        do { try fm.copyItem(atPath: from, toPath: to) } catch {
            throw BuildError("cannot copy \(from) to \(to): \(errorText(error))")
        }
    }

    static func write(_ text: String, to p: String, mode: mode_t = 0o644) throws(BuildError) {
        try mkdir(PathText.directory(of: p))
        try BundleBuild.writeAtomically(Array(text.utf8), to: p, mode: mode)
    }

    static func list(_ p: String) throws(BuildError) -> [String] {
        do { return try fm.contentsOfDirectory(atPath: p).sorted() } catch {
            throw BuildError("cannot list \(p): \(errorText(error))")
        }
    }

    /// Every regular file and symlink under `root`, as sorted relative paths.
    static func walk(_ root: String) -> [String] {
        guard let e = fm.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            var st = stat()
            guard lstat(root + "/" + rel, &st) == 0 else { continue }
            let type = st.st_mode & S_IFMT
            if type == S_IFREG || type == S_IFLNK { out.append(rel) }
        }
        return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
