import BundleFormat
import BundleRuntime
import BundleSystem

/// The read-only, system-wide cache a distro package can fill (docs/ops.md): used for a layer
/// the user's cache lacks, never written to.
///
/// Trusted only when no user but root could have changed it: `/var/cache/<app>/layers/<digest>`
/// is walked from `/` with `O_NOFOLLOW` (so no component, the layer included, may be a symlink),
/// and every directory, and the marker, must be owned by root and not writable by group or others.
public enum SystemCache {
    public static func root(cacheName: String) -> String { Sys.systemCacheRoot(cacheName: cacheName) }

    /// A descriptor of the system cache's copy of a layer, or nil when there is no trusted one.
    public static func layer(cacheName: String, digestName: String) -> FileDescriptor? {
        guard var fd = try? Sys.open("/", .readOnly | .directory), isRootOnly(fd) else { return nil }
        let below = root(cacheName: cacheName).splitBytes(at: UInt8(ascii: "/"))
        for component in below + ["layers", digestName] {
            guard let next = try? Sys.openat(fd, component, .directoryNoFollow), isRootOnly(next) else { return nil }
            fd = next
        }
        guard let st = try? Sys.fstatat(fd, Array(PathRules.markerName.utf8), follow: false),
            st.type == .regular, Ownership.isRootOnly(st)
        else { return nil }
        return fd
    }

    static func isRootOnly(_ fd: borrowing FileDescriptor) -> Bool {
        guard let st = try? Sys.fstat(fd) else { return false }
        return Ownership.isRootOnly(st)
    }

    public static func layerPath(cacheName: String, digestName: String) -> String {
        root(cacheName: cacheName) + "/layers/" + digestName
    }
}
