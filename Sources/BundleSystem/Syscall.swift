/// Every call of the platform layer that can fail, by the name of the C call it makes.
///
/// The one EINTR helper (`Sys.call`) and failure injection are keyed by these cases, so a test
/// names a call the compiler knows (a typo does not compile, where a string would inject
/// nothing), and `allCases` lets a test inject into every one. `close` is not here: it is never
/// retried and its failure is never acted on (the descriptor is gone either way).
public enum Syscall: UInt8, CaseIterable, Sendable {
    case open, openat, read, pread, write
    case fstat, fstatat, fstatvfs
    case mkdirat, renameat, unlinkat, symlinkat, readlinkat, fchmod, utimensat, faccessat
    case fsync, syncfs, syncFileRange, flock
    case mmap, dup, fdopendir, readdir, getcwd
    case kill, getrandom, selfPath, threadStart, execve, execvpe, spawn

    /// The word error messages use for the call ("open /x: No such file or directory"): the
    /// wording users and the tests have always seen, shared by a call and its `*at` form.
    public var messageName: String {
        switch self {
        case .open, .openat: return "open"
        case .read, .pread: return "read"
        case .write: return "write"
        case .fstat: return "fstat"
        case .fstatat: return "stat"
        case .fstatvfs: return "statvfs"
        case .mkdirat: return "mkdir"
        case .renameat: return "rename"
        case .unlinkat: return "unlink"
        case .symlinkat: return "symlink"
        case .readlinkat: return "readlink"
        case .fchmod: return "chmod"
        case .utimensat: return "utimensat"
        case .faccessat: return "access"
        case .fsync: return "fsync"
        case .syncfs: return "syncfs"
        case .syncFileRange: return "sync_file_range"
        case .flock: return "flock"
        case .mmap: return "mmap"
        case .dup: return "dup"
        case .fdopendir: return "opendir"
        case .readdir: return "readdir"
        case .getcwd: return "getcwd"
        case .kill: return "kill"
        case .getrandom: return "getrandom"
        case .selfPath: return "readlink /proc/self/exe"
        case .threadStart: return "pthread_create"
        case .execve, .execvpe: return "exec"
        case .spawn: return "CreateProcess"
        }
    }
}
