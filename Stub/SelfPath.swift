import BundleRuntime
import BundleFormat
import CPlatform

/// Our own bundle, opened as the file the kernel runs: `/proc/self/exe` where /proc is mounted (the
/// running inode, even when an older or other bundle was renamed over `exePath` between `execve` and
/// this open, so what is verified is what runs), else `exePath` (no /proc: argv[0] and PATH, below).
func openSelf(exePath: String, trust: Trust) -> BundleFile {
    do {
        return try BundleFile(opening: "/proc/self/exe", path: exePath, trust: trust)
    } catch where error.code == .system && (error.errno == CPLAT_ENOENT || error.errno == CPLAT_EACCES) {
        // No /proc (a chroot, a minimal container): the path is all there is.
    } catch {
        fail("\(exePath): \(error.message)")
    }
    do { return try BundleFile(path: exePath, trust: trust) } catch { fail("\(exePath): \(error.message)") }
}

/// The absolute path of the running executable: `/proc/self/exe` when /proc is mounted, else
/// argv[0] (made absolute against the working directory) when it contains a `/`, else the first
/// executable `argv[0]` in a `PATH` directory, as a shell found it. Without /proc (a chroot, an
/// early-boot or minimal container) the launcher still finds its own bundle this way.
func selfPath(argv0: String) -> String {
    if let p = Sys.readlink("/proc/self/exe"), p.hasPrefix("/"), !p.hasSuffix(" (deleted)") { return p }
    return selfPathWithoutProc(argv0: argv0)
}

func selfPathWithoutProc(argv0: String) -> String {
    guard !argv0.isEmpty else { fail("cannot find my own executable (no /proc/self/exe, and argv[0] is empty)") }
    if argv0.utf8.contains(UInt8(ascii: "/")) {
        if argv0.hasPrefix("/") { return argv0 }
        if let cwd = Sys.workingDirectory() { return (cwd == "/" ? "" : cwd) + "/" + argv0 }
        return argv0
    }
    for dir in (Sys.getenv("PATH") ?? "/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false) {
        let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + argv0
        if Sys.isExecutableFile(candidate) {
            return candidate.hasPrefix("/") ? candidate : selfPathWithoutProc(argv0: candidate)
        }
    }
    fail("cannot find my own executable (no /proc/self/exe, and '\(argv0)' is not on PATH)")
}
