import BundleFormat
import BundleCrypto
import BundleRuntime
import BundleSystem

/// What `cache list | verify | gc | clear` decide; the launcher only prints the results.
extension CacheRoot {
    public struct LayerEntry: Sendable {
        public var digest: String
        public var size: UInt64
        /// Seconds since 1970: the newest use of a bundle needing it, else the marker's mtime.
        public var lastUse: Int64
        public var bundles: [BundleRecord]
        public var inUse: Bool
    }

    /// Every layer directory with its size, last use, users and in-use state. Without `measure`
    /// every size is 0: the automatic collection at a launch needs none, and walking every tree
    /// to sum its files is most of what a gc costs.
    public func layerEntries(records: [BundleRecord], measure: Bool = true) -> [LayerEntry] {
        guard let layersFD = try? directory(.layers, create: false) else { return [] }
        let locks = try? directory(.locks, create: false)
        let names = ((try? Sys.listDirectoryBytes(layersFD.fd)) ?? []).map(Sys.displayName).sortedByBytes()
        return names.map { d in
            let users = records.filter { $0.layers.containsBytes(d) }
            var markerTime: Int64 = 0
            if let fd = try? Sys.openat(layersFD.fd, d, .directoryNoFollow),
                let st = try? Sys.fstatat(fd, Array(PathRules.markerName.utf8), follow: false)
            {
                markerTime = Int64(st.modifiedSeconds)
            }
            var inUse = false
            // No lock file: nothing ever held this layer's lock since it was extracted by us.
            if let locks, (try? Sys.fstatat(locks.fd, Array(d.utf8), follow: false)) != nil {
                inUse = lockExclusive(d, create: false) == nil
            }
            return LayerEntry(
                digest: d, size: measure ? TreeWalk.diskUsage(layersFD.fd, d) : 0,
                lastUse: users.map { $0.lastUse }.max() ?? markerTime,
                bundles: users, inUse: inUse)
        }
    }

    /// Missing, modified and unexpected files of one extracted layer, compared with the signed
    /// file table by descriptor (any depth, any path length) and by bytes: two names that are
    /// canonically equal Swift Strings but different bytes are different files.
    public static func problems(in layerFD: borrowing FileDescriptor, layer: LayerRecord, bundle: BundleFile)
        -> [String]
    {
        // Streamed (bounded memory, like extraction): only the set of expected names is kept.
        var records = bundle.fileTableStream(of: layer)
        var problems: [String] = []
        var expected = Set<[UInt8]>()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let rootCopy: FileDescriptor
        do { rootCopy = try Sys.duplicate(layerFD) } catch {
            return ["cannot read the layer directory: \(error.message)"]
        }
        var dirs = DirectoryStack(root: rootCopy)
        while true {
            let next: FileRecord?
            do { next = try records.next() } catch {
                return ["cannot read the layer's file table from the binary: \(error.message)"]
            }
            guard let f = next else { break }
            let rel = TerminalText.escaped(f.pathString)
            expected.insert(f.path)
            let slash = f.path.lastIndex(of: 0x2F)
            let parentPath = slash.map { Array(f.path[..<$0]) } ?? []
            let name = slash.map { Array(f.path[($0 + 1)...]) } ?? f.path
            // One entry's problem, judged with its directory lent (nil: none).
            let problem: String?
            do {
                problem = try dirs.withDirectory(parentPath) { (parent) throws(BundleError) -> String? in
                    guard let st = try Sys.fstatat(parent, name, follow: false) else { return "missing: \(rel)" }
                    switch f.kind {
                    case .directory:
                        return st.type != .directory ? "modified (not a directory): \(rel)" : nil
                    case .symlink:
                        return st.type != .symlink || (try? Sys.readlinkat(parent, name)) != f.linkTarget
                            ? "modified (link): \(rel)" : nil
                    case .regular:
                        guard st.type == .regular, UInt64(st.size) == f.size else {
                            return "modified (size or type): \(rel)"
                        }
                        guard let fd = try? Sys.openat(parent, name, .readOnly | .noFollow | .nonBlocking) else {
                            return "unreadable: \(rel)"
                        }
                        let h = Blake2b()
                        var ok = true
                        while true {
                            guard let n = try? Sys.read(fd, buffer, what: rel) else { ok = false; break }
                            if n == 0 { break }
                            h.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                        }
                        if !ok || h.finalize() != f.digest { return "modified (content): \(rel)" }
                        #if DGMO_TARGET_OS_WINDOWS
                            // Windows keeps the write bits of a mode: the owner's as the read-only
                            // attribute, group and others' as write rights in the DACL.
                            let modeChanged =
                                (LayerExtractor.extractedMode(f.mode, directory: false) ^ st.mode) & 0o222 != 0
                        #else
                            let modeChanged = LayerExtractor.extractedMode(f.mode, directory: false) != st.mode & 0o7777
                        #endif
                        if modeChanged { return "modified (mode): \(rel)" }
                        return nil
                    }
                }
            } catch {
                problem = "missing: \(rel)"  // its directory cannot be opened
            }
            if let problem { problems.append(problem) }
        }
        dirs.closeAll()
        // Unexpected files: walk the tree.
        let marker = Array(PathRules.markerName.utf8)
        do {
            try TreeWalk.walk(
                layerFD,
                visit: { (e, _) throws(BundleError) -> Bool in
                    if e.path == marker { return false }
                    guard expected.contains(e.path) else {
                        problems.append("unexpected: \(TerminalText.escaped(Sys.displayName(e.path)))")
                        return false
                    }
                    return e.stat.type == .directory
                })
        } catch {
            problems.append("cannot read the extracted tree: \(error.description)")
        }
        return problems
    }

