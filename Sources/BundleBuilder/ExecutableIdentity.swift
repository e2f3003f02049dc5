import BundleFormat

/// Which processor a program is for, read from its first bytes in each target's executable format
/// (`BuildTarget.executableFormat`): an ELF file's `e_machine`, a PE file's COFF `Machine`, a Mach-O
/// file's `cputype` (every slice's, for a universal file). Files that are none of these (scripts,
/// data) have no identity. The builder reads it to refuse a stub or a layer file built for another
/// platform (`ArchitectureCheck`); it lives here and not in BundleFormat because the launcher
/// never needs it.
public enum ExecutableIdentity: Sendable, Hashable {
    case elf(ElfIdentity)
    /// COFF `Machine`: 0x8664 x86-64, 0xAA64 arm64, 0x14C i386.
    case pe(machine: UInt16)
    /// `cputype` of a thin file, or of each slice of a universal (fat) one; `bits` is 32 or 64 for a
    /// thin file and 0 for a universal one (whose slices' own headers are not read).
    case machO(cpuTypes: [UInt32], bits: Int)

    /// Bytes read to identify a file: enough for a PE header at a usual `e_lfanew` and for a
    /// universal file's slice table (at most `maxFatSlices` entries).
    public static let prefixLength = 4096
    /// A universal file lists at most this many slices; more is a Java class file (same magic,
    /// 0xCAFEBABE, followed by its version: 45 or more), not a Mach-O file.
    static let maxFatSlices: UInt32 = 20

    static let peMachineX64: UInt16 = 0x8664
    static let peMachineArm64: UInt16 = 0xAA64
    static let machOX64: UInt32 = 0x0100_0007
    static let machOArm64: UInt32 = 0x0100_000C

