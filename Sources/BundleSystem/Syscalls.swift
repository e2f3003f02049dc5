import BundleFormat
import CPlatform

/// One wrapper per system call, all on CPlatform (the only module that sees libc; docs/security.md,
/// "Platform layer"). Every C wrapper returns its failure itself as a negative code of ours, read
/// from errno inside the wrapper, so no Swift runs between a call and its errno. EINTR is retried
/// by `call`, the one helper, for every call that takes a `retryOnInterrupt` of true (all but
/// `close` and the exec calls). Flags and errno values are this module's (`OpenFlags`, `Errno`).
public enum Sys {
    /// The one rule for a failed call: `body` returns a value (>= 0) or a negative code; EINTR is
    /// made again when `retryOnInterrupt`, any other code becomes a `BundleError.system` naming the
    /// call and `subject`. A failure injected for `syscall` (debug builds) stands for one attempt.
    @inline(__always)
    static func call<T: SignedInteger & FixedWidthInteger>(
        _ syscall: Syscall, _ subject: @autoclosure () -> String, retryOnInterrupt: Bool = true, _ body: () -> T
    ) throws(BundleError) -> T {
        while true {
            let r: T
            if let injected = injectedFailure(syscall, subject) { r = -T(injected) } else { r = body() }
            if r >= 0 { return r }
            let e = Int32(truncatingIfNeeded: -r)
            if e == CPLAT_EINTR && retryOnInterrupt { continue }
            throw BundleError.system(syscall.messageName, subject(), errno: e)
        }
    }

    #if DEBUG
        /// Test-only failure injection (debug builds only; a release stub has no such hook): called
        /// with the call and its subject before each attempt; an errno it returns (`Errno.*`) is
        /// reported as that attempt's failure, nil lets the call run. Every call that can fail is
        /// injectable (`Syscall.allCases`).
        public nonisolated(unsafe) static var failureInjection: ((Syscall, String) -> Int32?)? = nil
        @inline(__always)
        static func injectedFailure(_ call: Syscall, _ subject: () -> String) -> Int32? {
            guard let failureInjection else { return nil }
            return failureInjection(call, subject())
        }
    #else
        @inline(__always)
        static func injectedFailure(_ call: Syscall, _ subject: () -> String) -> Int32? { nil }
    #endif

