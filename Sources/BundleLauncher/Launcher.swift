import BundleFormat
import BundleCrypto
import BundleRuntime
import BundleCache
import CKeySlot
import BundleSystem

/// What a launch decides: the key it trusts, the entry it runs, the layers that entry needs in the
/// cache, and the command and environment the runtime is given. `Stub/main.swift` calls these in
/// order and ends with `Handoff.run`; the decisions themselves are here, where the tests reach them.
public enum Launcher {
    /// The key this stub copy was given by bundle-append; an unpatched stub runs nothing.
    public static func trustFromKeySlot() -> Trust {
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
            do { return .key(try PublicKey(slotBytes: keyBytes)) } catch {
                fail("launcher key slot is damaged: \(error.message)")
            }
        }
    }

    /// `$<APP>_ENTRY`, else the entry named like the program (a symlink `dgm -> dgmo` runs `dgm`),
    /// else the default entry; fails with one line when none applies.
    public static func selectEntry(_ manifest: Manifest) -> EntryRecord {
        let variable = manifest.environmentPrefix + "_ENTRY"
        do { return try chooseEntry(manifest, requested: Sys.getenv(variable), invokedAs: programName) } catch {
            fail(error.message)
        }
    }

    /// The entry choice itself: `requested` is `$<APP>_ENTRY` (nil or empty: not set), `invokedAs`
    /// the program's name as typed.
    static func chooseEntry(_ manifest: Manifest, requested: String?, invokedAs: String) throws(BundleError)
        -> EntryRecord
    {
        let variable = manifest.environmentPrefix + "_ENTRY"
        let names = manifest.entries.map { $0.name }.joined(separator: ", ")
        if let wanted = requested, !wanted.isEmpty {
            guard let e = manifest.entry(named: wanted) else {
                throw BundleError(.usage, "\(variable)=\(wanted) names no entry of this bundle (entries: \(names))")
            }
            return e
        }
        if let e = manifest.entry(named: invokedAs) { return e }
        if let e = manifest.defaultEntry { return e }
        throw BundleError(
            .usage,
            "no entry is named '\(invokedAs)' and the bundle has no default entry (entries: \(names); set \(variable))")
    }

    /// Finds each layer the entry needs — in the user's cache, else in the read-only system
    /// cache — and extracts into the user's cache what neither holds. Returns layer index → path.
    ///
    /// Warm path, all by descriptor (BundleCache): the checked root, a shared lock on the layer,
    /// the layer directory and its marker, and one `fstatat` of the entry's program when it lives
    /// in a layer, so a layer whose files a cleaner deleted is noticed and extracted again instead
    /// of failing obscurely at `execve` (docs/format.md, "What the launcher does"). A damaged
    /// layer is extracted again at most once; a program still absent after that is an error.
    public static func ensureLayers(
        for entry: EntryRecord, bundle: BundleFile, location: CacheLocation, root existing: CacheRoot?,
        exePath: String, locks: HeldLocks
    ) -> (paths: [Int: String], cache: CacheRoot?) {
        let manifest = bundle.manifest
        var paths: [Int: String] = [:]
        var root = existing
        var extracted = false
        // The opened root's path when there is one: `rootPath()` walks the whole path again,
        // which the warm path (that never shows the notice) must not pay for.
        let notice = FirstRunNotice(manifest: manifest, cachePath: existing?.path ?? location.rootPath())
        defer { notice.finish() }
        for index in entry.layers {
            let layer = manifest.layers[index]
            let name = layer.cacheName
            var damaged = false
            var lock = CacheRoot.SharedLock.unavailable
            do {
                if let root {
                    lock = try root.holdShared(name, into: locks)
                    if lock != .unavailable {
                        switch try root.layer(name) {
                        case .complete(let fd):
                            if programIsPresent(entry, layerIndex: index, layerFD: fd, manifest: manifest) {
                                paths[index] = root.layerPath(name)
                                continue
                            }
                            // Deleted since (a tmp cleaner), or never in the layer? Only the first is
                            // mended by extracting the layer again.
                            requireProgramInTable(entry, layerIndex: index, bundle: bundle)
                            // A read-only cache cannot be repaired: look in the system cache instead.
                            damaged = lock == .held
                        case .damaged:
                            damaged = lock == .held
                        case .absent:
                            break
                        }
                    }
                }
            } catch { fail(error.message) }
            if !damaged, let fd = SystemCache.layer(cacheName: manifest.cacheName, digestName: name) {
                if programIsPresent(entry, layerIndex: index, layerFD: fd, manifest: manifest) {
                    paths[index] = SystemCache.layerPath(cacheName: manifest.cacheName, digestName: name)
                    continue
                }
                requireProgramInTable(entry, layerIndex: index, bundle: bundle)
            }
            let cache: CacheRoot
            do throws(BundleError) {
                if let root {
                    cache = root
                } else {
                    // A noexec refusal before anything is made leaves no empty directory behind.
                    try location.checkExecAllowedBeforeCreating()
                    guard let opened = try location.open(create: true) else {
                        fail("cannot create the cache directory \(location.rootPath())")
                    }
                    cache = opened
                    root = opened
                    if opened.created, location.source == .temporary, Sys.isTerminal(.error) {
                        notice.finish()
                        writeOut(
                            .error,
                            TerminalText.escaped(
                                "\(programName): \(location.fallbackReason ?? "there is no usable home directory"), so the cache is in \(opened.path); set \(location.variableName) to choose another directory"
                            ) + "\n")
                    }
                }
                if !extracted {
                    do throws(BundleError) { try cache.checkExecAllowed() } catch {
                        cache.removeWhatThisRunMade(lockNames: entry.layers.map { manifest.layers[$0].cacheName })
                        throw error
                    }
                    cache.removeAbandoned()
                    extracted = true
                }
                if lock != .held { lock = try cache.holdShared(name, into: locks) }
                if damaged { try cache.setAside(name, reason: "damaged") }
            } catch { fail(error.message) }
            let fd: FileDescriptor
            do { fd = try cache.install(layer, from: bundle, progress: notice.layer(layer)) } catch {
                notice.finish()
                // .diskFull: ENOSPC or EDQUOT from a write, or the free-space check (whose own
                // message already says it all and starts with "no space").
                fail(
                    error.code == .diskFull && !error.message.hasBytePrefix("no space")
                        ? "no space left on device while extracting layer '\(layer.name)' into \(cache.path) (free some space or set \(location.variableName))"
                        : error.code == .diskFull
                            ? error.message
                            : "cannot extract layer '\(layer.name)' into \(cache.path): \(error.message)"
                                + (error.errno == Errno.EROFS || error.errno == Errno.EACCES
                                    || error.errno == Errno.EPERM
                                    ? " (set \(location.variableName) to a directory you can write to)"
                                    : error.errno == Errno.EFBIG
                                        ? " (a file of the layer is larger than your file-size limit, `ulimit -f`)"
                                        : ""))
            }
            let present = programIsPresent(entry, layerIndex: index, layerFD: fd, manifest: manifest)
            fd.close()
            guard present else {
                requireProgramInTable(entry, layerIndex: index, bundle: bundle)
                fail(
                    "entry '\(entry.name)': its program is not in layer '\(layer.name)' even after extracting it: the bundle is broken"
                )
            }
            paths[index] = cache.layerPath(name)
        }
        if let root {
            if extracted {
                root.writeBundleRecord(bundle, exePath: exePath)
            } else {
                root.touchBundle(bundle, exePath: exePath)
            }
        }
        return (paths, root)
    }

    /// The program is the first argv item that starts with `{layer}`: the executable itself
    /// (`{native}/hello`) or, for an interpreter, its script (`/bin/sh {scripts}/run.sh`), which may
    /// also be a directory (`python3 {app}`) or the layer itself. True unless it is in this layer and
    /// missing, or no longer ours (owned by another user, or made group- or world-writable: someone
    /// could have changed it). One `fstatat` from the layer's descriptor.
    static func programIsPresent(
        _ entry: EntryRecord, layerIndex: Int, layerFD: borrowing FileDescriptor, manifest: Manifest
    ) -> Bool {
        guard let program = program(entry, layerIndex: layerIndex, manifest: manifest) else { return true }
        return CacheRoot.programIsPresent(
            layerFD: layerFD, relative: program.relative, directoryCounts: program.argvIndex > 0)
    }

    /// The entry's program in this layer: its path relative to the layer (`./bin/x`, `.` for the
    /// layer itself) and its place in argv; nil when the entry names none there.
    static func program(_ entry: EntryRecord, layerIndex: Int, manifest: Manifest) -> (
        relative: String, argvIndex: Int
    )? {
        let name = manifest.layers[layerIndex].name
        for (i, item) in entry.argv.enumerated() {
            guard let pieces = try? Placeholders.parse(item), case .placeholder(let first)? = pieces.first,
                first.bytesEqual(name)
            else { continue }
            guard let relative = try? Placeholders.substitute(item, { $0.bytesEqual(name) ? "." : "" }) else {
                return nil
            }
            return (relative, i)
        }
        return nil
    }

    /// Refuses (status 125) an entry whose program the layer's signed file table does not hold: a
    /// signed bundle that `bundle-append build` would have refused. Asked only when the program is
    /// missing on disk, so the layer is not extracted again at every launch for nothing (a layer
    /// whose program a cleaner deleted is in the table, and is extracted again).
    static func requireProgramInTable(_ entry: EntryRecord, layerIndex: Int, bundle: BundleFile) {
        let layer = bundle.manifest.layers[layerIndex]
        guard let program = program(entry, layerIndex: layerIndex, manifest: bundle.manifest) else { return }
        let found: LayerPathResolution.Result
        do { found = try bundle.tableLookup(Array(program.relative.utf8), in: layer) } catch { fail(error.message) }
        switch found {
        case .regularFile: return
        case .directory where program.argvIndex > 0: return
        case .directory, .missing, .tooManyLinks:
            let shown = program.relative.droppingBytePrefix("./") ?? program.relative
            fail(
                "entry '\(entry.name)': its program \(shown) is not in layer '\(layer.name)' (the bundle's file table has no such file): the bundle is broken"
            )
        }
    }

    /// What the runtime is started with: the program, its argv and its environment, as C strings
    /// that live until the hand-off (never freed: on POSIX the process is replaced).
    public struct Invocation {
        public let program: String
        public let argv: [UnsafeMutablePointer<CChar>?]
        public let env: [UnsafeMutablePointer<CChar>?]
    }

    /// The entry's command with its placeholders resolved, then the user's arguments exactly as
    /// received; the environment as received, less the entry choice and the variables the launch
    /// sets (`RuntimeEnvironment`), plus those. Fails with one line on a placeholder that names no
    /// layer of the entry.
    public static func invocation(
        _ entry: EntryRecord, layerPaths: [Int: String], bundle: BundleFile, cachePath: String, exePath: String,
        userArguments: UnsafeBufferPointer<UnsafeMutablePointer<CChar>?>
    ) -> Invocation {
        let manifest = bundle.manifest
        let resolve: (String) -> String? = { name in
            guard let i = manifest.layer(named: name) else { return nil }
            return layerPaths[i]
        }
        func substitute(_ template: String) -> String {
            do {
                guard let s = try Placeholders.substitute(template, resolve) else {
                    fail("entry '\(entry.name)': unknown placeholder in '\(template)'")
                }
                return s
            } catch { fail("entry '\(entry.name)': malformed placeholder in '\(template)'") }
        }
        let program = substitute(entry.argv[0])
        // The entry's own items, then the user's arguments exactly as received.
        var cArgv: [UnsafeMutablePointer<CChar>?] =
            [cString(program)] + entry.argv.dropFirst().map { cString(substitute($0)) }
        cArgv += userArguments
        cArgv.append(nil)

        let environment = RuntimeEnvironment(
            manifest: manifest, entry: entry, exePath: exePath, cachePath: cachePath,
            entryVariables: entry.env.map { ($0.key, substitute($0.value)) })
        var cEnv: [UnsafeMutablePointer<CChar>?] = []
        for item in Sys.environment() where environment.keeps(item) { cEnv.append(item) }
        cEnv += environment.assignments.map { cString($0) }
        cEnv.append(nil)
        return Invocation(program: program, argv: cArgv, env: cEnv)
    }

    /// A C copy of `s` that lives until `execve` (never freed: the process is replaced).
    static func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
        let bytes = Array(s.utf8)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
        p[bytes.count] = 0
        return p
    }
}

