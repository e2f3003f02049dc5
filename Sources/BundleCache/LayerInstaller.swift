import BundleFormat
import BundleCrypto
import BundleRuntime
import BundleSystem

/// Publishes layers into the cache atomically, and removes them.
///
/// A layer is extracted into `tmp/<digest16>.<pid>.<random>` on the cache's filesystem,
/// completed with its marker, flushed to the disk (`flushToDisk`), and only then renamed to
/// `layers/<digest>`. A reader therefore sees no layer or a complete one. When
/// another process published the same layer first, our copy is discarded and theirs used.
///
/// The directory we made is identified by device and inode from the moment it is created;
/// after the rename, `layers/<digest>` is opened and must be that very directory, ours and not
/// writable by others. So nothing renamed in by someone else can stand in for what we built.
extension CacheRoot {
    /// Extracts and publishes one layer; returns a descriptor of the published directory.
    /// `progress` sees the bytes written so far (for a first-run notice).
    public func install(_ layer: LayerRecord, from bundle: BundleFile, progress: ((UInt64) -> Void)? = nil)
        throws(BundleError) -> FileDescriptor
    {
        let name = layer.cacheName
        let tmpDir = try requireDirectory(.tmp)
        let layersDir = try requireDirectory(.layers)
        try checkFreeSpace(bytes: layer.uncompressedSize, files: UInt64(layer.fileCount), layerName: layer.name)
        let tmpName = CacheRoot.temporaryName(name, suffix: nil)
        try Sys.mkdirat(tmpDir.fd, Array(tmpName.utf8), 0o700)

        var committed = false
        defer { if !committed { try? TreeWalk.removeTree(tmpDir.fd, tmpName) } }
        let workFD = try Sys.openat(tmpDir.fd, tmpName, .directoryNoFollow)
        let made = try Sys.fstat(workFD)
        guard Ownership.isOurs(made), !Ownership.othersCanWrite(made) else {
            throw BundleError(
                .unsafeCache,
                "temporary directory \(path)/tmp/\(tmpName) is not the one we made: refusing to extract into it")
        }
        try fill(layer, from: bundle, workFD: workFD, markerText: name + "\n", progress: progress)

        if try Sys.publishDirectory(tmpDir.fd, Array(tmpName.utf8), to: layersDir.fd, as: Array(name.utf8))
            == .nameTaken
        {
            // Another launch published the same layer first: use theirs if it is complete and ours.
            switch try self.layer(name) {
            case .complete(let fd): return fd
            case .absent: break
            case .damaged: break
            }
            throw BundleError(
                .damagedCache,
                "layer directory \(path)/layers/\(name) exists but is incomplete; remove it from the cache")
        }
        committed = true
        // The rename is an entry in `layers/`: flushed too, so a published layer survives a power cut
        // (the tree itself was flushed before the rename). Best effort: the layer is published and
        // complete either way; were the entry lost, the next launch would extract it again.
        #if !BENCH_NO_DURABILITY
            try? Sys.flush(layersDir.fd, what: "layers")
        #endif
        return try openPublished(layersDir.fd, name, expected: made)
    }

    /// Opens what we just renamed into `layers/` and checks it is the directory we made.
    private func openPublished(_ layersDir: borrowing FileDescriptor, _ name: String, expected: FileStatus)
        throws(BundleError) -> FileDescriptor
    {
        let fd: FileDescriptor
        do { fd = try Sys.openat(layersDir, name, .directoryNoFollow) } catch {
            throw BundleError(
                .damagedCache, "layer directory \(path)/layers/\(name) vanished after publishing: \(error.reason)",
                errno: error.errno)
        }
        guard let st = try? Sys.fstat(fd), st.device == expected.device, st.inode == expected.inode,
            Ownership.isOurs(st), !Ownership.othersCanWrite(st),
            (try? CacheRoot.markerIsGood(fd, digestName: name, root: path)) == true
        else {
            throw BundleError(
                .unsafeCache,
                "layer directory \(path)/layers/\(name) is not the one this launch extracted: refusing to run it")
        }
        return fd
    }

    /// Extracts into the temporary directory, writes the marker, and flushes what was written.
    private func fill(
        _ layer: LayerRecord, from bundle: BundleFile, workFD: borrowing FileDescriptor, markerText: String,
        progress: ((UInt64) -> Void)?
    ) throws(BundleError) {
        try LayerExtractor.extract(bundle, layer: layer, into: workFD, progress: progress)
        do {
            let marker = try Sys.openat(
                workFD, PathRules.markerName, .writeOnly | .create | .exclusive | .noFollow, 0o400)
            try withBytes(Array(markerText.utf8)) { (b) throws(BundleError) in
                try Sys.writeAll(marker, b, what: PathRules.markerName)
            }
            // Durability: everything written above reaches the disk before the layer is published.
            // (BENCH_NO_DURABILITY and BENCH_SYNCFS exist only for scripts/bench.sh, to measure
            // what this costs and compare it with the `syncfs` used before; no shipped stub is
            // built with them.)
            #if !BENCH_NO_DURABILITY
                try flushToDisk(layer, from: bundle, workFD: workFD, marker: marker)
            #endif
        }
    }