    /// The identity of a file whose first bytes are `prefix` (`prefixLength` of them, or all of a
    /// shorter file), or nil when it is no executable in any of the three formats.
    public init?(prefix: [UInt8]) {
        if let elf = ElfIdentity(prefix: prefix) {
            self = .elf(elf)
            return
        }
        func le16(_ at: Int) -> UInt16? {
            at >= 0 && at + 2 <= prefix.count ? UInt16(prefix[at]) | UInt16(prefix[at + 1]) << 8 : nil
        }
        func u32(_ at: Int, bigEndian: Bool) -> UInt32? {
            guard at >= 0, at + 4 <= prefix.count else { return nil }
            let b = prefix[at..<at + 4].map(UInt32.init)
            return bigEndian ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0]
        }
        // PE: "MZ", e_lfanew (u32 LE at 0x3C), "PE\0\0" there, then the COFF header's Machine. An
        // "MZ" file without that signature (a DOS program, or text that starts with MZ) is none.
        if prefix.starts(with: [0x4D, 0x5A]), let lfanew = u32(0x3C, bigEndian: false), lfanew < prefix.count,
            prefix[Int(lfanew)...].starts(with: [0x50, 0x45, 0, 0]), let machine = le16(Int(lfanew) + 4)
        {
            self = .pe(machine: machine)
            return
        }
        guard let magic = u32(0, bigEndian: true) else { return nil }
        switch magic {
        case 0xCFFA_EDFE, 0xCEFA_EDFE:  // MH_MAGIC_64, MH_MAGIC stored little-endian
            guard let cpu = u32(4, bigEndian: false) else { return nil }
            self = .machO(cpuTypes: [cpu], bits: magic == 0xCFFA_EDFE ? 64 : 32)
        case 0xFEED_FACF, 0xFEED_FACE:  // the same, big-endian (PowerPC)
            guard let cpu = u32(4, bigEndian: true) else { return nil }
            self = .machO(cpuTypes: [cpu], bits: magic == 0xFEED_FACF ? 64 : 32)
        case 0xCAFE_BABE, 0xCAFE_BABF:  // FAT_MAGIC, FAT_MAGIC_64: always big-endian
            guard let count = u32(4, bigEndian: true), count >= 1, count <= ExecutableIdentity.maxFatSlices else {
                return nil
            }
            let entry = magic == 0xCAFE_BABE ? 20 : 32  // fat_arch, fat_arch_64: cputype comes first
            var types: [UInt32] = []
            for i in 0..<Int(count) {
                guard let cpu = u32(8 + i * entry, bigEndian: true) else { return nil }
                types.append(cpu)
            }
            self = .machO(cpuTypes: types, bits: 0)
        default:
            return nil
        }
    }

    public var format: BuildTarget.ExecutableFormat {
        switch self {
        case .elf: return .elf
        case .pe: return .pe
        case .machO: return .machO
        }
    }

    /// Whether a program with this identity runs on `target`: its format, and its processor (one
    /// of a universal file's slices is enough: macOS picks it).
    public func runs(on target: BuildTarget) -> Bool {
        switch self {
        case .elf(let e): return target.executableFormat == .elf && e == target.elf
        case .pe(let m): return target.executableFormat == .pe && m == ExecutableIdentity.peMachine(target.cpu)
        case .machO(let types, let bits):
            return target.executableFormat == .machO && bits != 32
                && types.contains(ExecutableIdentity.machOCPU(target.cpu))
        }
    }

    static func peMachine(_ cpu: BuildTarget.CPU) -> UInt16 { cpu == .x64 ? peMachineX64 : peMachineArm64 }
    static func machOCPU(_ cpu: BuildTarget.CPU) -> UInt32 { cpu == .x64 ? machOX64 : machOArm64 }

    /// "an aarch64 ELF file", "an x86-64 PE file", "a Mach-O universal file (x86-64, arm 32-bit)":
    /// what error messages call the file. The ELF wording is the one used before other formats.
    public var description: String {
        switch self {
        case .elf(let e): return "an \(e.name) ELF file"
        case .pe(let m): return "an \(ExecutableIdentity.peName(m)) PE file"
        case .machO(let types, let bits):
            if bits == 0 {
                return "a Mach-O universal file (\(types.map(ExecutableIdentity.machOName).joined(separator: ", ")))"
            }
            return "an \(ExecutableIdentity.machOName(types[0]))\(bits == 32 ? " (32-bit)" : "") Mach-O file"
        }
    }

    static func peName(_ machine: UInt16) -> String {
        switch machine {
        case peMachineX64: return "x86-64"
        case peMachineArm64: return "aarch64"
        case 0x14C: return "x86 (32-bit)"
        case 0x1C0, 0x1C4: return "arm (32-bit)"
        default: return "Machine 0x\(String(machine, radix: 16))"
        }
    }

    static func machOName(_ cpu: UInt32) -> String {
        switch cpu {
        case machOX64: return "x86-64"
        case machOArm64: return "aarch64"
        case 7: return "x86"
        case 12: return "arm"
        case 18, 0x0100_0012: return "powerpc"
        default: return "cputype 0x\(String(cpu, radix: 16))"
        }
    }
}

extension BuildTarget {
    /// What the target's programs are, as error messages say it: "x86-64" and "aarch64" for the
    /// linux targets (as before other formats), "x86-64 PE", "aarch64 Mach-O" for the others.
    public var programDescription: String {
        let cpu = self.cpu == .x64 ? "x86-64" : "aarch64"
        switch executableFormat {
        case .elf: return cpu
        case .pe: return cpu + " PE"
        case .machO: return cpu + " Mach-O"
        }
    }

    /// The executable formats whose files, found in a layer, refuse the build although they are
    /// not the target's own format (whose files must be for the target's processor):
    /// - linux: none, as before other formats were read: an ELF file is the only kind checked;
    /// - windows-x64: ELF and Mach-O (a Linux or macOS build's output in a Windows layer);
    /// - macOS: ELF. PE files are allowed outside Windows because pip and setuptools carry Windows
    ///   launchers (`t64.exe`, `cli-64.exe`) as data in every Python tree (docs/platforms.md).
    public var refusedForeignFormats: [ExecutableFormat] {
        switch os {
        case .linux: return []
        case .windows: return [.elf, .machO]
        case .macos: return [.elf]
        }
    }
}
