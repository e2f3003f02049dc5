import BundleCache
import BundleFormat
import BundleLauncher
import BundleRuntime
import BundleSystem

// The launcher: find our own file, verify the appended bundle against the pinned key,
// make sure the chosen entry's layers are in the cache, and hand off to the entry. What each step
// decides is in BundleLauncher (tested there); this file is the order of the steps and the hand-off.
// Embedded Swift, no Foundation: start-up time and size matter on every launch. See docs/format.md.

/// The C entry point (Embedded Swift has no `CommandLine`; scripts/build-stub.sh compiles with
/// `-parse-as-library`). argv is read through the raw pointers: the user's arguments are handed
/// to execve as the very bytes we received (no UTF-8 round trip), and none is converted unless needed.
@_cdecl("main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    launch(argc: Int(argc), argv: argv)
}

#if DGMO_TARGET_OS_WINDOWS
    /// argv[0]'s last component (after `\\` or `/`) without a final `.exe` in any case: a copy
    /// `greet.exe` of the bundle runs its entry `greet`, as a symlink `greet` does on Linux.
    func windowsProgramName(_ argv0: String) -> String {
        var b = Array(argv0.utf8)
        if let cut = b.lastIndex(where: { $0 == 0x2F || $0 == 0x5C }) { b.removeSubrange(...cut) }
        if b.count > 4, b[b.count - 4] == 0x2E, b[b.count - 3] | 0x20 == 0x65, b[b.count - 2] | 0x20 == 0x78,
            b[b.count - 1] | 0x20 == 0x65
        {
            b.removeLast(4)
        }
        return String(decoding: b, as: UTF8.self)
    }
#endif

/// The whole launch.
func launch(argc: Int, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Never {
    let argv0 = argc > 0 ? String(cString: argv[0]!) : "launcher"
    #if DGMO_TARGET_OS_WINDOWS
        programName = TerminalText.escaped(windowsProgramName(argv0))
    #else
        programName = TerminalText.escaped(argv0.splitBytes(at: UInt8(ascii: "/")).last ?? argv0)
    #endif

    // Past the user's file-size limit a write fails (EFBIG, one line, status 125) instead of killing us;
    // Handoff.run puts the signal back before the runtime starts.
    Sys.ignoreFileSizeSignal()
    let trust = Launcher.trustFromKeySlot()
    let (bundle, exePath) = openSelf(argv0: argv0, trust: trust)
    requireRunningTarget(bundle.manifest, file: exePath)
    let location: CacheLocation
    do { location = try CacheLocation.resolve(bundle.manifest) } catch { fail(error.message) }
    if let warning = location.warning { warn(warning) }

    if argc > 1, String(cString: argv[1]!).bytesEqual("--launcher") {
        Sys.exit(
            Ops.run((2..<argc).map { String(cString: argv[$0]!) }, bundle: bundle, location: location, trust: trust))
    }

    // The cache root, opened and checked by descriptor before anything in it is trusted.
    let root: CacheRoot?
    do { root = try location.open(create: false) } catch { fail(error.message) }
    let entry = Launcher.selectEntry(bundle.manifest)
    let locks = HeldLocks()
    let (layerPaths, cache) = Launcher.ensureLayers(
        for: entry, bundle: bundle, location: location, root: root, exePath: exePath, locks: locks)
    // Once a day at most, with this launch's layers locked: layers no bundle used for 30 days go.
    Launcher.collectIfDue(cache, bundle: bundle)
    let run = Launcher.invocation(
        entry, layerPaths: layerPaths, bundle: bundle, cachePath: cache?.path ?? location.rootPath(), exePath: exePath,
        userArguments: UnsafeBufferPointer(start: argv + 1, count: max(argc - 1, 0)))
    Handoff.run(run.program, argv: run.argv, env: run.env, locks: locks) { failure in
        fail("cannot run \(run.program) (entry '\(entry.name)'): \(failure.reason)")
    }
}
