/// How a layer's bytes are compressed inside the bundle. The raw value is the byte
/// stored in the manifest (docs/format.md), so it must never be renumbered.
public enum Codec: UInt8, Sendable, CaseIterable {
    case none = 0
    case zstd = 1
    case xz = 2
    case zlib = 3

    /// The spelling used in bundle specs and tool output.
    public var name: String {
        switch self {
        case .none: return "none"
        case .zstd: return "zstd"
        case .xz: return "xz"
        case .zlib: return "zlib"
        }
    }

    public init?(name: String) {
        guard let codec = Codec.allCases.first(where: { $0.name == name }) else { return nil }
        self = codec
    }

    /// Levels a spec may ask for; `nil` means the codec takes no level.
    public var levelRange: ClosedRange<Int>? {
        switch self {
        case .none: return nil
        case .zstd: return 1...22
        case .xz: return 0...9
        case .zlib: return 1...9
        }
    }

    /// Level used when the spec names none.
    public var defaultLevel: Int {
        switch self {
        case .none: return 0
        case .zstd: return 9
        case .xz: return 6
        case .zlib: return 6
        }
    }
}

/// A reversible transform of a layer's stream applied before compression and undone after
/// decoding, to make machine code compress better (docs/format.md, "Filters"). Stored in the
/// high four bits of the layer record's codec byte; the raw value must never be renumbered.
public enum LayerFilter: UInt8, Sendable, CaseIterable {
    case none = 0
    /// x86 `call`/`jmp rel32` operands rewritten as stream positions (`X86BranchFilter`).
    case x86 = 1
    /// ARM64 `BL` and `ADRP` immediates rewritten as absolute targets (`Arm64BranchFilter`);
    /// new in format version 3.
    case arm64 = 2

    /// The spelling used in bundle specs and tool output.
    public var name: String {
        switch self {
        case .none: return "none"
        case .x86: return "x86"
        case .arm64: return "arm64"
        }
    }

    public init?(name: String) {
        guard let filter = LayerFilter.allCases.first(where: { $0.name == name }) else { return nil }
        self = filter
    }
}
