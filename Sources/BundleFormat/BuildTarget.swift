/// The platform a bundle is built for: the stub's architecture and that of every ELF file in its
/// layers. It is part of the signed manifest (docs/format.md, "Manifest header": a header that
/// ends after its entries is `linux-x64`, as every bundle written before targets existed is),
/// and `bundle-append build --target` picks the stub by it (docs/platforms.md).
public enum BuildTarget: Sendable, Equatable, CaseIterable {
    case linuxX64
    case linuxArm64

    /// The target a bundle has when nothing says otherwise (and every version 1 bundle written
    /// before targets): what the manifest encodes by leaving the field out.
    public static let `default` = BuildTarget.linuxX64

    /// The spelling used on the command line, in the manifest and in directory names
    /// (`stubs/<name>/bundle-stub`).
    public var name: String {
        switch self {
        case .linuxX64: return "linux-x64"
        case .linuxArm64: return "linux-arm64"
        }
    }

    public init?(name: String) {
        switch name {
        case "linux-x64": self = .linuxX64
        case "linux-arm64": self = .linuxArm64
        default: return nil
        }
    }

    /// What the ELF header of a program for this target says: 64-bit, little-endian, and
    /// e_machine 62 (EM_X86_64) or 183 (EM_AARCH64).
    public var elf: ElfIdentity {
        switch self {
        case .linuxX64: return ElfIdentity(elfClass: 2, byteOrder: 1, machine: 62)
        case .linuxArm64: return ElfIdentity(elfClass: 2, byteOrder: 1, machine: 183)
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
