/// The fixed-size record at the very end of a bundle: where everything else is. The bundle ends
/// at the end of its file, or for a signed PE file where its certificate table starts
/// (`TrailerLocation`).
///
/// Layout (docs/format.md, "Trailer"), 96 bytes, little-endian:
/// ```
///  0  8  magic "DGMOBNDL"
///  8  4  format version (3)
/// 12  4  flags: bit 0 = signed
/// 16  8  layers offset      24  8  layers length
/// 32  8  header offset      40  8  header length
/// 48  8  tables offset      56  8  tables length
/// 64  8  signature offset   72  8  signature length
/// 80 16  reserved, zero
/// ```
/// The regions follow each other without gaps in that order, and the signature block
/// ends where the trailer starts; anything else is refused.
public struct Trailer: Equatable, Sendable {
    public static let size = 96
    public static let magic: [UInt8] = Array("DGMOBNDL".utf8)
    public static let currentVersion: UInt32 = 3
    public static let signedFlag: UInt32 = 1

    public var version: UInt32 = Trailer.currentVersion
    public var flags: UInt32
    public var layers: Range<UInt64>
    public var header: Range<UInt64>
    public var tables: Range<UInt64>
    public var signature: Range<UInt64>

    public var isSigned: Bool { flags & Trailer.signedFlag != 0 }

    public init(
        signed: Bool, layers: Range<UInt64>, header: Range<UInt64>, tables: Range<UInt64>, signature: Range<UInt64>
    ) {
        self.flags = signed ? Trailer.signedFlag : 0
        self.layers = layers
        self.header = header
        self.tables = tables
        self.signature = signature
    }

    /// Where the appended data starts: everything before is the stub.
    public var stubLength: UInt64 { layers.lowerBound }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Trailer.magic)
        w.u32(version)
        w.u32(flags)
        for r in [layers, header, tables, signature] {
            w.u64(r.lowerBound)
            w.u64(r.upperBound - r.lowerBound)  // not r.count: an Int, which traps past Int.max
        }
        w.raw([UInt8](repeating: 0, count: 16))
        return w.bytes
    }

    /// Parses and checks the last `Trailer.size` bytes of a bundle that ends at `fileSize`: the
    /// file's size, or the `end` a `TrailerLocation` found (a signed PE file's certificate table
    /// follows the bundle).
    public init(decoding bytes: UnsafeRawBufferPointer, fileSize: UInt64) throws(BundleError) {
        try self.init(decoding: Array(bytes), fileSize: fileSize)
    }

    public init(decoding bytes: [UInt8], fileSize: UInt64) throws(BundleError) {
        guard bytes.count == Trailer.size, fileSize >= UInt64(Trailer.size) else {
            throw BundleError(.badTrailer, "file is too small to hold a bundle trailer (\(fileSize) bytes)")
        }
        var r = ByteReader(bytes, what: "trailer", code: .badTrailer)
        guard try r.raw(8) == Trailer.magic else {
            throw BundleError(
                .badTrailer, "no bundle found: bad trailer magic (was the file truncated, stripped or never bundled?)")
        }
        version = try r.u32()
        guard version == Trailer.currentVersion else {
            throw BundleError(
                .badTrailer,
                "unsupported bundle format version \(version) (this launcher reads version \(Trailer.currentVersion))")
        }
        flags = try r.u32()
        guard flags & ~Trailer.signedFlag == 0 else {
            throw BundleError(.badTrailer, "trailer has unknown flags 0x\(String(flags, radix: 16))")
        }
        var ranges: [Range<UInt64>] = []
        for name in ["layers", "header", "tables", "signature"] {
            let offset = try r.u64()
            let length = try r.u64()
            let (end, overflow) = offset.addingReportingOverflow(length)
            guard !overflow, end <= fileSize - UInt64(Trailer.size) else {
                throw BundleError(
                    .badTrailer, "trailer: \(name) region (offset \(offset), length \(length)) lies outside the file")
            }
            ranges.append(offset..<end)
        }
        guard try r.raw(16).allSatisfy({ $0 == 0 }) else {
            throw BundleError(.badTrailer, "trailer: reserved bytes are not zero")
        }
        layers = ranges[0]; header = ranges[1]; tables = ranges[2]; signature = ranges[3]

        guard layers.upperBound == header.lowerBound, header.upperBound == tables.lowerBound,
            tables.upperBound == signature.lowerBound, signature.upperBound == fileSize - UInt64(Trailer.size)
        else { throw BundleError(.badTrailer, "trailer: regions overlap or leave gaps") }
        let headerLength = header.upperBound - header.lowerBound
        let signatureLength = signature.upperBound - signature.lowerBound
        guard headerLength > 0, headerLength <= Limits.maxHeaderLength else {
            throw BundleError(
                .badTrailer, "trailer: manifest header length \(headerLength) is outside 1...\(Limits.maxHeaderLength)")
        }
        guard signatureLength <= Limits.maxSignatureLength else {
            throw BundleError(
                .badTrailer,
                "trailer: signature block length \(signatureLength) is over the limit of \(Limits.maxSignatureLength)")
        }
        guard isSigned == (signatureLength > 0) else {
            throw BundleError(
                .badTrailer,
                isSigned
                    ? "trailer: signed bundle without a signature block"
                    : "trailer: unsigned bundle with a signature block")
        }
    }
}
