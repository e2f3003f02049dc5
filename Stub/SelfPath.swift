#if canImport(Glibc)
import Glibc
#endif
import BundleRuntime

/// The absolute path of the running executable: `/proc/self/exe`, else argv[0]
/// (made absolute against the working directory), else a `PATH` search for argv[0].
func selfPath(argv0: String) -> String {
    if let p = Sys.readlink("/proc/self/exe"), p.hasPrefix("/"), !p.hasSuffix(" (deleted)") { return p }
    if argv0.contains("/") {
        if argv0.hasPrefix("/") { return argv0 }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if getcwd(&buf, buf.count) != nil {
            let cwd = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            return String(decoding: cwd, as: UTF8.self) + "/" + argv0
        }
        return argv0
    }
    for dir in (Sys.getenv("PATH") ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = String(dir) + "/" + argv0
        if access(candidate, X_OK) == 0 { return candidate.hasPrefix("/") ? candidate : selfPath(argv0: "./" + candidate) }
    }
    fail("cannot find my own executable (no /proc/self/exe, and '\(argv0)' is not on PATH)")
}
