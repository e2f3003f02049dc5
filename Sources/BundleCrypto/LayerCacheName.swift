import BundleFormat

/// The name a layer's extracted tree has in a cache: `layers/<cache name>` in the user's cache and
/// `/var/cache/<app>/layers/<cache name>` in the system cache (docs/format.md, "Cache name").
///
/// Why not the layer digest alone: the layer digest covers the file table (paths, modes, sizes and
/// each file's digest), but since format version 2 the launcher does not hash the files it writes; it
/// checks each stored frame against its digest instead ("Hash once", docs/security.md). Nothing
/// then binds the decoded files to the table at launch, so a bundle signed by another key that copied
/// a victim's table with other bytes of the same sizes would publish its own bytes under the victim's
/// name, and the victim's launcher would run them. The cache name binds everything that decides the
/// decoded bytes — the table digest, the frames digest (which binds every stored byte), the codec and filter, and the
/// sizes — so two layers share a directory only when they carry the same stored bytes for the same
/// table. Builds that produce the same bytes (reproducible releases, two apps shipping one runtime) still
/// share. Every input is in the signed header: naming costs two BLAKE2b (of the frame table, then of
/// 109 bytes), no I/O.
extension LayerRecord {
    /// Domain separation, first in the hashed bytes. Its first byte (`D`, 0x44) is no file-table record
    /// type (0, 1 or 2), so these bytes are never a valid file table, and no layer digest (the name an
    /// older launcher gives a layer) can equal a cache name unless BLAKE2b is broken.
    public static let cacheNameDomain: [UInt8] = Array("DGMO-LAYER-CACHE-NAME-V2".utf8)

    /// The bytes whose BLAKE2b-256 is the cache name: the domain, then the codec byte (codec | filter << 4),
    /// the compressed and uncompressed sizes (u64 LE), the file count (u32 LE), the layer (table) digest
    /// and the frames digest (`framesDigest`).
    public var cacheNameInput: [UInt8] {
        var w = ByteWriter()
        w.raw(LayerRecord.cacheNameDomain)
        w.u8(codec.rawValue | filter.rawValue << 4)
        w.u64(compressedSize)
        w.u64(uncompressedSize)
        w.u32(UInt32(fileCount))
        w.raw(digest)
        w.raw(framesDigest)
        return w.bytes
    }

    /// BLAKE2b-256 of the layer's encoded frame table (`FrameTable.encoded`): it binds every frame's
    /// offsets, sizes and the digest of its stored bytes, so through it every stored byte. Format
    /// version 3's stand-in for version 2's data digest of the whole stored stream.
    public var framesDigest: [UInt8] { Blake2b.hash(FrameTable.encoded(frames)) }

    /// The cache name: 64 lower-case hex digits of BLAKE2b-256 of `cacheNameInput`.
    public var cacheName: String { Hex.encode(Blake2b.hash(cacheNameInput)) }
}