    /// Layers with at most this many entries are flushed file by file; larger ones with `syncfs`.
    /// Each `fsync` costs a device cache flush even when the journal has nothing left to commit:
    /// 0.4-0.9 ms on the 2-core VM of docs/benchmarks.md, so 2,400 of them (a 2,115-file layer)
    /// took 0.9-2.1 s where one `syncfs` took 10 ms on a quiet disk. But `syncfs` also waits for
    /// every other process's dirty data on the filesystem (+0.9 s, median, for DGMO's one-file Bun
    /// layer while `dd` wrote 2 GB, against +0.36 s with `fsync`). DGMO's layers have 1 to 65 entries.
    public static let perFileFlushLimit = 128

    /// Makes the extracted tree durable before it is published: `fsync` of every file and
    /// directory we wrote (`LayerExtractor.flush`) for a layer of up to `perFileFlushLimit`
    /// entries, else `syncfs` of the cache's filesystem.
    private func flushToDisk(
        _ layer: LayerRecord, from bundle: BundleFile, workFD: borrowing FileDescriptor,
        marker: borrowing FileDescriptor
    ) throws(BundleError) {
        #if BENCH_SYNCFS
            let perFile = false
        #elseif DGMO_TARGET_OS_WINDOWS
            // Windows has no syncfs for an ordinary user (flushing a volume needs administrator
            // rights): every file and directory is flushed, whatever their number.
            let perFile = true
        #else
            let perFile = layer.fileCount <= CacheRoot.perFileFlushLimit
        #endif
        if perFile {
            try Sys.flush(marker, what: PathRules.markerName)
            try LayerExtractor.flush(bundle, layer: layer, root: workFD)
        } else {
            try Sys.flushFileSystem(workFD)
        }
    }

    /// `<digest16>.<pid>.<random>[.<suffix>]`: the pid lets `removeAbandoned` tell a live
    /// extraction from one whose process died.
    static func temporaryName(_ digestName: String, suffix: String?) -> String {
        digestName.prefixScalars(16) + "." + String(Sys.processID()) + "." + Hex.encode(Sys.randomBytes(6))
            + (suffix.map { "." + $0 } ?? "")
    }

    /// Moves `layers/<digest>` into `tmp/` (one atomic rename, so no launch sees it half
    /// deleted) and deletes it there. Repair, gc and clear all remove layers this way; a launch
    /// killed in between leaves it in `tmp/`, where `removeAbandoned` finds it. A missing layer
    /// is not an error. Without `deleting` the tree is left in `tmp/` (the automatic collection
    /// deletes it away from the launch: `deleteSetAside`).
    public func setAside(_ digestName: String, reason: String, deleting: Bool = true) throws(BundleError) {
        let trash = CacheRoot.temporaryName(digestName, suffix: reason)
        let tmpDir = try requireDirectory(.tmp)
        guard let layersDir = try directory(.layers, create: false) else { return }
        do {
            try Sys.renameat(layersDir.fd, Array(digestName.utf8), tmpDir.fd, Array(trash.utf8))
            if deleting { try TreeWalk.removeTree(tmpDir.fd, trash) }
        } catch  where error.errno == Errno.ENOENT {
            // Another launch repaired or removed it first.
        }
    }

    /// Deletes temporary extractions whose process is gone (`<digest16>.<pid>.<random>`):
    /// a launch killed mid-extraction leaves one; the next cold launch removes it.
    /// Never used as a layer, whatever they hold. Runs only on the cold path and in gc/clear.
    public func removeAbandoned() {
        guard let tmpDir = try? directory(.tmp, create: false) else { return }
        for name in (try? Sys.listDirectoryBytes(tmpDir.fd)) ?? [] {
            let parts = name.split(separator: 0x2E)
            guard parts.count >= 3, let pid = Int32(Sys.displayName(Array(parts[1]))), pid > 0 else { continue }
            #if DGMO_TARGET_OS_WINDOWS
                // Windows reuses a pid at once (under wine the relaunch after a killed launch got its
                // pid), so "a process with that pid is alive" can be another process: one that started
                // after the directory was last changed did not make it.
                // Only extractions (three parts): a set-aside layer (`.<reason>`, four) keeps the old
                // mtime of the layer renamed into tmp/, and its owner removes it at once anyway.
                var abandoned = !Sys.isProcessAlive(pid)
                if !abandoned, parts.count == 3, let started = Sys.processStartNanoseconds(pid),
                    let st = try? Sys.fstatat(tmpDir.fd, name, follow: false)
                {
                    abandoned = started > st.modifiedSeconds &* 1_000_000_000 &+ st.modifiedNanoseconds
                }
            #else
                let abandoned = !Sys.isProcessAlive(pid)
            #endif
            if abandoned { try? TreeWalk.removeTree(tmpDir.fd, name) }
        }
    }
}
