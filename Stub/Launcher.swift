#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import BundleCrypto
import BundleRuntime
import CKeySlot
import CLinux

enum Launcher {
    /// The key this stub copy was given by bundle-append; an unpatched stub runs nothing.
    static func trustFromKeySlot() -> Trust {
        let raw = UnsafeRawBufferPointer(start: UnsafeRawPointer(ckeyslot_bytes()), count: KeySlot.size)
        // Copy through volatile storage once, then parse plain bytes.
        let bytes = Array(raw)
        let slot: KeySlot
        do { slot = try KeySlot(decoding: bytes) } catch { fail("launcher key slot is damaged: \(error.message)") }
        switch slot {
        case .empty:
            fail("this launcher holds no public key: it must be turned into a bundle by bundle-append")
        case .unsigned:
            return .unsignedOnly
        case .pinned(let keyBytes):
            do { return .key(try PublicKey(slotBytes: keyBytes)) } catch { fail("launcher key slot is damaged: \(error.message)") }
        }
    }

    /// `$<APP>_ENTRY`, else the entry named like the program (a symlink `dgm -> dgmo` runs `dgm`),
    /// else the default entry.
    static func selectEntry(_ manifest: Manifest) -> EntryRecord {
        let variable = Names.environmentPrefix(manifest.appName) + "_ENTRY"
        if let wanted = Sys.getenv(variable), !wanted.isEmpty {
            guard let e = manifest.entry(named: wanted) else {
                fail("\(variable)=\(wanted) names no entry of this bundle (entries: \(manifest.entries.map(\.name).joined(separator: ", ")))")
            }
            return e
        }
        if let e = manifest.entry(named: programName) { return e }
        if let e = manifest.defaultEntry { return e }
        fail("no entry is named '\(programName)' and the bundle has no default entry (entries: \(manifest.entries.map(\.name).joined(separator: ", ")); set \(variable))")
    }

    /// Finds each layer the entry needs — in the user's cache, else in the read-only system
    /// cache — and extracts into the user's cache what neither holds. Returns layer index → path.
    ///
    /// Warm path: one `stat` of each layer's marker, plus one of the entry's program when it lives
    /// in a layer, so a layer whose files a cleaner deleted is noticed and extracted again instead
    /// of failing obscurely at `execve` (docs/format.md, "What the launcher does").
    static func ensureLayers(for entry: EntryRecord, bundle: BundleFile, cache: CacheRoot, exePath: String) -> [Int: String] {
        let manifest = bundle.manifest
        var paths: [Int: String] = [:]
        var rootFD: Int32 = -1
        defer { if rootFD >= 0 { Sys.close(rootFD) } }
        let notice = FirstRunNotice(manifest: manifest, cachePath: cache.path)
        defer { notice.finish() }
        for index in entry.layers {
            let layer = manifest.layers[index]
            var damaged = false
            let lock = cache.holdShared(layer)
            if lock != .unavailable, cache.isExtracted(layer) {
                if programIsPresent(entry, layerIndex: index, layerPath: cache.layerPath(layer), manifest: manifest) {
                    paths[index] = cache.layerPath(layer)
                    continue
                }
                // A read-only cache cannot be repaired: look in the system cache instead.
                damaged = lock == .held
            }
            if !damaged, let system = cache.systemLayerPath(layer),
               programIsPresent(entry, layerIndex: index, layerPath: system, manifest: manifest) {
                paths[index] = system
                continue
            }
            do {
                if rootFD < 0 {
                    rootFD = try cache.create()
                    cache.checkExecAllowed()
                    CacheWriter.removeAbandoned(rootFD: rootFD)
                }
                if lock != .held { cache.holdShared(layer) }
                if damaged { try CacheWriter.setAside(layer, rootFD: rootFD) }
                try CacheWriter.install(layer, from: bundle, rootFD: rootFD, progress: notice.layer(layer))
            } catch {
                notice.finish()
                fail(error.errno == ENOSPC
                     ? "no space left on device while extracting layer '\(layer.name)' into \(cache.path) (free some space or set \(cache.variableName))"
                     : "cannot extract layer '\(layer.name)' into \(cache.path): \(error.message)")
            }
            paths[index] = cache.layerPath(layer)
        }
        if rootFD >= 0 { cache.writeBundleRecord(bundle, exePath: exePath) } else { cache.touchBundle(bundle, exePath: exePath) }
        return paths
    }