/// The environment a launch gives the runtime: the entry's variables, then the four
/// `<APP>_BUNDLE_*` variables (docs/format.md); `<APP>_ENTRY` and every variable set here are taken
/// out of what was received, and everything else passes through as the very bytes received.
struct RuntimeEnvironment {
    /// `NAME=value`, in the order they are added.
    let assignments: [String]
    /// `NAME=` of every variable removed from what was received.
    let removed: [[UInt8]]

    init(
        manifest: Manifest, entry: EntryRecord, exePath: String, cachePath: String,
        entryVariables: [(String, String)]
    ) {
        let prefix = manifest.environmentPrefix
        let overrides =
            entryVariables + [
                (prefix + "_BUNDLE_EXE", exePath),
                (prefix + "_BUNDLE_VERSION", manifest.appVersion),
                (prefix + "_BUNDLE_ENTRY", entry.name),
                (prefix + "_BUNDLE_CACHE", cachePath),
            ]
        assignments = overrides.map { "\($0.0)=\($0.1)" }
        // The entry choice is for this launch only; a runtime that starts the bundle again
        // gets the default behaviour unless it sets the variable itself.
        removed = ([prefix + "_ENTRY"] + overrides.map { $0.0 }).map { Array(($0 + "=").utf8) }
    }

    /// Whether the received `NAME=value` C string passes through.
    func keeps(_ item: UnsafePointer<CChar>) -> Bool {
        !removed.contains { prefix in
            for (i, b) in prefix.enumerated() where UInt8(bitPattern: item[i]) != b { return false }
            return true
        }
    }
}
