import BundleFormat
import BundleRuntime
import BundleSystem

/// Writes every layer of a bundle into `DIR/<layer>/`, checked: the one implementation behind
/// `--launcher extract DIR` and `bundle-append extract BUNDLE DIR`.
///
/// The launcher checks each frame of a layer against its signed digest before decoding it, and a
/// layer is whole only once its last frame was (docs/security.md, "Hash once"), so each layer is
/// written to `DIR/.<layer>.partial` and renamed to `DIR/<layer>` only after every frame was
/// checked; on any error the partial tree is removed. A tampered bundle leaves nothing under a
/// layer's name, and nothing at all of the layer that failed.
///
/// DIR is opened once, without following a symlink, and must be ours and not writable by
/// others: a DIR in `/tmp` that another user made first (empty, or a symlink to a directory
/// of theirs) would otherwise receive the files, where that user could change them before
/// they are run. The emptiness check and the extraction use that one descriptor.
public enum DirectoryExtraction {
    /// Creates DIR (its parent must exist) or takes an empty one; calls `done` after each layer.
    public static func extractAll(_ bundle: BundleFile, to dir: String, done: (LayerRecord) -> Void) throws(BundleError)
    {
        var created = true
        do { try Sys.mkdir(dir, 0o755) } catch {
            guard error.errno == Errno.EEXIST else {
                throw BundleError(error.code, "cannot create \(dir): \(error.reason)", errno: error.errno)
            }
            created = false
        }
        let dirFD: FileDescriptor
        do { dirFD = try Sys.open(dir, .directoryNoFollow) } catch {
            throw BundleError(
                error.code,
                error.errno == Errno.ELOOP || error.errno == Errno.ENOTDIR
                    ? "\(dir) is a symlink or not a directory: choose a new directory"
                    : "cannot open \(dir): \(error.reason)",
                errno: error.errno)
        }
        guard let st = try? Sys.fstat(dirFD), Ownership.isOurs(st), !Ownership.othersCanWrite(st) else {
            throw BundleError(
                .unsafeCache,
                "\(dir) belongs to another user or is writable by others (so its files could be changed after extracting): choose a new directory of yours"
            )
        }
        if !created, !((try? Sys.listDirectory(dirFD)) ?? ["x"]).isEmpty {
            throw BundleError(.usage, "\(dir) exists and is not an empty directory")
        }
        for layer in bundle.manifest.layers {
            let partial = "." + layer.name + ".partial"
            let fd: FileDescriptor
            do {
                try Sys.mkdirat(dirFD, partial, 0o700)
                fd = try Sys.openat(dirFD, partial, .directoryNoFollow)
            } catch {
                throw BundleError(
                    error.code,
                    error.code == .diskFull
                        ? "no space left on device while writing \(dir)" : "\(dir)/\(layer.name): \(error.reason)",
                    errno: error.errno)
            }
            do {
                try LayerExtractor.extract(bundle, layer: layer, into: fd)
                try Sys.fchmod(fd, 0o755, what: layer.name)
            } catch {
                try? TreeWalk.removeTree(dirFD, partial)
                throw BundleError(error.code, "\(dir)/\(layer.name): \(error.message)", errno: error.errno)
            }
            fd.close()
            do { try Sys.renameat(dirFD, partial, dirFD, layer.name) } catch {
                try? TreeWalk.removeTree(dirFD, partial)
                throw BundleError(error.code, "\(dir)/\(layer.name): \(error.reason)", errno: error.errno)
            }
            done(layer)
        }
    }
}
