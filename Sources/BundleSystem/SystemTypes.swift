import CPlatform

/// Flags of `Sys.open`/`Sys.openat` (close-on-exec is always added, except by `openatInherited`).
public struct OpenFlags: Sendable, Equatable {
    public let rawValue: Int32
    @inline(__always) init(_ raw: Int32) { rawValue = raw }

    public static let readOnly = OpenFlags(CPLAT_O_RDONLY)
    public static let writeOnly = OpenFlags(CPLAT_O_WRONLY)
    public static let readWrite = OpenFlags(CPLAT_O_RDWR)
    public static let create = OpenFlags(CPLAT_O_CREAT)
    public static let exclusive = OpenFlags(CPLAT_O_EXCL)
    public static let truncate = OpenFlags(CPLAT_O_TRUNC)
    public static let append = OpenFlags(CPLAT_O_APPEND)
    public static let nonBlocking = OpenFlags(CPLAT_O_NONBLOCK)
    public static let directory = OpenFlags(CPLAT_O_DIRECTORY)
    public static let noFollow = OpenFlags(CPLAT_O_NOFOLLOW)
    /// No flag (to combine conditionally: `create ? .create : .none`).
    public static let none = OpenFlags(0)
    /// A directory for reading, never through a final symlink: how the cache opens every directory.
    public static let directoryNoFollow = OpenFlags(CPLAT_O_RDONLY | CPLAT_O_DIRECTORY | CPLAT_O_NOFOLLOW)

    @inline(__always)
    public static func | (a: OpenFlags, b: OpenFlags) -> OpenFlags { OpenFlags(a.rawValue | b.rawValue) }
}

/// The errno values the launcher tests for, as the platform layer reports them (its own numbers:
/// an errno it does not name is `other` plus the system's number, never one of these). Spelt as
/// POSIX spells them, the names every reader of a man page knows.
// swift-format-ignore: AlwaysUseLowerCamelCase
public enum Errno {
    public static let EPERM = CPLAT_EPERM
    public static let ENOENT = CPLAT_ENOENT
    public static let ESRCH = CPLAT_ESRCH
    public static let EINTR = CPLAT_EINTR
    public static let EIO = CPLAT_EIO
    public static let EBADF = CPLAT_EBADF
    public static let EAGAIN = CPLAT_EAGAIN
    public static let ENOMEM = CPLAT_ENOMEM
    public static let EACCES = CPLAT_EACCES
    public static let EBUSY = CPLAT_EBUSY
    public static let EEXIST = CPLAT_EEXIST
    public static let EXDEV = CPLAT_EXDEV
    public static let ENOTDIR = CPLAT_ENOTDIR
    public static let EISDIR = CPLAT_EISDIR
    public static let EINVAL = CPLAT_EINVAL
    public static let EMFILE = CPLAT_EMFILE
    public static let ETXTBSY = CPLAT_ETXTBSY
    public static let EFBIG = CPLAT_EFBIG
    public static let ENOSPC = CPLAT_ENOSPC
    public static let EROFS = CPLAT_EROFS
    public static let EMLINK = CPLAT_EMLINK
    public static let ENAMETOOLONG = CPLAT_ENAMETOOLONG
    public static let ENOSYS = CPLAT_ENOSYS
    public static let ENOTEMPTY = CPLAT_ENOTEMPTY
    public static let ELOOP = CPLAT_ELOOP
    public static let EDQUOT = CPLAT_EDQUOT
    public static let ESTALE = CPLAT_ESTALE
    /// Any other errno is `other` + the system's own number.
    public static let other = CPLAT_EOTHER
}

/// The longest path a buffer for a path must hold (PATH_MAX on Linux).
public let systemPathMax = Int(CPLAT_PATH_MAX)

/// What kind of object a directory entry is.
public enum FileType: Sendable, Equatable {
    case regular, directory, symlink, fifo, socket, characterDevice, blockDevice, unknown
}

/// What `fstat` says about a file: the fields the launcher reads, with names that say what they are.
public struct FileStatus: Sendable {
    public var device: UInt64 = 0
    public var inode: UInt64 = 0
    /// File type and permission bits (`st_mode`; the POSIX values).
    public var mode: UInt32 = 0
    /// The owner's uid.
    public var owner: UInt32 = 0
    public var linkCount: UInt64 = 0
    public var size: Int64 = 0
    /// 512-byte blocks allocated.
    public var blocks: Int64 = 0
    public var modifiedSeconds: Int64 = 0
    public var modifiedNanoseconds: Int64 = 0

    public init() {}

    init(_ s: cplat_stat) {
        device = s.st_dev
        inode = s.st_ino
        mode = s.st_mode
        owner = s.st_uid
        linkCount = s.st_nlink
        size = s.st_size
        blocks = s.st_blocks
        modifiedSeconds = s.st_mtime_sec
        modifiedNanoseconds = s.st_mtime_nsec
    }

    public var type: FileType {
        switch mode & CPLAT_S_IFMT {
        case CPLAT_S_IFREG: return .regular
        case CPLAT_S_IFDIR: return .directory
        case CPLAT_S_IFLNK: return .symlink
        case CPLAT_S_IFIFO: return .fifo
        case CPLAT_S_IFSOCK: return .socket
        case CPLAT_S_IFCHR: return .characterDevice
        case CPLAT_S_IFBLK: return .blockDevice
        default: return .unknown
        }
    }

    /// The permission bits (with setuid, setgid and sticky).
    public var permissions: UInt32 { mode & 0o7777 }
    /// The sticky bit: in such a directory others may add names but not rename or delete ours.
    public var isSticky: Bool { mode & CPLAT_S_ISVTX != 0 }
}

/// What `fstatvfs` says about a file system.
public struct FileSystemStatus: Sendable {
    public var fragmentSize: UInt64
    public var blocks: UInt64
    public var freeBlocks: UInt64
    /// Free blocks an unprivileged user may use.
    public var availableBlocks: UInt64
    public var files: UInt64
    public var freeFiles: UInt64
    public var availableFiles: UInt64
    public var isReadOnly: Bool
    /// Mounted noexec: programs extracted there could not run.
    public var isNoExec: Bool

    init(_ s: cplat_statvfs) {
        fragmentSize = s.f_frsize
        blocks = s.f_blocks
        freeBlocks = s.f_bfree
        availableBlocks = s.f_bavail
        files = s.f_files
        freeFiles = s.f_ffree
        availableFiles = s.f_favail
        isReadOnly = s.f_flag & CPLAT_ST_RDONLY != 0
        isNoExec = s.f_flag & CPLAT_ST_NOEXEC != 0
    }
}

/// The descriptors a process starts with, which the launcher writes to but never owns or closes.
public enum StandardStream: Int32, Sendable {
    case input = 0, output = 1, error = 2
}
