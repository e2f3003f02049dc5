import Foundation
import BundleFormat
import BundleCrypto

/// A file found under a layer directory, ready to be recorded and streamed.
public struct ScannedFile: Sendable {
    public var record: FileRecord
    /// Where to read a regular file's content from.
    public var source: String?
    /// Bytes the file occupies on disk (`st_blocks` × 512): much less than its size for a sparse file.
    public var allocated: UInt64 = 0
}

/// Walks a layer directory into file records in the order the format requires
/// (strictly increasing byte order of the relative path).
///
/// Decisions (docs/spec.md, "What a layer may hold"): regular files, directories and symlinks
/// that stay inside the layer are kept; a hard-linked file is stored once per name (the
/// extracted copies are independent files); sockets, FIFOs and devices are refused. Modes are
/// recorded masked to 0o755, exactly what the launcher will create, and owners and times are
/// not recorded at all, so the same tree gives the same bytes on any machine.
public enum TreeScanner {
    public static func scan(_ root: String, layerName: String) throws(BuildError) -> [ScannedFile] {
        var out: [ScannedFile] = []
        do { try walk(root: root, relative: [], layerName: layerName, into: &out) } catch let e as BuildError {
            throw e
        } catch { throw BuildError("layer '\(layerName)': \(error)") }
        out.sort { $0.record.path.lexicographicallyPrecedes($1.record.path) }
        return out
    }

    private static func readLink(_ path: String, shown: String) throws(BuildError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Limits.maxPathLength + 1)
        let n = buffer.withUnsafeMutableBytes {
            readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
        }
        guard n >= 0 else { throw BuildError("\(shown): cannot read symlink: \(String(cString: strerror(errno)))") }
        guard n <= Limits.maxPathLength else {
            throw BuildError("\(shown): symlink target longer than \(Limits.maxPathLength) bytes")
        }
        return Array(buffer[..<n])
    }

    private static func walk(root: String, relative: [UInt8], layerName: String, into out: inout [ScannedFile]) throws {
        let dirPath = relative.isEmpty ? root : root + "/" + String(decoding: relative, as: UTF8.self)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dirPath) } catch {
            throw BuildError("layer '\(layerName)': cannot read directory \(dirPath): \(errorText(error))")
        }
        for name in names {
            let rel = relative.isEmpty ? Array(name.utf8) : relative + [0x2F] + Array(name.utf8)
            let full = root + "/" + String(decoding: rel, as: UTF8.self)
            let shown = "layer '\(layerName)': \(String(decoding: rel, as: UTF8.self))"
            do { try PathRules.check(rel) } catch { throw BuildError("\(shown): \(error)") }
            var st = stat()
            guard lstat(full, &st) == 0 else {
                throw BuildError("\(shown): cannot stat: \(String(cString: strerror(errno)))")
            }
            let mode = UInt32(st.st_mode) & FileModes.kept
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                out.append(
                    ScannedFile(record: FileRecord(kind: .directory, mode: mode, size: 0, path: rel), source: nil))
                try walk(root: root, relative: rel, layerName: layerName, into: &out)
            case S_IFREG:
                // The digest is filled in by LayerBuilder while it compresses: one read per file.
                out.append(
                    ScannedFile(
                        record: FileRecord(kind: .regular, mode: mode, size: UInt64(st.st_size), path: rel),
                        source: full,
                        allocated: UInt64(max(st.st_blocks, 0)) * 512))
            case S_IFLNK:
                // The target's bytes as stored, not a String: a target that is not UTF-8 must be
                // refused, not silently changed by decoding (docs/format.md, "File table").
                let target = try readLink(full, shown: shown)
                do { try PathRules.checkSymlink(path: rel, target: target) } catch {
                    throw BuildError(
                        "\(shown): symlink to '\(TerminalText.shown(target))' is not allowed: \(error) (links must stay inside the layer and be relative UTF-8 paths)"
                    )
                }
                out.append(
                    ScannedFile(
                        record: FileRecord(kind: .symlink, mode: 0o755, size: 0, path: rel, linkTarget: target),
                        source: nil))
            default:
                throw BuildError("\(shown): only regular files, directories and symlinks can be bundled")
            }
        }
    }
}
