/// Who may have changed a file: the question every check in the cache asks of an `fstat`, asked
/// here and nowhere else (the Windows form, owner SID and DACL, will answer it in its own file).
///
/// Only root and the user running the launcher are trusted. Anything owned by another user,
/// or writable by group or others, could have been replaced or rewritten by someone else
/// (docs/security.md, "The cache on a shared machine").
public enum Ownership {
    /// Our effective uid, read once: file ownership is judged against it on every check.
    public static let uid = Sys.effectiveUserID()

    /// Owned by us or by root.
    public static func isTrusted(_ st: FileStatus) -> Bool { st.owner == uid || st.owner == 0 }

    /// Owned by us (not root): what we made and may repair.
    public static func isOurs(_ st: FileStatus) -> Bool { st.owner == uid }

    /// Owned by root and not writable by others: what only root could have put there.
    public static func isRootOnly(_ st: FileStatus) -> Bool { st.owner == 0 && !othersCanWrite(st) }

    /// Writable by group or others.
    public static func othersCanWrite(_ st: FileStatus) -> Bool { st.mode & 0o022 != 0 }

    /// Sticky directory owned by root or us (`/tmp`, `/var/tmp`, `/dev/shm`): others may add
    /// names to it but cannot rename or delete ours.
    public static func isShared(_ st: FileStatus) -> Bool { st.isSticky && isTrusted(st) && othersCanWrite(st) }

    public static func octal(_ mode: UInt32) -> String { String(mode & 0o7777, radix: 8) }

    #if DGMO_TARGET_OS_WINDOWS
        /// What made `st` writable by others, for a message: on Windows, its DACL.
        public static func describe(_ st: FileStatus) -> String { "its access list lets other users write" }
        /// How to make `path` private again.
        public static func privateHint(_ path: String) -> String {
            "remove other users' access with 'icacls \"\(path)\" /inheritance:r /grant:r %USERNAME%:(OI)(CI)F'"
        }
        /// Who owns `st`, for a message (Windows: no uid; the platform layer maps the owner SID).
        public static func ownerName(_ st: FileStatus) -> String { "another user" }
        public static var selfName: String { "" }
    #else
        /// What made `st` writable by others, for a message: its mode.
        public static func describe(_ st: FileStatus) -> String { "mode " + octal(st.mode) }
        /// How to make `path` private again.
        public static func privateHint(_ path: String) -> String { "run 'chmod go-w \(path)'" }
        /// Who owns `st`, for a message.
        public static func ownerName(_ st: FileStatus) -> String { "uid " + String(st.owner) }
        public static var selfName: String { " (uid " + String(uid) + ")" }
    #endif
}