    /// Passes `name` (bytes, no NUL) to a C call as a NUL-terminated string, without a UTF-8 round trip.
    @inline(__always)
    public static func withCName<R>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        var z = name
        z.append(0)
        return z.withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }

    /// A name for messages (never used as a path).
    public static func displayName(_ name: [UInt8]) -> String { String(decoding: name, as: UTF8.self) }

    /// The text of an errno value (`Errno.*` or any other the platform reported).
    public static func errorText(_ code: Int32) -> String { String(cString: cplat_strerror(code)) }

    public static func open(_ path: String, _ flags: OpenFlags, _ mode: UInt32 = 0) throws(BundleError)
        -> FileDescriptor
    {
        FileDescriptor(adopting: try call(.open, path) { cplat_open(path, flags.rawValue | CPLAT_O_CLOEXEC, mode) })
    }

    public static func openat(_ dirfd: borrowing FileDescriptor, _ name: String, _ flags: OpenFlags, _ mode: UInt32 = 0)
        throws(BundleError) -> FileDescriptor
    {
        FileDescriptor(
            adopting: try call(.openat, name) { cplat_openat(dirfd.raw, name, flags.rawValue | CPLAT_O_CLOEXEC, mode) })
    }

    /// Another descriptor of the same open file (close-on-exec), owned separately.
    public static func duplicate(_ fd: borrowing FileDescriptor) throws(BundleError) -> FileDescriptor {
        FileDescriptor(adopting: try call(.dup, "") { cplat_dup(fd.raw) })
    }

    public static func fstat(_ fd: borrowing FileDescriptor) throws(BundleError) -> FileStatus {
        var st = cplat_stat()
        _ = try call(.fstat, "") { cplat_fstat(fd.raw, &st) }
        return FileStatus(st)
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or throws (a short file is an error).
    public static func preadFully(
        _ fd: borrowing FileDescriptor, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, what: String
    )
        throws(BundleError)
    {
        var done = 0
        while done < buffer.count {
            let n = Int(
                try call(.pread, what) {
                    cplat_pread(fd.raw, buffer.baseAddress! + done, buffer.count - done, Int64(offset) + Int64(done))
                })
            if n == 0 { throw BundleError(.truncated, "\(what) is truncated") }
            done += n
        }
    }

    public static func pread(_ fd: borrowing FileDescriptor, count: Int, at offset: UInt64, what: String)
        throws(BundleError) -> [UInt8]
    {
        var out = [UInt8](repeating: 0, count: count)
        try withMutableBytes(&out) { (b) throws(BundleError) in try preadFully(fd, b, at: offset, what: what) }
        return out
    }

    /// Writes all of `buffer`; short writes are normal and continued.
    public static func writeAll(_ fd: borrowing FileDescriptor, _ buffer: UnsafeRawBufferPointer, what: String)
        throws(BundleError)
    {
        var done = 0
        while done < buffer.count {
            let n = Int(try call(.write, what) { cplat_write(fd.raw, buffer.baseAddress! + done, buffer.count - done) })
            // write(2) returning 0 for a non-empty buffer would loop forever: treat it as EIO.
            if n == 0 { throw BundleError.system(Syscall.write.messageName, what, errno: CPLAT_EIO) }
            done += n
        }
    }

    public static func mkdirat(_ dirfd: borrowing FileDescriptor, _ name: String, _ mode: UInt32) throws(BundleError) {
        try mkdirat(dirfd, Array(name.utf8), mode)
    }

    public static func symlinkat(_ target: String, _ dirfd: borrowing FileDescriptor, _ name: String)
        throws(BundleError)
    {
        _ = try call(.symlinkat, name) { cplat_symlinkat(target, dirfd.raw, name) }
    }

    public static func fchmod(_ fd: borrowing FileDescriptor, _ mode: UInt32, what: String) throws(BundleError) {
        _ = try call(.fchmod, what) { cplat_fchmod(fd.raw, mode) }
    }

    public static func renameat(
        _ fromDir: borrowing FileDescriptor, _ from: String, _ toDir: borrowing FileDescriptor, _ to: String
    ) throws(BundleError) {
        try renameat(fromDir, Array(from.utf8), toDir, Array(to.utf8))
    }

    /// Removes `name` below `dirfd`: a file or symlink, or with `directory` an empty directory.
    public static func unlinkat(_ dirfd: borrowing FileDescriptor, _ name: String, directory: Bool = false)
        throws(BundleError)
    {
        try unlinkat(dirfd, Array(name.utf8), directory: directory)
    }

    public static func syncfs(_ fd: borrowing FileDescriptor) throws(BundleError) {
        _ = try call(.syncfs, "") { cplat_syncfs(fd.raw) }
    }

    /// Flushes one file or directory (data and metadata) to the disk.
    public static func fsync(_ fd: borrowing FileDescriptor, what: String) throws(BundleError) {
        _ = try call(.fsync, what) { cplat_fsync(fd.raw) }
    }

    /// Starts writing a file's dirty pages to the disk without waiting (`sync_file_range`
    /// `WRITE`), so that a later `fsync` finds them written. Only a hint: a failure is ignored
    /// here and would surface in that `fsync`.
    public static func startWriteback(_ fd: borrowing FileDescriptor) {
        _ = try? call(.syncFileRange, "") { cplat_start_writeback(fd.raw) }
    }

    // Descriptor-relative calls on names given as bytes (directory entries need not be UTF-8).

    public static func openat(
        _ dirfd: borrowing FileDescriptor, _ name: [UInt8], _ flags: OpenFlags, _ mode: UInt32 = 0
    )
        throws(BundleError) -> FileDescriptor
    {
        FileDescriptor(
            adopting: try call(.openat, displayName(name)) {
                withCName(name) { cplat_openat(dirfd.raw, $0, flags.rawValue | CPLAT_O_CLOEXEC, mode) }
            })
    }

    /// `openat` whose descriptor survives `execve` (a lock the runtime must keep holding).
    public static func openatInherited(
        _ dirfd: borrowing FileDescriptor, _ name: String, _ flags: OpenFlags, _ mode: UInt32 = 0
    )
        throws(BundleError) -> FileDescriptor
    {
        FileDescriptor(adopting: try call(.openat, name) { cplat_openat(dirfd.raw, name, flags.rawValue, mode) })
    }

    /// `fstatat`; `follow: false` does not follow a final symlink. Returns nil when the name does not exist.
    public static func fstatat(_ dirfd: borrowing FileDescriptor, _ name: [UInt8], follow: Bool) throws(BundleError)
        -> FileStatus?
    {
        try fstatat(raw: dirfd.raw, name, follow: follow)
    }

    static func fstatat(raw dirfd: Int32, _ name: [UInt8], follow: Bool) throws(BundleError) -> FileStatus? {
        var st = cplat_stat()
        do {
            _ = try call(.fstatat, displayName(name)) {
                withCName(name) { cplat_fstatat(dirfd, $0, &st, follow ? 0 : CPLAT_AT_SYMLINK_NOFOLLOW) }
            }
        } catch  where error.errno == CPLAT_ENOENT {
            return nil
        }
        return FileStatus(st)
    }

    public static func mkdirat(_ dirfd: borrowing FileDescriptor, _ name: [UInt8], _ mode: UInt32) throws(BundleError) {
        _ = try call(.mkdirat, displayName(name)) { withCName(name) { cplat_mkdirat(dirfd.raw, $0, mode) } }
    }

    /// Removes `name` below `dirfd`: a file or symlink, or with `directory` an empty directory.
    public static func unlinkat(_ dirfd: borrowing FileDescriptor, _ name: [UInt8], directory: Bool = false)
        throws(BundleError)
    {
        _ = try call(.unlinkat, displayName(name)) {
            withCName(name) { cplat_unlinkat(dirfd.raw, $0, directory ? CPLAT_AT_REMOVEDIR : 0) }
        }
    }

    public static func renameat(
        _ fromDir: borrowing FileDescriptor, _ from: [UInt8], _ toDir: borrowing FileDescriptor, _ to: [UInt8]
    ) throws(BundleError) {
        _ = try call(.renameat, displayName(to)) {
            withCName(from) { f in withCName(to) { t in cplat_renameat(fromDir.raw, f, toDir.raw, t) } }
        }
    }

    /// The target of the symlink `name` under `dirfd`, as bytes.
    public static func readlinkat(_ dirfd: borrowing FileDescriptor, _ name: [UInt8]) throws(BundleError) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: Int(CPLAT_PATH_MAX) + 1)
        let n = try call(.readlinkat, displayName(name)) {
            withCName(name) { p in
                buf.withUnsafeMutableBytes {
                    cplat_readlinkat(dirfd.raw, p, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1)
                }
            }
        }
        return Array(buf[0..<Int(n)])
    }

    /// Sets the access and modification times of `name` under `dirfd` to now, without following a symlink.
    public static func touchat(_ dirfd: borrowing FileDescriptor, _ name: String) throws(BundleError) {
        _ = try call(.utimensat, name) { cplat_touchat(dirfd.raw, name) }
    }

    public static func fstatvfs(_ fd: borrowing FileDescriptor, what: String) throws(BundleError) -> FileSystemStatus {
        var s = cplat_statvfs()
        _ = try call(.fstatvfs, what) { cplat_fstatvfs(fd.raw, &s) }
        return FileSystemStatus(s)
    }

    /// `faccessat(dirfd, ".", W_OK)` with the effective ids: can we write in this directory?
    public static func canWrite(_ dirfd: borrowing FileDescriptor) -> Bool {
        (try? call(.faccessat, "") { cplat_faccessat(dirfd.raw, ".", CPLAT_W_OK, CPLAT_AT_EACCESS) }) != nil
    }

    /// Whether `path` (relative to the working directory) is a regular file (following symlinks)
    /// that this process may execute, as a shell's PATH search requires: a directory or FIFO of
    /// that name is passed over.
    public static func isExecutableFile(_ path: String) -> Bool {
        guard let st = try? fstatat(raw: CPLAT_AT_FDCWD, Array(path.utf8), follow: true), st.type == .regular else {
            return false
        }
        return (try? call(.faccessat, path) { cplat_faccessat(CPLAT_AT_FDCWD, path, CPLAT_X_OK, 0) }) != nil
    }

    /// One `read` into `buffer`: the byte count, 0 at the end of the file.
    public static func read(_ fd: borrowing FileDescriptor, _ buffer: UnsafeMutableRawBufferPointer, what: String)
        throws(BundleError)
        -> Int
    {
        Int(try call(.read, what) { cplat_read(fd.raw, buffer.baseAddress, buffer.count) })
    }

    /// Maps `size` bytes of `fd` read-only; release with `unmap`.
    public static func mapReadOnly(_ fd: borrowing FileDescriptor, size: Int, what: String) throws(BundleError)
        -> UnsafeRawPointer
    {
        var base: UnsafeMutableRawPointer? = nil
        _ = try call(.mmap, what) { cplat_map_readonly(fd.raw, size, &base) }
        return UnsafeRawPointer(base!)
    }

    public static func unmap(_ base: UnsafeRawPointer, size: Int) {
        _ = cplat_unmap(UnsafeMutableRawPointer(mutating: base), size)
    }

    /// Makes the directory `path` (relative to the working directory).
    public static func mkdir(_ path: String, _ mode: UInt32) throws(BundleError) {
        _ = try call(.mkdirat, path) { cplat_mkdirat(CPLAT_AT_FDCWD, path, mode) }
    }

    // Calls that cannot fail (no errno to read), here so that no module calls libc directly.

    public static func processID() -> Int32 { cplat_getpid() }

    /// Which side of `detach` this is.
    public enum DetachedSide: Sendable { case grandchild, caller, failed }

    /// A detached grandchild (`cplat_detach`) that keeps only `keep` of our descriptors, for work the
    /// launch must not wait for. The grandchild ends with `exit`; `.failed` (always on Windows):
    /// do the work here.
    public static func detach(keeping keep: borrowing FileDescriptor) -> DetachedSide {
        switch cplat_detach(keep.raw) {
        case 0:
            DescriptorLedger.keepOnly(keep.raw)
            return .grandchild
        case 1: return .caller
        default: return .failed
        }
    }
    public static func effectiveUserID() -> UInt32 { cplat_geteuid() }
    public static func userID() -> UInt32 { cplat_getuid() }
    public static func isTerminal(_ stream: StandardStream) -> Bool { cplat_isatty(stream.rawValue) == 1 }

    /// Writes all of `buffer` to standard output or standard error.
    public static func write(_ stream: StandardStream, _ buffer: UnsafeRawBufferPointer) throws(BundleError) {
        let view = FileDescriptor(viewing: stream.rawValue)
        do {
            try writeAll(view, buffer, what: stream == .output ? "standard output" : "standard error")
            view.forget()
        } catch {
            view.forget()
            throw error
        }
    }
    /// Seconds since 1970.
    public static func now() -> Int64 { cplat_time_now() }
    /// A clock that never goes back, in nanoseconds.
    public static func monotonicNanoseconds() -> Int64 { cplat_monotonic_ns() }
    /// Flushes C stdio buffers and ends the process.
    public static func exit(_ status: Int32) -> Never { cplat_exit(status) }

    /// The working directory (nil when it cannot be read, e.g. it was removed).
    public static func workingDirectory() -> String? {
        var buf = [CChar](repeating: 0, count: Int(CPLAT_PATH_MAX) + 1)
        guard (try? call(.getcwd, "") { cplat_getcwd(&buf, buf.count) }) != nil else { return nil }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The real user's home directory from `/etc/passwd` (nil without a readable file or an entry).
    /// Read directly rather than with getpwuid: in a static binary getpwuid would dlopen NSS
    /// modules of the build machine's glibc version at run time. Users known only to a network
    /// directory (LDAP, sssd) are not found here; they have HOME set, which is looked at first.
    public static func passwordDatabaseHome() -> String? {
        guard let fd = try? open("/etc/passwd", .readOnly | .nonBlocking) else { return nil }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while text.count < PasswdFile.maximumSize {
            let n = chunk.withUnsafeMutableBytes { b in (try? read(fd, b, what: "/etc/passwd")) ?? -1 }
            if n <= 0 { break }
            text += chunk[0..<n]
        }
        return PasswdFile.home(ofUser: cplat_getuid(), in: text)
    }

    /// Random bytes for temporary names: getrandom(2), else /dev/urandom (kernels before 3.17
    /// have no getrandom).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { b in
                (try? call(.getrandom, "") { cplat_getrandom(b.baseAddress! + done, count - done) }) ?? 0
            }
            if n <= 0 { break }
            done += Int(n)
        }
        if done < count, let fd = try? open("/dev/urandom", .readOnly) {
            while done < count {
                let n = out.withUnsafeMutableBytes {
                    (try? read(fd, UnsafeMutableRawBufferPointer(rebasing: $0[done...]), what: "/dev/urandom")) ?? 0
                }
                if n <= 0 { break }
                done += n
            }
        }
        return out
    }

    /// The running executable's path as the system reports it: the target of `/proc/self/exe` on
    /// Linux (nil without /proc), `_NSGetExecutablePath` on macOS.
    public static func selfPath() -> String? {
        var buf = [CChar](repeating: 0, count: Int(CPLAT_PATH_MAX) + 1)
        guard let n = try? call(.selfPath, "", { cplat_self_path(&buf, buf.count) }), n > 0 else { return nil }
        return String(decoding: buf[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func getenv(_ name: String) -> String? {
        guard let p = cplat_getenv(name) else { return nil }
        return String(cString: p)
    }

    /// The process environment as C strings (`NAME=value`), as received.
    public static func environment() -> [UnsafeMutablePointer<CChar>] {
        var out: [UnsafeMutablePointer<CChar>] = []
        guard var p = cplat_environ() else { return out }
        while let item = p.pointee {
            out.append(item)
            p += 1
        }
        return out
    }

    /// Ignores SIGXFSZ until `restoreFileSizeSignal` (or `Handoff.run`): past the user's file-size
    /// limit a write then fails with EFBIG, a `BundleError` like any other, instead of killing the launcher.
    public static func ignoreFileSizeSignal() { cplat_ignore_file_size_signal() }
    /// Puts back the SIGXFSZ disposition the launcher was started with.
    public static func restoreFileSizeSignal() { cplat_restore_file_size_signal() }

    /// Replaces the process with `program` (searched on PATH when it has no `/`). Returns only on
    /// failure, with the errno. `Handoff.run` is the one caller.
    static func exec(
        _ program: String, argv: [UnsafeMutablePointer<CChar>?], env: [UnsafeMutablePointer<CChar>?]
    ) -> Int32 {
        let searchPath = !program.utf8.contains(UInt8(ascii: "/"))
        return argv.withUnsafeBufferPointer { a in
            env.withUnsafeBufferPointer { e in
                let r: Int32
                if let injected = injectedFailure(searchPath ? .execvpe : .execve, { program }) {
                    r = -injected
                } else if searchPath {
                    r = cplat_execvpe(program, a.baseAddress!, e.baseAddress!)
                } else {
                    r = cplat_execve(program, a.baseAddress!, e.baseAddress!)
                }
                return -r
            }
        }
    }

    /// What a spawn hand-off gave: the child's exit code (any 32-bit value on Windows), or the
    /// errno of why no child was started.
    enum SpawnOutcome {
        case exited(UInt32)
        case notStarted(Int32)
    }

    /// Runs `program` as a child (searched on PATH when it has no `/`, `\` or `:`) and waits for it:
    /// the hand-off where there is no exec (Windows; `cplat_spawn_wait`). `Handoff.run` is the one caller.
    static func spawnAndWait(
        _ program: String, argv: [UnsafeMutablePointer<CChar>?], env: [UnsafeMutablePointer<CChar>?]
    ) -> SpawnOutcome {
        let separators: [UInt8] = [UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: ":")]
        let searchPath = !program.utf8.contains { separators.contains($0) }
        return argv.withUnsafeBufferPointer { a in
            env.withUnsafeBufferPointer { e in
                var code: UInt32 = 0
                let r: Int32
                if let injected = injectedFailure(.spawn, { program }) {
                    r = -injected
                } else if searchPath {
                    r = cplat_spawnp_wait(program, a.baseAddress!, e.baseAddress!, &code)
                } else {
                    r = cplat_spawn_wait(program, a.baseAddress!, e.baseAddress!, &code)
                }
                return r == 0 ? .exited(code) : .notStarted(-r)
            }
        }
    }
}

extension Sys {
    /// Names in a directory (without `.` and `..`). `dirfd` stays open and owned by the caller.
    public static func listDirectory(_ dirfd: borrowing FileDescriptor) throws(BundleError) -> [String] {
        try listDirectoryBytes(dirfd).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Names in a directory as the bytes the kernel returned (without `.` and `..`), so a name
    /// that is not UTF-8 can still be opened, compared and removed. `dirfd` stays the caller's.
    public static func listDirectoryBytes(_ dirfd: borrowing FileDescriptor) throws(BundleError) -> [[UInt8]] {
        // fdopendir takes over a descriptor: a duplicate, so the caller's stays open and its own.
        let copy = try duplicate(dirfd)
        var dir: UnsafeMutableRawPointer? = nil
        _ = try call(.fdopendir, "") { cplat_fdopendir(copy.raw, &dir) }
        copy.handedToDirectoryStream()
        defer { cplat_closedir(dir) }
        cplat_rewinddir(dir)
        var names: [[UInt8]] = []
        var type: UInt8 = 0
        var name: UnsafePointer<CChar>? = nil
        // A failed readdir (EIO, a stale NFS handle) throws: a partial listing must not pass for
        // the whole directory (gc, clear and cache verify act on it).
        while try call(.readdir, "", { cplat_readdir(dir, &name, &type) }) == 1, let name {
            let child = Array(UnsafeRawBufferPointer(start: name, count: cStringLength(name)))
            if child != [0x2E] && child != [0x2E, 0x2E] { names.append(child) }
        }
        return names
    }

    /// The length of a NUL-terminated C string.
    static func cStringLength(_ p: UnsafePointer<CChar>) -> Int {
        var n = 0
        while p[n] != 0 { n += 1 }
        return n
    }
}

/// The `passwd(5)` format: `name:password:uid:gid:gecos:home:shell`, one user a line.
public enum PasswdFile {
    /// Larger files are read this far only (a password file is a few KiB).
    public static let maximumSize = 4 << 20

    /// The home directory of the first line whose uid is `uid`, if it is an absolute path.
    public static func home(ofUser uid: UInt32, in text: [UInt8]) -> String? {
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard fields.count >= 7, let id = UInt32(String(decoding: fields[2], as: UTF8.self)), id == uid else {
                continue
            }
            return fields[5].first == UInt8(ascii: "/") ? String(decoding: fields[5], as: UTF8.self) : nil
        }
        return nil
    }
}

// MARK: threads

extension Sys {
    /// A mutex with one condition variable: the hand-off between the extraction pipeline's threads.
    /// Both are made together (nil when either cannot be) and freed together.
    public final class Monitor {
        private let mutex: UnsafeMutableRawPointer
        private let cond: UnsafeMutableRawPointer

        public init?() {
            guard let m = cplat_mutex_new() else { return nil }
            guard let c = cplat_cond_new() else {
                cplat_mutex_free(m)
                return nil
            }
            mutex = m
            cond = c
        }

        deinit {
            cplat_cond_free(cond)
            cplat_mutex_free(mutex)
        }

        public func lock() { cplat_mutex_lock(mutex) }
        public func unlock() { cplat_mutex_unlock(mutex) }
        /// Waits for a `broadcast`, with the mutex held (released while waiting, held again after).
        public func wait() { cplat_cond_wait(cond, mutex) }
        public func broadcast() { cplat_cond_broadcast(cond) }
    }

    /// A thread started by `startThread`, joined exactly once by `join`.
    public struct Thread {
        fileprivate let handle: UnsafeMutableRawPointer
    }

    /// Runs `body(context)` on a new thread; nil when no thread can be started (the caller then
    /// does the work inline).
    public static func startThread(
        _ body: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?,
        context: UnsafeMutableRawPointer
    ) -> Thread? {
        var handle: UnsafeMutableRawPointer? = nil
        guard
            (try? call(.threadStart, "", retryOnInterrupt: false) { cplat_thread_start(body, context, &handle) })
                != nil,
            let handle
        else { return nil }
        return Thread(handle: handle)
    }

    /// Waits for the thread to end and releases it.
    public static func join(_ thread: Thread) { cplat_thread_join(thread.handle) }

    /// The processors this process may run on (its affinity mask on Linux), at least 1.
    public static var processorCount: Int { Int(cplat_processor_count()) }
}