    /// Removes the given layers that exist and that no process holds. Returns bytes freed,
    /// removed digests, digests skipped because they are in use, and one line for each layer
    /// that could not be removed (a read-only cache, a tree we cannot delete): those are
    /// reported, never counted as removed nor silently skipped.
    /// With `deferring`, a removed layer is only renamed into `tmp/` (`<name16>.<pid>.<random>.auto`),
    /// for `deleteSetAside` to delete.
    public func remove(_ digests: [String], dryRun: Bool, measure: Bool = true, deferring: Bool = false) -> (
        freed: UInt64, removed: [String], busy: [String], failed: [String]
    ) {
        guard let layersFD = try? directory(.layers, create: false) else { return (0, [], [], []) }
        var freed: UInt64 = 0
        var removed: [String] = []
        var busy: [String] = []
        var failed: [String] = []
        for d in digests {
            guard (try? Sys.fstatat(layersFD.fd, Array(d.utf8), follow: false)) != nil else { continue }
            guard let lock = lockExclusive(d) else {
                // No lock file can be made in a read-only cache: nothing there can be removed either.
                if isWritable {
                    busy.append(d)
                } else {
                    failed.append("cannot remove layer \(path)/layers/\(d): the cache is read-only")
                }
                continue
            }
            let size = measure ? TreeWalk.diskUsage(layersFD.fd, d) : 0
            if !dryRun {
                do { try setAside(d, reason: deferring ? "auto" : "gc", deleting: !deferring) } catch {
                    failed.append(
                        "cannot remove layer \(path)/layers/\(d): "
                            + (error.errno == Errno.EROFS ? "the cache is read-only" : error.message))
                    continue
                }
                // Still holding it exclusively: a launch that opened this file meanwhile sees it
                // unlinked once it gets its shared lock, and locks a fresh one (holdShared).
                removeLockFile(d)
            }
            // Released only now: nothing could take the layer while it was measured and set aside.
            lock.close()
            freed += size
            removed.append(d)
        }
        return (freed, removed, busy, failed)
    }

    /// gc's choice: layers no recently used bundle needs, whose last use is older than `olderThan`.
    /// Returns the candidates and the bundles kept (each digest once). Names are compared as bytes,
    /// by linear scans (ByteText.swift): a cache holds few bundles and layers.
    public func gcCandidates(
        now: Int64, olderThan: Int64, keep: Int, records recs: [BundleRecord], measure: Bool = true
    ) -> (candidates: [String], kept: [String]) {
        var apps: [String] = []
        for r in recs where !apps.containsBytes(r.app) { apps.append(r.app) }
        var keptBundles: [String] = []
        for app in apps {
            let mine = recs.filter { $0.app.bytesEqual(app) }.sorted { $0.lastUse > $1.lastUse }
            for (i, r) in mine.enumerated()
            where (Durations.age(now: now, since: r.lastUse) < olderThan || i < keep)
                && !keptBundles.containsBytes(r.digest)
            {
                keptBundles.append(r.digest)
            }
        }
        let needed = recs.filter { keptBundles.containsBytes($0.digest) }.flatMap { $0.layers }
        let candidates = layerEntries(records: recs, measure: measure).filter {
            !needed.containsBytes($0.digest) && Durations.age(now: now, since: $0.lastUse) >= olderThan
        }
        return (candidates.map { $0.digest }, keptBundles)
    }

    /// A whole gc: `cache gc` and the automatic collection at a launch (AutomaticCollection.swift).
    /// Removes the candidates no process holds, never one of `sparing` (the launching bundle's
    /// layers); unless `dryRun`, then forgets bundle records whose layers are all gone and deletes
    /// abandoned temporary directories.
    public func collect(
        now: Int64, olderThan: Int64, keep: Int, dryRun: Bool, measure: Bool = true, sparing: [String] = [],
        deferring: Bool = false
    ) -> (freed: UInt64, removed: [String], busy: [String], failed: [String]) {
        let recs = records()
        let (found, keptBundles) = gcCandidates(
            now: now, olderThan: olderThan, keep: keep, records: recs, measure: measure)
        let result = remove(
            found.filter { !sparing.containsBytes($0) }, dryRun: dryRun, measure: measure, deferring: deferring)
        if !dryRun {
            let remaining = layerEntries(records: [], measure: false).map { $0.digest }
            for r in recs
            where !keptBundles.containsBytes(r.digest) && r.layers.allSatisfy({ !remaining.containsBytes($0) }) {
                removeRecord(r.digest)
            }
            removeAbandoned()
        }
        return result
    }
}

/// Durations and times that never trap: whatever a file's mtime or a user's option says.
public enum Durations {
    /// Parses `30d`, `12h`, `45m`, `90s`, `2w` into seconds; a value too large to count in
    /// seconds is clamped to `Int64.max` ("older than anything"). nil for what is not a duration.
    public static func parse(_ s: String) -> Int64? {
        guard let unit = s.utf8.last, let n = Int64(String(decoding: s.utf8.dropLast(), as: UTF8.self)), n >= 0
        else { return nil }
        let scale: Int64
        switch unit {
        case UInt8(ascii: "s"): scale = 1
        case UInt8(ascii: "m"): scale = 60
        case UInt8(ascii: "h"): scale = 3600
        case UInt8(ascii: "d"): scale = 86400
        case UInt8(ascii: "w"): scale = 7 * 86400
        default: return nil
        }
        let (v, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? Int64.max : v
    }

    /// `now - since`, saturating instead of trapping (mtimes before 1970 or far in the future).
    public static func age(now: Int64, since: Int64) -> Int64 {
        let (v, overflow) = now.subtractingReportingOverflow(since)
        return overflow ? (since < 0 ? Int64.max : Int64.min) : v
    }
}
