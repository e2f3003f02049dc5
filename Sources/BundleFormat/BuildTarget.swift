/// The platform a bundle is built for: an operating system and a processor, and with them the
/// executable format of the stub and of every program in its layers (ELF on Linux, PE on Windows,
/// Mach-O on macOS). It is part of the signed manifest (docs/format.md, "Manifest header": a header
/// that ends after its entries is `linux-x64`, as every bundle written before targets existed is),
/// `bundle-append build --target` picks the stub by it, and the name rules depend on it
/// (`PathRules`, `EntryRules`; docs/platforms.md, "Target names").
///
/// Only the linux targets have a launcher today; the others exist so that the format, the builder's
/// checks and the name rules are ready before their stubs are (issues 24, 26).
public enum BuildTarget: Sendable, Equatable, CaseIterable {
    case linuxX64
    case linuxArm64
    case windowsX64
    case macosX64
    case macosArm64

    public enum OperatingSystem: Sendable, Equatable {
        case linux, windows, macos
    }

    public enum CPU: Sendable, Equatable {
        case x64, arm64
    }

    /// How a program for a target is laid out: what the builder reads to learn a file's processor.
    public enum ExecutableFormat: Sendable, Equatable {
        case elf, pe, machO
    }

    /// The target a bundle has when nothing says otherwise (and every version 1 bundle written
    /// before targets): what the manifest encodes by leaving the field out.
    public static let `default` = BuildTarget.linuxX64

    public var os: OperatingSystem {
        switch self {
        case .linuxX64, .linuxArm64: return .linux
        case .windowsX64: return .windows
        case .macosX64, .macosArm64: return .macos
        }
    }

    public var cpu: CPU {
        switch self {
        case .linuxX64, .windowsX64, .macosX64: return .x64
        case .linuxArm64, .macosArm64: return .arm64
        }
    }

    public var executableFormat: ExecutableFormat {
        switch os {
        case .linux: return .elf
        case .windows: return .pe
        case .macos: return .machO
        }
    }

    /// The spelling used on the command line, in the manifest and in directory names
    /// (`stubs/<name>/bundle-stub`): the OS as its users name it, then Node's CPU name.
    public var name: String {
        switch self {
        case .linuxX64: return "linux-x64"
        case .linuxArm64: return "linux-arm64"
        case .windowsX64: return "windows-x64"
        case .macosX64: return "macos-x64"
        case .macosArm64: return "macos-arm64"
        }
    }

    public init?(name: String) {
        guard let t = BuildTarget.allCases.first(where: { $0.name.bytesEqual(name) }) else { return nil }
        self = t
    }

    /// What the ELF header of a program for a linux target says: 64-bit, little-endian, and
    /// e_machine 62 (EM_X86_64) or 183 (EM_AARCH64). Used for the linux targets; for the others
    /// it is what their CPU would be in ELF, which no file of theirs should be.
    public var elf: ElfIdentity {
        switch cpu {
        case .x64: return ElfIdentity(elfClass: 2, byteOrder: 1, machine: 62)
        case .arm64: return ElfIdentity(elfClass: 2, byteOrder: 1, machine: 183)
        }
    }
}

/// The part of an ELF header that says which processor a file is for: `e_ident[EI_CLASS]`
/// (1 = 32-bit, 2 = 64-bit), `e_ident[EI_DATA]` (1 = little-endian, 2 = big-endian) and
/// `e_machine` (bytes 18-19, in the file's byte order).
public struct ElfIdentity: Sendable, Equatable, Hashable {
    public var elfClass: UInt8
    public var byteOrder: UInt8
    public var machine: UInt16

    public init(elfClass: UInt8, byteOrder: UInt8, machine: UInt16) {
        self.elfClass = elfClass
        self.byteOrder = byteOrder
        self.machine = machine
    }

    /// The first bytes of every ELF file: `\x7fELF`.
    public static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
    /// Bytes needed to read the identity: `e_ident` (16), `e_type` (2), `e_machine` (2).
    public static let headerPrefixLength = 20

    /// The identity of a file that starts with `prefix`, or nil when it is not an ELF file (no
    /// magic) or too short to say. An unknown class or byte order is kept as read: it matches
    /// no target, so such a file is refused rather than guessed at.
    public init?(prefix: [UInt8]) {
        guard prefix.count >= ElfIdentity.headerPrefixLength, Array(prefix[0..<4]) == ElfIdentity.magic else {
            return nil
        }
        elfClass = prefix[4]
        byteOrder = prefix[5]
        let lo = UInt16(prefix[18]), hi = UInt16(prefix[19])
        machine = byteOrder == 2 ? lo << 8 | hi : hi << 8 | lo
    }

    /// "x86-64", "aarch64", "x86 (32-bit)", "aarch64 (big-endian)", "e_machine 999":
    /// what error messages call the file's architecture.
    public var name: String {
        let base: String
        switch machine {
        case 3: base = "x86"
        case 8: base = "mips"
        case 20: base = "powerpc"
        case 21: base = "powerpc64"
        case 22: base = "s390"
        case 40: base = "arm"
        case 62: base = "x86-64"
        case 183: base = "aarch64"
        case 243: base = "riscv"
        case 258: base = "loongarch"
        default: base = "e_machine \(machine)"
        }
        var notes: [String] = []
        switch elfClass {
        case 1: notes.append("32-bit")
        case 2: break
        default: notes.append("ELF class \(elfClass)")
        }
        switch byteOrder {
        case 1: break
        case 2: notes.append("big-endian")
        default: notes.append("byte order \(byteOrder)")
        }
        return notes.isEmpty ? base : base + " (" + notes.joined(separator: ", ") + ")"
    }
}
