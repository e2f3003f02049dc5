import BundleFormat
import BundleCrypto
import BundleRuntime
import BundleCache
import BundleSystem

/// The text of `--launcher cache list | verify | gc | clear`, and `--launcher extract DIR`.
/// What to remove, what is damaged and what is in use is decided in BundleCache.
enum CacheOps {
    // MARK: list

    static func list(_ cache: CacheRoot?, path: String, json: Bool) -> Int32 {
        let recs = (cache?.records() ?? []).sorted {
            $0.app.bytesEqual($1.app) ? $0.lastUse < $1.lastUse : $0.app.bytesPrecede($1.app)
        }
        let ls = cache?.layerEntries(records: recs) ?? []
        if json {
            var o = "{\"cache\":\(jsonString(path)),\"bundles\":["
            o += recs.map { r in
                "{\"digest\":\(jsonString(r.digest)),\"app\":\(jsonString(r.app)),\"version\":\(jsonString(r.version)),\"binary\":\(jsonString(r.binary)),\"lastUse\":\(r.lastUse),\"layers\":[\(r.layers.map(jsonString).joined(separator: ","))]}"
            }.joined(separator: ",")
            o += "],\"layers\":["
            o += ls.map { l in
                "{\"digest\":\(jsonString(l.digest)),\"size\":\(l.size),\"lastUse\":\(l.lastUse),\"inUse\":\(l.inUse),\"bundles\":[\(l.bundles.map { jsonString($0.digest) }.joined(separator: ","))]}"
            }.joined(separator: ",")
            writeOut(.output, o + "]}\n")
            return 0
        }
        var out = "cache: \(TerminalText.escaped(path))\n\nbundles:\n"
        var rows = [["APP", "VERSION", "LAST USE", "DIGEST", "BINARY"]]
        // Records and directory names are text from the cache, not from us: every cell is
        // escaped (a binary path can hold ESC or a newline), so one record is one row.
        for r in recs {
            rows.append(
                [r.app, r.version, formatTime(r.lastUse), r.digest.prefixScalars(16), r.binary].map(
                    TerminalText.escaped))
        }
        out += recs.isEmpty ? "  (none)\n" : table(rows)
        out += "\nlayers:\n"
        var lrows = [["DIGEST", "SIZE", "LAST USE", "IN USE", "USED BY"]]
        for l in ls {
            lrows.append(
                [
                    l.digest.prefixScalars(16), formatSize(l.size), formatTime(l.lastUse), l.inUse ? "yes" : "no",
                    l.bundles.map { "\($0.app) \($0.version)" }.joined(separator: ", "),
                ].map(TerminalText.escaped))
        }
        out += ls.isEmpty ? "  (none)\n" : table(lrows)
        out += "\ntotal: \(formatSize(ls.reduce(0) { $0 + $1.size })) in \(ls.count) layer(s)\n"
        writeOut(.output, out)
        return 0
    }

    // MARK: verify

    /// Re-hashes every extracted file of this bundle's layers against the signed manifest.
    static func verify(_ bundle: BundleFile, root: CacheRoot?, location: CacheLocation, repair: Bool, json: Bool)
        -> Int32
    {
        var damagedLayers: [(LayerRecord, [String])] = []
        var checked = 0
        for layer in bundle.manifest.layers {
            guard let root, let state = try? root.layer(layer.cacheName), case .complete(let fd) = consume state else {
                continue
            }
            checked += 1
            let problems = CacheRoot.problems(in: fd, layer: layer, bundle: bundle)
            fd.close()
            if !problems.isEmpty { damagedLayers.append((layer, problems)) }
        }
        var repaired: [String] = []
        if repair, let root, !damagedLayers.isEmpty {
            for (layer, _) in damagedLayers {
                let name = layer.cacheName
                guard let lock = root.lockExclusive(name) else {
                    writeOut(
                        .error, "\(programName): layer '\(layer.name)' is in use by a running process; not repaired\n")
                    continue
                }
                // Held exclusively while the layer is set aside and extracted again.
                do {
                    try root.setAside(name, reason: "damaged")
                    try root.install(layer, from: bundle).close()
                    repaired.append(layer.name)
                } catch { writeOut(.error, "\(programName): cannot repair layer '\(layer.name)': \(error.message)\n") }
                lock.close()
            }
        }
        let remaining = damagedLayers.filter { !repaired.containsBytes($0.0.name) }
        let path = root?.path ?? location.rootPath()
        if json {
            let items = damagedLayers.map { l, p in
                "{\"layer\":\(jsonString(l.name)),\"digest\":\"\(Hex.encode(l.digest))\",\"cacheName\":\"\(l.cacheName)\",\"problems\":[\(p.map(jsonString).joined(separator: ","))],\"repaired\":\(repaired.containsBytes(l.name))}"
            }
            writeOut(
                .output,
                "{\"checked\":\(checked),\"damaged\":[\(items.joined(separator: ","))],\"ok\":\(remaining.isEmpty)}\n")
        } else {
            var out =
                "checked \(checked) extracted layer(s) of \(bundle.manifest.appName) \(bundle.manifest.appVersion) in \(TerminalText.escaped(path))\n"
            for (l, problems) in damagedLayers {
                out +=
                    "layer '\(l.name)' (\(l.cacheName.prefixScalars(16))): \(problems.count) problem(s)\(repaired.containsBytes(l.name) ? ", repaired" : "")\n"
                for p in problems.prefix(50) { out += "  \(p)\n" }
                if problems.count > 50 { out += "  ... and \(problems.count - 50) more\n" }
            }
            out += remaining.isEmpty ? "OK\n" : "DAMAGED: run '\(programName) --launcher cache verify --repair'\n"
            writeOut(.output, out)
        }
        return remaining.isEmpty ? 0 : 1
    }

