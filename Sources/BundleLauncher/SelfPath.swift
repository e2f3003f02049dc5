import BundleRuntime
import BundleFormat
import BundleSystem

/// Our own bundle and the path that names it. Where /proc is mounted the file opened is
/// `/proc/self/exe`: the running inode, even when another bundle was renamed over our path between
/// `execve` and this open, so what is verified is what runs. The path (for messages, the bundle
/// record and `<APP>_BUNDLE_EXE`) is what the system reports for it, unless the file was replaced
/// since (" (deleted)"), then what argv[0] and PATH name. Without /proc (a chroot, a minimal
/// container, macOS) the path found that way is opened instead, as before.
public func openSelf(argv0: String, trust: Trust) -> (bundle: BundleFile, path: String) {
    #if DGMO_TARGET_OS_WINDOWS
        // Windows: the path GetModuleFileNameW reports. A running image cannot be overwritten or
        // deleted there (only renamed), so that path names what runs unless it was renamed since,
        // in which case the file found is another one and its own signature still decides.
        // /proc/self/exe must not be tried: under wine it is the Linux file of wine's loader.
        guard let path = Sys.selfPath() else { fail("cannot find my own executable (GetModuleFileNameW failed)") }
        do { return (try BundleFile(path: path, trust: trust), path) } catch { fail("\(path): \(error.message)") }
    #else
        return openSelfPOSIX(argv0: argv0, trust: trust)
    #endif
}

func openSelfPOSIX(argv0: String, trust: Trust) -> (bundle: BundleFile, path: String) {
    let reported = Sys.selfPath()
    let live = reported.flatMap { $0.hasBytePrefix("/") && !$0.hasByteSuffix(" (deleted)") ? $0 : nil }
    let found = live ?? findSelfWithoutProc(argv0: argv0)  // the PATH search runs only without /proc
    let shown = found ?? reported ?? "/proc/self/exe"
    do {
        return (try BundleFile(opening: "/proc/self/exe", path: shown, trust: trust), shown)
    } catch  where error.code == .system {
        // /proc/self/exe cannot be opened (no /proc, or a sandbox refuses it): open the path.
    } catch {
        fail("\(shown): \(error.message)")
    }
    let path = found ?? selfPathWithoutProc(argv0: argv0)  // (nil: fails with the line that says why)
    do { return (try BundleFile(path: path, trust: trust), path) } catch { fail("\(path): \(error.message)") }
}

/// argv[0] (made absolute against the working directory) when it contains a `/`, else the first
/// executable `argv[0]` in a `PATH` directory, as a shell found it; fails with one line when neither
/// names a file. Without /proc the launcher still finds its own bundle this way.
func selfPathWithoutProc(argv0: String) -> String {
    guard !argv0.isEmpty else { fail("cannot find my own executable (no /proc/self/exe, and argv[0] is empty)") }
    guard let path = findSelfWithoutProc(argv0: argv0) else {
        fail("cannot find my own executable (no /proc/self/exe, and '\(argv0)' is not on PATH)")
    }
    return path
}

/// What `selfPathWithoutProc` finds, or nil.
func findSelfWithoutProc(argv0: String) -> String? {
    guard !argv0.isEmpty else { return nil }
    if argv0.utf8.contains(UInt8(ascii: "/")) {
        if argv0.hasBytePrefix("/") { return argv0 }
        if let cwd = Sys.workingDirectory() { return (cwd.bytesEqual("/") ? "" : cwd) + "/" + argv0 }
        return argv0
    }
    for dir in (Sys.getenv("PATH") ?? "/usr/bin:/bin").splitBytes(at: UInt8(ascii: ":"), omittingEmpty: false) {
        let candidate = (dir.isEmpty ? "." : dir) + "/" + argv0
        if Sys.isExecutableFile(candidate) {
            return candidate.hasBytePrefix("/") ? candidate : findSelfWithoutProc(argv0: candidate)
        }
    }
    return nil
}
