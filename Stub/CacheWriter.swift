#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import BundleCrypto
import BundleRuntime

/// Publishes layers into the cache atomically.
///
/// A layer is extracted into `tmp/<digest16>.<pid>.<random>` on the cache's filesystem,
/// completed with its marker, synced (`syncfs`, one call for the whole tree), and only then
/// renamed to `layers/<digest>`. A reader therefore sees no layer or a complete one. When
/// another process published the same layer first, our copy is discarded and theirs used.
enum CacheWriter {
    static func install(_ layer: LayerRecord, from bundle: BundleFile, rootFD: Int32,
                        progress: ((UInt64) -> Void)? = nil) throws(RuntimeError) {
        let name = Hex.layerName(layer.digest)
        let tmpName = String(name.prefix(16)) + "." + String(getpid()) + "." + Hex.encode(Sys.randomBytes(6))
        let tmpDir: Int32, layersDir: Int32
        do {
            tmpDir = try Sys.openat(rootFD, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        } catch { throw RuntimeError(error) }
        defer { Sys.close(tmpDir) }
        do {
            layersDir = try Sys.openat(rootFD, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        } catch { throw RuntimeError(error) }
        defer { Sys.close(layersDir) }
        do { try Sys.mkdirat(tmpDir, tmpName, 0o700) } catch { throw RuntimeError(error) }

        var committed = false
        defer { if !committed { try? removeTree(tmpDir, tmpName) } }
        try fill(layer, from: bundle, tmpDir: tmpDir, tmpName: tmpName, markerText: name + "\n", progress: progress)
        committed = try publish(tmpDir: tmpDir, tmpName: tmpName, layersDir: layersDir, name: name)
    }

    /// Moves a damaged layer out of `layers/` (one atomic rename, so no launch sees it half
    /// deleted) and deletes it. A launch killed in between leaves it in `tmp/`, where
    /// `removeAbandoned` finds it.
    static func setAside(_ layer: LayerRecord, rootFD: Int32) throws(RuntimeError) {
        try setAside(digest: Hex.layerName(layer.digest), rootFD: rootFD, reason: "damaged")
    }

    /// Moves `layers/<digest>` into `tmp/` and deletes it there (repair, gc and clear all remove
    /// layers this way). A missing layer is not an error.
    static func setAside(digest name: String, rootFD: Int32, reason: String) throws(RuntimeError) {
        let trash = String(name.prefix(16)) + "." + String(getpid()) + "." + Hex.encode(Sys.randomBytes(6)) + "." + reason
        do {
            let tmpDir = try Sys.openat(rootFD, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            defer { Sys.close(tmpDir) }
            let layersDir = try Sys.openat(rootFD, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            defer { Sys.close(layersDir) }
            try Sys.renameat(layersDir, name, tmpDir, trash)
            try removeTree(tmpDir, trash)
        } catch where error.errno == ENOENT {
            // Another launch repaired or removed it first.
        } catch {
            throw RuntimeError(error)
        }
    }

    /// Deletes temporary extractions whose process is gone (`<digest16>.<pid>.<random>`):
    /// a launch killed mid-extraction leaves one; the next cold launch removes it.
    /// Never used as a layer, whatever they hold. Runs only on the cold path.
    static func removeAbandoned(rootFD: Int32) {
        guard let tmpDir = try? Sys.openat(rootFD, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else { return }
        defer { Sys.close(tmpDir) }
        var stale: [String] = []
        for name in (try? Sys.listDirectory(tmpDir)) ?? [] {
            let parts = name.split(separator: ".")
            guard parts.count >= 3, let pid = Int32(parts[1]), pid > 0 else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH { stale.append(name) }
        }
        for name in stale { try? removeTree(tmpDir, name) }
    }

    /// Extracts into the temporary directory, writes the marker, and syncs the filesystem.
    private static func fill(_ layer: LayerRecord, from bundle: BundleFile, tmpDir: Int32, tmpName: String, markerText: String,
                             progress: ((UInt64) -> Void)?) throws(RuntimeError) {
        let workFD: Int32
        do { workFD = try Sys.openat(tmpDir, tmpName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) } catch { throw RuntimeError(error) }
        defer { Sys.close(workFD) }
        try LayerExtractor.extract(bundle, layer: layer, into: workFD, progress: progress)
        do {
            let marker = try Sys.openat(workFD, PathRules.markerName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o400)
            defer { Sys.close(marker) }
            try withBytes(Array(markerText.utf8)) { (b) throws(SystemError) in try Sys.writeAll(marker, b, what: PathRules.markerName) }
            // Durability: everything written above reaches the disk before the layer is published.
            // (BENCH_NO_DURABILITY exists only for scripts/bench.sh, to measure what this costs;
            // no shipped stub is built with it.)
            #if !BENCH_NO_DURABILITY
            try Sys.syncfs(workFD)
            #endif
        } catch { throw RuntimeError(error) }
    }

    /// Renames the finished tree into place. Returns false when another process won the race
    /// with a complete copy (ours is then removed by the caller).
    private static func publish(tmpDir: Int32, tmpName: String, layersDir: Int32, name: String) throws(RuntimeError) -> Bool {
        if renameat(tmpDir, tmpName, layersDir, name) == 0 { return true }
        let e = errno
        guard e == ENOTEMPTY || e == EEXIST else { throw RuntimeError(SystemError("rename", name, errno: e)) }
        var st = stat()
        guard fstatat(layersDir, name + "/" + PathRules.markerName, &st, AT_SYMLINK_NOFOLLOW) == 0,
              st.st_mode & S_IFMT == S_IFREG else {
            throw RuntimeError("layer directory \(name) exists but is incomplete; remove it from the cache")
        }
        guard CacheRoot.isTrustedOwner(st), st.st_mode & 0o022 == 0 else {
            throw RuntimeError("layer directory \(name) in the cache is owned by uid \(st.st_uid) or writable by others; remove it")
        }
        return false
    }
}
