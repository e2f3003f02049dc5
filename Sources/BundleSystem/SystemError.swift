import BundleFormat
import CPlatform

/// Failed system calls as `BundleError`s. BundleFormat is pure (no libc), so the part of the
/// error that needs the platform layer lives here, with the launcher's only `strerror` call
/// (through `Sys.errorText`).
extension BundleError {
    /// A failed call: "open /x: No such file or directory" (or "fstat: ..." without a subject),
    /// with errno as read right after the call. ENOSPC and EDQUOT (quota) are `.diskFull`, anything
    /// else `.system`.
    public static func system(_ call: String, _ subject: String, errno: Int32) -> BundleError {
        let reason = describe(errno: errno)
        return BundleError(
            errno == CPLAT_ENOSPC || errno == CPLAT_EDQUOT ? .diskFull : .system,
            subject.isEmpty ? "\(call): \(reason)" : "\(call) \(subject): \(reason)", errno: errno)
    }

    /// The platform's sentence for an errno ("Permission denied").
    public static func describe(errno: Int32) -> String { Sys.errorText(errno) }

    /// The sentence for this error's errno, for messages that word the failure themselves.
    public var reason: String { BundleError.describe(errno: errno) }
}
