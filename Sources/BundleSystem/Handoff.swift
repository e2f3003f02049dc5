import CPlatform

/// The end of a launch: the runtime takes over, in one call.
///
/// On POSIX this is `execve` (after a PATH search for a program without a `/`): the same
/// process, so the exit status and signals are the runtime's own, and the shared layer locks in
/// `locks` pass to the runtime as inherited descriptors. Windows has no exec: there the launcher
/// spawns the child (`cplat_spawn_wait`), waits with the locks held, and exits with the child's
/// status (docs/platforms.md, "The Windows platform file"). The choice is
/// a build flag (`DGMO_HANDOFF_SPAWN`, set by scripts/build-stub.sh for Windows), not `os()`:
/// the arm64 stub is built for a bare-metal triple, where `os(Linux)` is false.
public enum Handoff {
    /// What could not be handed over: the program and the system's reason.
    public struct Failure: Sendable {
        public let errno: Int32
        public var reason: String { Sys.errorText(errno) }
    }

    /// Runs `program` with `argv` (NULL-terminated, `argv[0]` first) and `env` (NULL-terminated
    /// `NAME=value` strings) in this process's place. When that cannot be done, `failed` is called
    /// with why (it ends the process: the launcher's one-line failure).
    public static func run(
        _ program: String, argv: [UnsafeMutablePointer<CChar>?], env: [UnsafeMutablePointer<CChar>?],
        locks: HeldLocks, failed: (Failure) -> Never
    ) -> Never {
        cplat_flush_stdio()
        // An ignored SIGXFSZ would stay ignored in the runtime: put back what we were started with.
        Sys.restoreFileSizeSignal()
        #if DGMO_HANDOFF_SPAWN
            // No exec: the runtime runs as our child, in a job object that ends it if we die, with
            // our standard handles and console (Ctrl+C reaches it; we ignore it from here on). The
            // locks stay held by this process, alive until the child is gone; then we exit with the
            // child's code, all 32 bits of it (cplat_exit passes the bit pattern to ExitProcess).
            let outcome = withExtendedLifetime(locks) { Sys.spawnAndWait(program, argv: argv, env: env) }
            switch outcome {
            case .exited(let code): Sys.exit(Int32(bitPattern: code))
            case .notStarted(let errno): failed(Failure(errno: errno))
            }
        #else
            // The locks stay open across execve (their descriptors were opened without close-on-exec):
            // `locks` lives until the call returns, which it does only on failure.
            withExtendedLifetime(locks) { () -> Never in
                failed(Failure(errno: Sys.exec(program, argv: argv, env: env)))
            }
        #endif
    }
}
