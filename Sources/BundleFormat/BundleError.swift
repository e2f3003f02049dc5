/// The one error of the launcher's modules (BundleFormat, BundleCodecs, BundleCrypto,
/// BundleRuntime, BundleCache) and of the stub: a code a caller or test can match, the errno of
/// the system call that failed (0 when none did), and one human line naming what was wrong.
///
/// One concrete struct rather than an error per module: every function throws
/// `throws(BundleError)`, so errors pass between modules without wrapping or `any Error`
/// boxing (the stub is compiled as Embedded Swift, which has no existential errors), and the
/// code survives when a caller puts context in front of the message (`prefixed`).
/// docs/format.md, "Errors", lists the codes.
public struct BundleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Why something was refused or failed: one case per cause a caller or a test tells apart.
    /// The raw values are stable (a later launcher may print or return them); new causes go at the end.
    public enum Code: UInt8, Sendable, Equatable {
        /// Bytes end before the structure or stream they declare (a cut file, table or layer).
        case truncated = 1
        /// No bundle trailer (bad magic, file too small), an unknown version or flags, or regions that do not
        /// fit the file.
        case badTrailer = 2
        /// The manifest breaks a rule of docs/format.md (names, offsets, flags, duplicates, placeholders
        /// naming no layer).
        case badManifest = 3
        /// An entry's argv or env breaks the entry rules (`EntryRules`).
        case badEntry = 4
        /// A `{layer}` template is malformed (unterminated, empty name, stray `}`).
        case badPlaceholder = 5
        /// A path or symlink target inside a layer breaks `PathRules` (absolute, `..`, escaping link...).
        case badPath = 6
        /// A layer's file table breaks a rule (order, parents, kinds, modes, sizes, counts).
        case badFileTable = 7
        /// A public or secret key, or the launcher's key slot, is malformed or of an unknown algorithm.
        case badKey = 8
        /// An encrypted secret key was opened without a password.
        case passwordNeeded = 9
        /// An encrypted secret key's checksum does not match: wrong password (or a corrupt key).
        case wrongPassword = 10
        /// A signature (the bundle's signature block or a minisign file) is malformed or does not verify.
        case badSignature = 11
        /// Signed by another key than the trusted one, or signed/unsigned against what the launcher expects.
        case untrustedKey = 12
        /// A file table or a file's content does not match its digest (corrupt or modified bundle).
        case digestMismatch = 13
        /// A compressor or decompressor failed: corrupt or foreign data, or the codec could not start.
        case codec = 14
        /// libsodium failed (key derivation out of memory).
        case crypto = 15
        /// A value over one of the launcher's limits (`Limits`: sizes, counts, decoder memory).
        case tooLarge = 16
        /// A system call failed; `errno` says why.
        case system = 17
        /// No space (or no inodes) left on the device; `errno` is ENOSPC when a call failed.
        case diskFull = 18
        /// A cache path refused for safety: owned by another user, writable by others, a symlink
        /// where none may be, or not the directory this launcher made.
        case unsafeCache = 19
        /// A cache directory or layer that is half there: incomplete, missing or vanished.
        case damagedCache = 20
        /// The cache is on a filesystem mounted noexec, so extracted programs could not run.
        case noExec = 21
        /// A path that must be a regular file is not one (or is empty).
        case notRegularFile = 22
        /// A caller's mistake: a bad setting or argument (relative cache variable, codec level,
        /// a stream used after it finished).
        case usage = 23
    }

    public let code: Code
    /// errno of the system call that failed, read right after it; 0 when no call failed.
    public let errno: Int32
    /// One line for the user, without the program name (the stub and tools put that in front).
    public let message: String

    public init(_ code: Code, _ message: String, errno: Int32 = 0) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }

    /// The same error with `context` in front of its message ("layer 'x': " + message); code and
    /// errno are kept, so a caller that adds context does not hide the cause.
    public func prefixed(_ context: String) -> BundleError {
        BundleError(code, context + message, errno: errno)
    }

    /// The same cause and errno with a new message, for callers that word the line themselves.
    public func reworded(_ message: String) -> BundleError {
        BundleError(code, message, errno: errno)
    }
}
