/// The permission bits a layer keeps. The builder records a file's mode masked with `kept`, and
/// the launcher masks what it reads with it again (a signed manifest can still come from a buggy
/// builder): no setuid, setgid or sticky bit, nothing group- or world-writable (docs/security.md).
public enum FileModes {
    /// Bits kept from a file's mode.
    public static let kept: UInt32 = 0o755
}
