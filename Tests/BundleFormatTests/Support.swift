import XCTest
import TestSupport
@testable import BundleFormat

// Shared fixtures for the BundleFormat tests: valid values to start from and a raw manifest
// writer that can put any byte anywhere. The assertions on `BundleError` (`assertBundleError`,
// `assertThrowsBundleError`) are in TestSupport, shared with the other test targets.

enum Fx {
    static func digest(_ seed: UInt8) -> [UInt8] { (0..<32).map { seed &+ UInt8($0) } }
    static let keyID: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]

    // MARK: Manifest

    /// A valid manifest and the region lengths it fills exactly.
    struct ManifestFixture {
        var manifest: Manifest
        var layersLength: UInt64
        var tablesLength: UInt64

        func decode(_ bytes: [UInt8]) throws -> Manifest {
            try Manifest(decoding: bytes, layersLength: layersLength, tablesLength: tablesLength)
        }
        func decodeRaw(_ bytes: [UInt8]) throws -> Manifest {
            try bytes.withUnsafeBytes {
                try Manifest(decoding: $0, layersLength: layersLength, tablesLength: tablesLength)
            }
        }
        /// Encodes `manifest` and decodes it against the fixture's region lengths.
        func roundTrip() throws -> Manifest { try decode(manifest.encoded()) }
    }

    /// Three layers (zstd in three frames, none in one, an empty xz one without frames), four
    /// entries with env, placeholders, a default, and an entry with no layers.
    static func manifest() -> ManifestFixture {
        let layers = [
            LayerRecord(
                name: "base", codec: .zstd, offset: 0, compressedSize: 100, uncompressedSize: 1000,
                fileCount: 4, tableOffset: 0, tableLength: 120, digest: digest(0x10),
                frames: FrameFixture.tiling(storedSize: 100, decodedSize: 1000, count: 3, seed: 0x40)),
            LayerRecord(
                name: "py-3.12", codec: .none, offset: 100, compressedSize: 50, uncompressedSize: 50,
                fileCount: 1, tableOffset: 120, tableLength: 40, digest: digest(0x20),
                frames: FrameFixture.tiling(storedSize: 50, decodedSize: 50, seed: 0x50)),
            LayerRecord(
                name: "empty_x", codec: .xz, offset: 150, compressedSize: 0, uncompressedSize: 0,
                fileCount: 0, tableOffset: 160, tableLength: 0, digest: digest(0x30), frames: []),
        ]
        let entries = [
            EntryRecord(
                name: "app", isDefault: true, argv: ["{base}/bin/app", "--flag", "{{not-a-layer}}"],
                env: [.init(key: "APP_HOME", value: "{base}"), .init(key: "_x9", value: "plain ü")], layers: [0]),
            EntryRecord(
                name: "py", isDefault: false, argv: ["{py-3.12}/bin/python", "-I", "{base}/lib"],
                env: [], layers: [0, 1]),
            EntryRecord(name: "tool.v2", isDefault: false, argv: ["/usr/bin/env"], env: [], layers: []),
            EntryRecord(
                name: "all", isDefault: false, argv: ["{empty_x}/run", ""], env: [.init(key: "E", value: "")],
                layers: [0, 1, 2]),
        ]
        let m = Manifest(
            appName: "my-app.x", appVersion: "1.2.3+build", buildTime: 1_700_000_000, keyID: keyID,
            layers: layers, entries: entries)
        return ManifestFixture(manifest: m, layersLength: 150, tablesLength: 160)
    }

    /// `layer` as an uncompressed layer would be: as many decoded bytes as stored ones, in as many
    /// frames as before, each storing exactly its decoded bytes.
    static func uncompressed(_ layer: LayerRecord) -> LayerRecord {
        var l = layer
        l.uncompressedSize = l.compressedSize
        l.frames = FrameFixture.tiling(
            storedSize: l.compressedSize, decodedSize: l.compressedSize, count: max(1, l.frames.count))
        return l
    }

    /// A manifest field by field with raw bytes, so tests can write what `Manifest.encoded()`
    /// never would: invalid UTF-8, unknown codecs, lying counts.
    struct RawManifest {
        struct Layer {
            var name: [UInt8]
            var codec: UInt8
            var offset, compressedSize, uncompressedSize: UInt64
            var fileCount: UInt32
            var tableOffset, tableLength: UInt64
            var digest: [UInt8]
            /// Written as is: the frame count (`frameCount` when set) and 56 bytes per record.
            var frameCount: UInt32? = nil
            var frames: [FrameRecord]
        }
        struct Entry {
            var name: [UInt8]
            var flags: UInt8
            var argvCount: UInt32?
            var argv: [[UInt8]]
            var envCount: UInt32?
            var env: [([UInt8], [UInt8])]
            var layerCount: UInt32?
            var layers: [UInt32]
        }
        var appName: [UInt8]
        var appVersion: [UInt8]
        var buildTime: UInt64
        var keyID: [UInt8]
        var layerCount: UInt32?
        var layers: [Layer]
        var entryCount: UInt32?
        var entries: [Entry]
        var trailing: [UInt8] = []

        init(_ m: Manifest) {
            appName = Array(m.appName.utf8)
            appVersion = Array(m.appVersion.utf8)
            buildTime = m.buildTime
            keyID = m.keyID
            layers = m.layers.map {
                Layer(
                    name: Array($0.name.utf8), codec: $0.codec.rawValue | $0.filter.rawValue << 4, offset: $0.offset,
                    compressedSize: $0.compressedSize,
                    uncompressedSize: $0.uncompressedSize, fileCount: UInt32($0.fileCount), tableOffset: $0.tableOffset,
                    tableLength: $0.tableLength, digest: $0.digest, frames: $0.frames)
            }
            entries = m.entries.map {
                Entry(
                    name: Array($0.name.utf8), flags: $0.isDefault ? 1 : 0, argv: $0.argv.map { Array($0.utf8) },
                    env: $0.env.map { (Array($0.key.utf8), Array($0.value.utf8)) }, layers: $0.layers.map { UInt32($0) }
                )
            }
        }

        func encoded() -> [UInt8] {
            var w = ByteWriter()
            w.string(appName)
            w.string(appVersion)
            w.u64(buildTime)
            w.raw(keyID)
            w.u32(layerCount ?? UInt32(layers.count))
            for l in layers {
                w.string(l.name); w.u8(l.codec)
                w.u64(l.offset); w.u64(l.compressedSize); w.u64(l.uncompressedSize)
                w.u32(l.fileCount); w.u64(l.tableOffset); w.u64(l.tableLength); w.raw(l.digest)
                w.u32(l.frameCount ?? UInt32(l.frames.count))
                for f in l.frames {
                    w.u64(f.storedOffset); w.u32(UInt32(truncatingIfNeeded: f.storedSize))
                    w.u64(f.decodedOffset); w.u32(UInt32(truncatingIfNeeded: f.decodedSize)); w.raw(f.digest)
                }
            }
            w.u32(entryCount ?? UInt32(entries.count))
            for e in entries {
                w.string(e.name); w.u8(e.flags)
                w.u32(e.argvCount ?? UInt32(e.argv.count))
                for a in e.argv { w.string(a) }
                w.u32(e.envCount ?? UInt32(e.env.count))
                for (k, v) in e.env { w.string(k); w.string(v) }
                w.u32(e.layerCount ?? UInt32(e.layers.count))
                for i in e.layers { w.u32(i) }
            }
            w.raw(trailing)
            return w.bytes
        }
    }

    // MARK: Trailer

    /// A valid signed trailer of a 10,000-byte file.
    static let fileSize: UInt64 = 10_000
    static func trailer(signed: Bool = true) -> Trailer {
        let sigEnd = fileSize - UInt64(Trailer.size)  // 9904
        let sigStart = signed ? sigEnd - UInt64(SignatureBlock.size) : sigEnd
        return Trailer(
            signed: signed, layers: 1000..<5000, header: 5000..<6000, tables: 6000..<sigStart,
            signature: sigStart..<sigEnd)
    }

    /// Offsets of the trailer fields.
    enum TrailerField: Int, CaseIterable {
        case layers = 16, header = 32, tables = 48, signature = 64
        var name: String {
            switch self {
            case .layers: "layers";
            case .header: "header";
            case .tables: "tables";
            case .signature: "signature"
            }
        }
    }

    // MARK: File table

    /// A valid table with nested directories, regular files (one empty), symlinks at several
    /// depths, a non-ASCII name and a nested (allowed) marker name.
    static func files() -> [FileRecord] {
        func dir(_ p: String, _ mode: UInt32 = 0o755) -> FileRecord {
            FileRecord(kind: .directory, mode: mode, size: 0, path: Array(p.utf8))
        }
        func file(_ p: String, _ size: UInt64, _ mode: UInt32 = 0o644) -> FileRecord {
            FileRecord(
                kind: .regular, mode: mode, size: size, path: Array(p.utf8),
                digest: digest(UInt8(truncatingIfNeeded: size)))
        }
        func link(_ p: String, _ t: String) -> FileRecord {
            FileRecord(kind: .symlink, mode: 0o777, size: 0, path: Array(p.utf8), linkTarget: Array(t.utf8))
        }
        let records = [
            dir("bin"),
            file("bin/tool", 700, 0o755),
            link("bin/tool-link", "tool"),
            link("bin/up", "../lib/libx.so"),
            file("empty", 0),
            dir("lib"),
            dir("lib/.dgmo-layer"),
            file("lib/libx.so", 250),
            dir("lib/sub"),
            link("lib/sub/deep", "../../bin/./tool"),
            link("lib/sub/root", "../.."),
            file("résumé.txt", 50, 0o600),
            link("top", "lib/sub/deep"),
        ]
        return records.sorted { $0.path.lexicographicallyPrecedes($1.path) }
    }

    /// The layer record a table of `records` belongs to (what `FileTable.decode` checks it against).
    /// Its frames are consistent when the records add up to a layer of one frame; tables whose sizes
    /// add up to more (up to overflowing) get no frame, which only a manifest would refuse.
    static func layer(for records: [FileRecord], name: String = "base") -> LayerRecord {
        let size = records.reduce(0) { $0 + $1.size }
        let stored: UInt64 = size == 0 ? 0 : 10
        return LayerRecord(
            name: name, codec: .zstd, offset: 0, compressedSize: stored, uncompressedSize: size,
            fileCount: records.count, tableOffset: 0, tableLength: UInt64(FileTable.encode(records).count),
            digest: digest(0),
            frames: size <= Limits.maxFrameSize ? FrameFixture.tiling(storedSize: stored, decodedSize: size) : [])
    }

    static func dir(_ p: String) -> FileRecord {
        FileRecord(kind: .directory, mode: 0o755, size: 0, path: Array(p.utf8))
    }
    static func file(_ p: String, size: UInt64 = 1) -> FileRecord {
        FileRecord(kind: .regular, mode: 0o644, size: size, path: Array(p.utf8), digest: digest(7))
    }
    static func file(bytes p: [UInt8], size: UInt64 = 1) -> FileRecord {
        FileRecord(kind: .regular, mode: 0o644, size: size, path: p, digest: digest(7))
    }
    static func link(_ p: String, _ target: String) -> FileRecord {
        FileRecord(kind: .symlink, mode: 0o777, size: 0, path: Array(p.utf8), linkTarget: Array(target.utf8))
    }

    /// Decodes the encoding of `records` against `layer` (by default one that matches them).
    static func decodeTable(_ records: [FileRecord], layer: LayerRecord? = nil) throws -> [FileRecord] {
        try FileTable.decode(FileTable.encode(records), layer: layer ?? Fx.layer(for: records))
    }

    /// Byte offset of record `index` in the encoding of `records`.
    static func recordOffset(_ records: [FileRecord], _ index: Int) -> Int {
        FileTable.encode(Array(records.prefix(index))).count
    }
}

extension Array where Element == UInt8 {
    func putting32(_ v: UInt32, at i: Int) -> [UInt8] {
        var b = self
        for k in 0..<4 { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
        return b
    }
    func putting64(_ v: UInt64, at i: Int) -> [UInt8] {
        var b = self
        for k in 0..<8 { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
        return b
    }
    func setting(_ i: Int, _ v: UInt8) -> [UInt8] { var b = self; b[i] = v; return b }
}