    /// True unless the entry's program is inside this layer and missing from it, or no longer
    /// ours (owned by another user, or made group- or world-writable: someone could have changed
    /// it). The program is the first argv item that starts with `{layer}`: the executable itself
    /// (`{native}/hello`) or, for an interpreter, its script (`/bin/sh {scripts}/run.sh`). The
    /// same `stat` answers both, so the warm path pays nothing more.
    static func programIsPresent(_ entry: EntryRecord, layerIndex: Int, layerPath: String, manifest: Manifest) -> Bool {
        let name = manifest.layers[layerIndex].name
        for item in entry.argv {
            guard let pieces = try? Placeholders.parse(item), case .placeholder(name)? = pieces.first else { continue }
            guard let program = try? Placeholders.substitute(item, { $0 == name ? layerPath : "" }) else { return true }
            var st = stat()
            return stat(program, &st) == 0 && CacheRoot.isTrustedOwner(st) && st.st_mode & 0o022 == 0
        }
        return true
    }

    /// Replaces this process with the entry: same PID, so exit status and signals are the runtime's own.
    static func exec(_ entry: EntryRecord, layerPaths: [Int: String], bundle: BundleFile, cache: CacheRoot, exePath: String,
                     userArguments: UnsafeBufferPointer<UnsafeMutablePointer<CChar>?>) -> Never {
        let manifest = bundle.manifest
        let resolve: (String) -> String? = { name in
            guard let i = manifest.layer(named: name) else { return nil }
            return layerPaths[i]
        }
        func substitute(_ template: String) -> String {
            do {
                guard let s = try Placeholders.substitute(template, resolve) else { fail("entry '\(entry.name)': unknown placeholder in '\(template)'") }
                return s
            } catch { fail("entry '\(entry.name)': malformed placeholder in '\(template)'") }
        }
        let program = substitute(entry.argv[0])
        // The entry's own items, then the user's arguments exactly as received.
        var cArgv: [UnsafeMutablePointer<CChar>?] = [strdup(program)] + entry.argv.dropFirst().map { strdup(substitute($0)) }
        cArgv += userArguments
        cArgv.append(nil)

        let prefix = Names.environmentPrefix(manifest.appName)
        var overrides: [(String, String)] = entry.env.map { ($0.key, substitute($0.value)) }
        overrides += [
            (prefix + "_BUNDLE_EXE", exePath),
            (prefix + "_BUNDLE_VERSION", manifest.appVersion),
            (prefix + "_BUNDLE_ENTRY", entry.name),
            (prefix + "_BUNDLE_CACHE", cache.path),
        ]
        // The entry choice is for this launch only; a runtime that starts the bundle again
        // gets the default behaviour unless it sets the variable itself. Other variables pass
        // through as the very bytes we received.
        let removed = ([prefix + "_ENTRY"] + overrides.map(\.0)).map { Array(($0 + "=").utf8CString.dropLast()) }
        var cEnv: [UnsafeMutablePointer<CChar>?] = []
        var p = environ
        while let item = p.pointee {
            if !removed.contains(where: { key in key.withUnsafeBufferPointer { strncmp(item, $0.baseAddress!, key.count) == 0 } }) {
                cEnv.append(item)
            }
            p += 1
        }
        cEnv += overrides.map { strdup("\($0.0)=\($0.1)") }
        cEnv.append(nil)

        if program.contains("/") {
            execve(program, cArgv, cEnv)
        } else {
            clinux_execvpe(program, cArgv, cEnv)
        }
        let e = errno
        fail("cannot run \(program) (entry '\(entry.name)'): \(String(cString: strerror(e)))")
    }
}
