import BundleRuntime
import CPlatform

/// Who may have changed a file: the question every check in the cache asks of an `fstat`.
///
/// Only root and the user running the launcher are trusted. Anything owned by another user,
/// or writable by group or others, could have been replaced or rewritten by someone else
/// (docs/security.md, "The cache on a shared machine").
public enum Ownership {
    /// Our effective uid, read once: file ownership is judged against it on every check.
    public static let uid = Sys.effectiveUserID()

    /// Owned by us or by root.
    public static func isTrusted(_ st: FileStatus) -> Bool { st.st_uid == uid || st.st_uid == 0 }

    /// Writable by group or others.
    public static func othersCanWrite(_ st: FileStatus) -> Bool { st.st_mode & 0o022 != 0 }

    /// Sticky directory owned by root or us (`/tmp`, `/var/tmp`, `/dev/shm`): others may add
    /// names to it but cannot rename or delete ours.
    public static func isShared(_ st: FileStatus) -> Bool {
        st.st_mode & CPLAT_S_ISVTX != 0 && isTrusted(st) && othersCanWrite(st)
    }

    public static func type(_ st: FileStatus) -> UInt32 { st.st_mode & CPLAT_S_IFMT }

    public static func octal(_ mode: UInt32) -> String { String(mode & 0o7777, radix: 8) }
}
