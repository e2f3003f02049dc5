/// Where a bundle ends in its file, so where its trailer is (docs/format.md, "Overall layout",
/// "Finding the trailer").
///
/// A bundle whose stub is not a PE file (ELF) ends at the end of its file. A PE bundle (a Windows
/// stub) may be Authenticode-signed after it is built: the signing tool appends a certificate
/// table after the trailer and records its file offset and size in the PE optional header's data
/// directory 4 (`IMAGE_DIRECTORY_ENTRY_SECURITY`). Such a bundle ends where that table starts, and
/// the table must run exactly to the end of the file. `bundle-append build` makes a PE bundle's
/// length a multiple of 8, so a signing tool, which starts the table on an 8-byte boundary, inserts
/// no padding and the trailer ends exactly at the table; a PE bundle whose end is not a multiple of
/// 8 is refused. Every refusal is one `badTrailer` line.
public struct TrailerLocation: Equatable, Sendable {
    /// Bytes a reader reads from the start of the file: the PE headers through data directory 4
    /// must lie within them (the builder reads as many to identify a stub, `ExecutableIdentity`).
    public static let prefixLength = 4096
    /// A PE bundle's length is a multiple of this: the alignment of the certificate table.
    public static let peAlignment: UInt64 = 8

    /// Where the bundle, and so its trailer, ends: the file's size, or the certificate table's offset.
    public let end: UInt64
    /// Whether the file is a PE image (it starts with "MZ").
    public let isPE: Bool
    /// The Authenticode certificate table, `end ..< file size`; nil when the file has none.
    public let certificateTable: Range<UInt64>?

    /// The location in a file of `fileSize` bytes whose first bytes are `prefix` (`prefixLength`
    /// of them, or the whole file when it is shorter).
    public init(prefix: [UInt8], fileSize: UInt64) throws(BundleError) {
        guard let directory = try PECertificateDirectory(prefix: prefix) else {
            end = fileSize
            isPE = false
            certificateTable = nil
            return
        }
        isPE = true
        let offset = UInt64(directory.offset), size = UInt64(directory.size)
        if offset == 0 && size == 0 {
            end = fileSize
            certificateTable = nil
        } else {
            guard offset != 0, size != 0 else {
                throw BundleError(
                    .badTrailer, "PE file: its certificate table entry is half empty (offset \(offset), size \(size))")
            }
            guard offset + size <= fileSize else {  // u32 + u32: no overflow in 64 bits
                throw BundleError(
                    .badTrailer,
                    "PE file: its certificate table (offset \(offset), size \(size)) runs past the end of the file (\(fileSize) bytes)"
                )
            }
            guard offset + size == fileSize else {
                let extra = fileSize - offset - size
                throw BundleError(
                    .badTrailer,
                    "PE file: \(extra) byte\(extra == 1 ? "" : "s") follow its certificate table (offset \(offset), size \(size)): data appended after signing is refused"
                )
            }
            guard offset >= UInt64(Trailer.size) else {
                throw BundleError(
                    .badTrailer,
                    "PE file: its certificate table at offset \(offset) leaves no room for a bundle trailer before it")
            }
            end = offset
            certificateTable = offset..<fileSize
        }
        guard end % TrailerLocation.peAlignment == 0 else {
            throw BundleError(
                .badTrailer,
                "PE file: the bundle ends at byte \(end), not a multiple of \(TrailerLocation.peAlignment) (bundle-append pads a PE bundle to 8 bytes so that a certificate table can follow it without padding)"
            )
        }
    }
}

/// Data directory 4 of a PE image's optional header (`IMAGE_DIRECTORY_ENTRY_SECURITY`): the file
/// offset (the PE/COFF specification calls it `VirtualAddress`, but for this directory it is a file
/// offset) and the size of the Authenticode certificate table, both zero when the file has none.
///
/// Read from the file's first bytes: `"MZ"`; `e_lfanew` (u32 at 0x3C); `"PE\0\0"` there; the
/// 20-byte COFF header, whose `SizeOfOptionalHeader` (u16 at 16) must reach data directory 4; the
/// optional header's magic (u16 at 0) must be 0x20B (PE32+: every PE target is 64-bit), its
/// `NumberOfRvaAndSizes` (u32 at 108) at least 5, and data directory 4 is the 8 bytes at 144.
public struct PECertificateDirectory: Equatable, Sendable {
    public var offset: UInt32
    public var size: UInt32

    /// "MZ": the first bytes of every PE file.
    public static let dosMagic: [UInt8] = [0x4D, 0x5A]
    /// The optional header magic of a PE32+ image.
    public static let pe32PlusMagic: UInt16 = 0x20B
    /// Bytes of a PE32+ optional header up to the end of data directory 4.
    static let optionalHeaderNeeded = 144 + 8

    public init(offset: UInt32, size: UInt32) {
        self.offset = offset
        self.size = size
    }

    /// The entry of a file whose first bytes are `prefix`, or nil when the file is not a PE file
    /// (does not start with "MZ"). A file that starts with "MZ" but whose headers are cut short,
    /// lie outside `prefix`, or are not PE32+ headers with a data directory 4 is refused.
    public init?(prefix: [UInt8]) throws(BundleError) {
        guard prefix.count >= 2, prefix[0] == PECertificateDirectory.dosMagic[0],
            prefix[1] == PECertificateDirectory.dosMagic[1]
        else { return nil }
        guard prefix.count >= 0x40 else {
            throw BundleError(.badTrailer, "PE file: the DOS header is cut short (\(prefix.count) bytes)")
        }
        let lfanew = PECertificateDirectory.le32(prefix, 0x3C)
        // The signature, the COFF header and the optional header through data directory 4.
        let needed = UInt64(lfanew) + 4 + 20 + UInt64(PECertificateDirectory.optionalHeaderNeeded)
        guard needed <= UInt64(prefix.count) else {
            throw BundleError(
                .badTrailer,
                "PE file: its headers (e_lfanew 0x\(String(lfanew, radix: 16))) do not lie within the first \(prefix.count) bytes of the file"
            )
        }
        let pe = Int(lfanew)
        guard prefix[pe] == 0x50, prefix[pe + 1] == 0x45, prefix[pe + 2] == 0, prefix[pe + 3] == 0 else {
            throw BundleError(
                .badTrailer, "PE file: no \"PE\" signature at e_lfanew 0x\(String(lfanew, radix: 16))")
        }
        let coff = pe + 4
        let optionalSize = Int(PECertificateDirectory.le16(prefix, coff + 16))
        let optional = coff + 20
        let magic = PECertificateDirectory.le16(prefix, optional)
        guard magic == PECertificateDirectory.pe32PlusMagic else {
            throw BundleError(
                .badTrailer,
                "PE file: optional header magic 0x\(String(magic, radix: 16)) is not PE32+ (0x20b)")
        }
        guard optionalSize >= PECertificateDirectory.optionalHeaderNeeded else {
            throw BundleError(
                .badTrailer,
                "PE file: its optional header of \(optionalSize) bytes is too short to hold the certificate table entry"
            )
        }
        let directories = PECertificateDirectory.le32(prefix, optional + 108)
        guard directories >= 5 else {
            throw BundleError(
                .badTrailer,
                "PE file: its optional header has \(directories) data directories, fewer than the 5 that reach the certificate table entry"
            )
        }
        offset = PECertificateDirectory.le32(prefix, optional + 144)
        size = PECertificateDirectory.le32(prefix, optional + 148)
    }

    public var isEmpty: Bool { offset == 0 && size == 0 }

    static func le16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
    static func le32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
}