    // MARK: gc and clear

    /// Removes layers no recently used bundle needs, never one a running process holds.
    static func gc(_ cache: CacheRoot?, olderThan: Int64, keep: Int, dryRun: Bool, json: Bool) -> Int32 {
        guard let cache else {
            report("gc", freed: 0, removed: [], busy: [], failed: [], dryRun: dryRun, json: json)
            return 0
        }
        let (freed, removed, busy, failed) = cache.collect(
            now: Sys.now(), olderThan: olderThan, keep: keep, dryRun: dryRun)
        report("gc", freed: freed, removed: removed, busy: busy, failed: failed, dryRun: dryRun, json: json)
        return failed.isEmpty ? 0 : 1
    }

    static func clear(_ bundle: BundleFile, root cache: CacheRoot?, all: Bool, json: Bool) -> Int32 {
        guard let cache else {
            report("clear", freed: 0, removed: [], busy: [], failed: [], dryRun: false, json: json)
            return 0
        }
        let digests: [String]
        if all {
            digests = cache.layerEntries(records: []).map { $0.digest }
        } else {
            digests = bundle.manifest.layers.map { $0.cacheName }
        }
        let (freed, removed, busy, failed) = cache.remove(digests, dryRun: false)
        if all {
            for r in cache.records() { cache.removeRecord(r.digest) }
            cache.removeAbandoned()
        } else if busy.isEmpty && failed.isEmpty {
            cache.removeRecord(Hex.encode(bundle.digest))
        }
        report("clear", freed: freed, removed: removed, busy: busy, failed: failed, dryRun: false, json: json)
        return busy.isEmpty && failed.isEmpty ? 0 : 1
    }

    /// Layers that could not be removed are one line each on stderr (and `failed` in JSON).
    static func report(
        _ what: String, freed: UInt64, removed: [String], busy: [String], failed: [String], dryRun: Bool, json: Bool
    ) {
        for f in failed { writeOut(.error, TerminalText.escaped("\(programName): \(f)") + "\n") }
        if json {
            writeOut(
                .output,
                "{\"freed\":\(freed),\"removed\":[\(removed.map(jsonString).joined(separator: ","))],\"inUse\":[\(busy.map(jsonString).joined(separator: ","))],\"failed\":[\(failed.map(jsonString).joined(separator: ","))],\"dryRun\":\(dryRun)}\n"
            )
            return
        }
        var out =
            "\(what): \(dryRun ? "would remove" : "removed") \(removed.count) layer(s), \(dryRun ? "would free" : "freed") \(formatSize(freed))\n"
        for d in busy { out += "  kept \(TerminalText.escaped(d.prefixScalars(16))): in use by a running process\n" }
        writeOut(.output, out)
    }

    // MARK: extract

    /// `--launcher extract DIR`: `DirectoryExtraction` (shared with `bundle-append extract`), one
    /// line per layer.
    static func extract(_ bundle: BundleFile, to dir: String) -> Int32 {
        do {
            try DirectoryExtraction.extractAll(bundle, to: dir) { layer in
                writeOut(
                    .output, "\(dir)/\(layer.name): \(layer.fileCount) files, \(formatSize(layer.uncompressedSize))\n")
            }
        } catch { fail(error.message) }
        return 0
    }
}
