#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import BundleCrypto
import BundleRuntime

/// `--launcher cache list | verify | gc | clear`, and `--launcher extract DIR`.
enum CacheOps {
    struct LayerEntry {
        var digest: String
        var size: UInt64
        var lastUse: Int
        var bundles: [BundleRecord]
        var inUse: Bool
    }

    static func openRoot(_ cache: CacheRoot) -> Int32? {
        let fd = open(cache.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }

    static func records(_ cache: CacheRoot) -> [BundleRecord] {
        guard let fd = try? Sys.open(cache.bundlesPath, O_RDONLY | O_DIRECTORY) else { return [] }
        defer { Sys.close(fd) }
        return ((try? Sys.listDirectory(fd)) ?? []).filter { !$0.containsBytes(".tmp.") }.compactMap { BundleRecord.read(cache.bundlesPath, $0) }
    }

    static func layers(_ cache: CacheRoot, records: [BundleRecord]) -> [LayerEntry] {
        guard let fd = try? Sys.open(cache.path + "/layers", O_RDONLY | O_DIRECTORY) else { return [] }
        defer { Sys.close(fd) }
        return ((try? Sys.listDirectory(fd)) ?? []).sorted().map { d in
            let users = records.filter { $0.layers.contains(d) }
            var st = stat()
            let markerTime = lstat(cache.path + "/layers/" + d + "/" + PathRules.markerName, &st) == 0 ? Int(st.st_mtim.tv_sec) : 0
            var inUse = false
            // No lock file: nothing ever held this layer's lock since it was extracted by us.
            if access(cache.locksPath + "/" + d, F_OK) == 0 {
                if let lock = cache.lockExclusive(d, create: false) { close(lock) } else { inUse = true }
            }
            return LayerEntry(digest: d, size: diskUsage(fd, d), lastUse: users.map(\.lastUse).max() ?? markerTime, bundles: users, inUse: inUse)
        }
    }

    // MARK: list

    static func list(_ cache: CacheRoot, json: Bool) -> Int32 {
        let recs = records(cache).sorted { ($0.app, $0.lastUse) < ($1.app, $1.lastUse) }
        let ls = layers(cache, records: recs)
        if json {
            var o = "{\"cache\":\(jsonString(cache.path)),\"bundles\":["
            o += recs.map { r in
                "{\"digest\":\"\(r.digest)\",\"app\":\(jsonString(r.app)),\"version\":\(jsonString(r.version)),\"binary\":\(jsonString(r.binary)),\"lastUse\":\(r.lastUse),\"layers\":[\(r.layers.map { "\"\($0)\"" }.joined(separator: ","))]}"
            }.joined(separator: ",")
            o += "],\"layers\":["
            o += ls.map { l in
                "{\"digest\":\"\(l.digest)\",\"size\":\(l.size),\"lastUse\":\(l.lastUse),\"inUse\":\(l.inUse),\"bundles\":[\(l.bundles.map { "\"\($0.digest)\"" }.joined(separator: ","))]}"
            }.joined(separator: ",")
            writeOut(1, o + "]}\n")
            return 0
        }
        var out = "cache: \(cache.path)\n\nbundles:\n"
        var rows = [["APP", "VERSION", "LAST USE", "DIGEST", "BINARY"]]
        for r in recs { rows.append([r.app, r.version, formatTime(UInt64(r.lastUse)), String(r.digest.prefix(16)), r.binary]) }
        out += recs.isEmpty ? "  (none)\n" : table(rows)
        out += "\nlayers:\n"
        var lrows = [["DIGEST", "SIZE", "LAST USE", "IN USE", "USED BY"]]
        for l in ls {
            lrows.append([String(l.digest.prefix(16)), formatSize(l.size), formatTime(UInt64(l.lastUse)), l.inUse ? "yes" : "no",
                          l.bundles.map { "\($0.app) \($0.version)" }.joined(separator: ", ")])
        }
        out += ls.isEmpty ? "  (none)\n" : table(lrows)
        out += "\ntotal: \(formatSize(ls.reduce(0) { $0 + $1.size })) in \(ls.count) layer(s)\n"
        writeOut(1, out)
        return 0
    }

    // MARK: verify

    /// Re-hashes every extracted file of this bundle's layers against the signed manifest.
    static func verify(_ bundle: BundleFile, cache: CacheRoot, repair: Bool, json: Bool) -> Int32 {
        var damagedLayers: [(LayerRecord, [String])] = []
        var checked = 0
        for layer in bundle.manifest.layers where cache.isExtracted(layer) {
            checked += 1
            let problems = check(layer, bundle: bundle, at: cache.layerPath(layer))
            if !problems.isEmpty { damagedLayers.append((layer, problems)) }
        }
        var repaired: [String] = []
        if repair, !damagedLayers.isEmpty {
            guard let rootFD = try? cache.create() else { fail("cannot open cache \(cache.path) to repair it") }
            defer { Sys.close(rootFD) }
            for (layer, _) in damagedLayers {
                guard let lock = cache.lockExclusive(Hex.layerName(layer.digest)) else {
                    writeOut(2, "\(programName): layer '\(layer.name)' is in use by a running process; not repaired\n")
                    continue
                }
                defer { close(lock) }
                do {
                    try CacheWriter.setAside(layer, rootFD: rootFD)
                    try CacheWriter.install(layer, from: bundle, rootFD: rootFD)
                    repaired.append(layer.name)
                } catch { writeOut(2, "\(programName): cannot repair layer '\(layer.name)': \(error.message)\n") }
            }
        }
        let remaining = damagedLayers.filter { !repaired.contains($0.0.name) }
        if json {
            let items = damagedLayers.map { l, p in
                "{\"layer\":\(jsonString(l.name)),\"digest\":\"\(Hex.layerName(l.digest))\",\"problems\":[\(p.map(jsonString).joined(separator: ","))],\"repaired\":\(repaired.contains(l.name))}"
            }
            writeOut(1, "{\"checked\":\(checked),\"damaged\":[\(items.joined(separator: ","))],\"ok\":\(remaining.isEmpty)}\n")
        } else {
            var out = "checked \(checked) extracted layer(s) of \(bundle.manifest.appName) \(bundle.manifest.appVersion) in \(cache.path)\n"
            for (l, problems) in damagedLayers {
                out += "layer '\(l.name)' (\(String(Hex.layerName(l.digest).prefix(16)))): \(problems.count) problem(s)\(repaired.contains(l.name) ? ", repaired" : "")\n"
                for p in problems.prefix(50) { out += "  \(p)\n" }
                if problems.count > 50 { out += "  ... and \(problems.count - 50) more\n" }
            }
            out += remaining.isEmpty ? "OK\n" : "DAMAGED: run '\(programName) --launcher cache verify --repair'\n"
            writeOut(1, out)
        }
        return remaining.isEmpty ? 0 : 1
    }

    /// Missing, modified and unexpected files of one extracted layer.
    static func check(_ layer: LayerRecord, bundle: BundleFile, at path: String) -> [String] {
        guard let table = try? bundle.fileTable(of: layer),
              let records = try? FileTable.decode(table, layer: layer) else {
            return ["cannot read the layer's file table from the binary"]
        }
        var problems: [String] = []
        var expected = Set<String>()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        for f in records {
            let rel = f.pathString
            expected.insert(rel)
            let full = path + "/" + rel
            var st = stat()
            guard lstat(full, &st) == 0 else { problems.append("missing: \(rel)"); continue }
            switch f.kind {
            case .directory:
                if st.st_mode & S_IFMT != S_IFDIR { problems.append("modified (not a directory): \(rel)") }
            case .symlink:
                if st.st_mode & S_IFMT != S_IFLNK || Sys.readlink(full) != String(decoding: f.linkTarget, as: UTF8.self) {
                    problems.append("modified (link): \(rel)")
                }
            case .regular:
                guard st.st_mode & S_IFMT == S_IFREG, UInt64(st.st_size) == f.size else { problems.append("modified (size or type): \(rel)"); continue }
                let fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { problems.append("unreadable: \(rel)"); continue }
                let h = Blake2b()
                var ok = true
                while true {
                    let n = read(fd, buffer.baseAddress, buffer.count)
                    if n > 0 { h.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) } else { ok = n == 0; break }
                }
                close(fd)
                if !ok || h.finalize() != f.digest { problems.append("modified (content): \(rel)") }
                if mode_t(f.mode) & LayerExtractor.modeMask != st.st_mode & 0o7777 { problems.append("modified (mode): \(rel)") }
            }
        }
        // Unexpected files: walk the tree.
        func walk(_ rel: String) {
            let dir = rel.isEmpty ? path : path + "/" + rel
            guard let fd = try? Sys.open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else { return }
            defer { Sys.close(fd) }
            for name in (try? Sys.listDirectory(fd)) ?? [] {
                let child = rel.isEmpty ? name : rel + "/" + name
                if rel.isEmpty && name == PathRules.markerName { continue }
                if !expected.contains(child) { problems.append("unexpected: \(child)"); continue }
                var st = stat()
                if lstat(path + "/" + child, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { walk(child) }
            }
        }
        walk("")
        return problems
    }

    // MARK: gc and clear

    /// Parses `30d`, `12h`, `45m`, `90s`, `2w` into seconds.
    static func parseDuration(_ s: String) -> Int? {
        guard let unit = s.last, let n = Int(s.dropLast()), n >= 0 else { return nil }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86400
        case "w": return n * 7 * 86400
        default: return nil
        }
    }

    /// Removes layers no recently used bundle needs, never one a running process holds.
    static func gc(_ cache: CacheRoot, olderThan: Int, keep: Int, dryRun: Bool, json: Bool) -> Int32 {
        let now = Int(time(nil))
        let recs = records(cache)
        // A bundle is kept if used recently, or among the `keep` most recently used of its app.
        var keptBundles = Set<String>()
        for app in Set(recs.map(\.app)) {
            let mine = recs.filter { $0.app == app }.sorted { $0.lastUse > $1.lastUse }
            for (i, r) in mine.enumerated() where now - r.lastUse < olderThan || i < keep { keptBundles.insert(r.digest) }
        }
        let needed = Set(recs.filter { keptBundles.contains($0.digest) }.flatMap(\.layers))
        // A layer no kept bundle needs goes once its last use (its bundles' newest use, or for a
        // layer no bundle record names, its extraction time) is older than --older-than.
        let candidates = layers(cache, records: recs).filter { !needed.contains($0.digest) && now - $0.lastUse >= olderThan }
        let (freed, removed, busy) = remove(candidates.map(\.digest), cache: cache, dryRun: dryRun)
        // Forget bundles whose layers are all gone.
        if !dryRun {
            let remaining = Set(layers(cache, records: []).map(\.digest))
            for r in recs where !keptBundles.contains(r.digest) && r.layers.allSatisfy({ !remaining.contains($0) }) {
                unlink(cache.bundlesPath + "/" + r.digest)
            }
            if let fd = openRoot(cache) { CacheWriter.removeAbandoned(rootFD: fd); close(fd) }
        }
        report("gc", freed: freed, removed: removed, busy: busy, dryRun: dryRun, json: json)
        return 0
    }

    static func clear(_ bundle: BundleFile, cache: CacheRoot, all: Bool, json: Bool) -> Int32 {
        let digests: [String]
        if all {
            digests = layers(cache, records: []).map(\.digest)
        } else {
            digests = bundle.manifest.layers.map { Hex.layerName($0.digest) }
        }
        let (freed, removed, busy) = remove(digests, cache: cache, dryRun: false)
        if all {
            for r in records(cache) { unlink(cache.bundlesPath + "/" + r.digest) }
            if let fd = openRoot(cache) { CacheWriter.removeAbandoned(rootFD: fd); close(fd) }
        } else if busy.isEmpty {
            unlink(cache.bundlesPath + "/" + Hex.encode(bundle.digest))
        }
        report("clear", freed: freed, removed: removed, busy: busy, dryRun: false, json: json)
        return busy.isEmpty ? 0 : 1
    }

    /// Removes the given layers that exist and that no process holds. Returns bytes freed,
    /// removed digests, and digests skipped because they are in use.
    static func remove(_ digests: [String], cache: CacheRoot, dryRun: Bool) -> (UInt64, [String], [String]) {
        guard let root = openRoot(cache), let layersFD = try? Sys.openat(root, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else {
            return (0, [], [])
        }
        defer { Sys.close(layersFD); close(root) }
        var freed: UInt64 = 0
        var removed: [String] = []
        var busy: [String] = []
        for d in digests {
            guard (try? Sys.lstatat(layersFD, d)) != nil else { continue }
            guard let lock = cache.lockExclusive(d) else { busy.append(d); continue }
            defer { close(lock) }
            let size = diskUsage(layersFD, d)
            if !dryRun {
                guard (try? CacheWriter.setAside(digest: d, rootFD: root, reason: "gc")) != nil else { continue }
                // Still holding it exclusively: a launch that opened this file meanwhile sees it
                // unlinked once it gets its shared lock, and locks a fresh one (holdShared).
                unlink(cache.locksPath + "/" + d)
            }
            freed += size
            removed.append(d)
        }
        return (freed, removed, busy)
    }

    static func report(_ what: String, freed: UInt64, removed: [String], busy: [String], dryRun: Bool, json: Bool) {
        if json {
            writeOut(1, "{\"freed\":\(freed),\"removed\":[\(removed.map { "\"\($0)\"" }.joined(separator: ","))],\"inUse\":[\(busy.map { "\"\($0)\"" }.joined(separator: ","))],\"dryRun\":\(dryRun)}\n")
            return
        }
        var out = "\(what): \(dryRun ? "would remove" : "removed") \(removed.count) layer(s), \(dryRun ? "would free" : "freed") \(formatSize(freed))\n"
        for d in busy { out += "  kept \(String(d.prefix(16))): in use by a running process\n" }
        writeOut(1, out)
    }

    // MARK: extract

    static func extract(_ bundle: BundleFile, to dir: String) -> Int32 {
        if mkdir(dir, 0o755) != 0 {
            let e = errno
            guard e == EEXIST, let fd = try? Sys.open(dir, O_RDONLY | O_DIRECTORY), ((try? Sys.listDirectory(fd)) ?? ["x"]).isEmpty else {
                fail("\(dir) exists and is not an empty directory")
            }
            Sys.close(fd)
        }
        guard let dirFD = try? Sys.open(dir, O_RDONLY | O_DIRECTORY) else { fail("cannot open \(dir)") }
        defer { Sys.close(dirFD) }
        for layer in bundle.manifest.layers {
            do {
                try Sys.mkdirat(dirFD, layer.name, 0o755)
                let fd = try Sys.openat(dirFD, layer.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
                defer { Sys.close(fd) }
                do { try LayerExtractor.extract(bundle, layer: layer, into: fd) } catch { fail("\(dir)/\(layer.name): \(error.message)") }
            } catch {
                fail(error.errno == ENOSPC ? "no space left on device while writing \(dir)" : "\(dir)/\(layer.name): \(error.reason)")
            }
            writeOut(1, "\(dir)/\(layer.name): \(layer.fileCount) files, \(formatSize(layer.uncompressedSize))\n")
        }
        return 0
    }
}
