/// One frame of a layer's stored stream: a piece that decodes on its own (one zstd frame, one xz
/// stream or one zlib stream, or plain bytes for codec `none`), so the launcher can decode the
/// frames of a layer on as many threads as the machine has cores (format version 3).
///
/// The layer's decoded stream (its regular files' contents, back to back in table order) is cut
/// into frames at fixed decoded sizes, whatever the file boundaries; each frame is filtered and
/// compressed on its own. `digest` is the BLAKE2b-256 of the frame's stored bytes: the launcher
/// reads a frame into a private buffer, hashes it there and compares before the decoder sees a byte
/// (docs/security.md, "Hash once"). Encoding and rules: docs/format.md, "Frame table".
public struct FrameRecord: Equatable, Sendable {
    /// Where the frame's stored bytes start, from the start of the layer's stored stream.
    public var storedOffset: UInt64
    public var storedSize: UInt64
    /// Where the frame's decoded bytes start in the layer's decoded stream.
    public var decodedOffset: UInt64
    public var decodedSize: UInt64
    /// BLAKE2b-256 of the `storedSize` bytes at `storedOffset`.
    public var digest: [UInt8]

    public init(storedOffset: UInt64, storedSize: UInt64, decodedOffset: UInt64, decodedSize: UInt64, digest: [UInt8]) {
        self.storedOffset = storedOffset
        self.storedSize = storedSize
        self.decodedOffset = decodedOffset
        self.decodedSize = decodedSize
        self.digest = digest
    }

    /// Bytes per frame record in the header: offsets u64, sizes u32, digest 32.
    public static let encodedSize = 8 + 4 + 8 + 4 + 32

    /// The most stored bytes a frame of `decodedSize` bytes may take: zstd, xz and zlib all stay
    /// under this for data that does not compress (zstd adds about 1/256, xz and zlib a few bytes
    /// per 64 KiB, each with a header of at most a few dozen bytes).
    public static func maxStoredSize(decodedSize: UInt64) -> UInt64 { decodedSize + decodedSize / 128 + 1024 }
}

/// The frame table of a layer: its encoding (the frame count, then the records) and the rules a
/// reader checks (docs/format.md, "Frame table").
public enum FrameTable {
    /// Most decoding threads, whatever the processor count.
    public static let maxDecodingThreads = 8
    /// The decoding threads' slots and stored-frame buffers stay under this, so the launcher's
    /// peak RSS stays under 64 MiB: fewer threads for a layer of large frames. 56 MiB lets two
    /// threads decode DGMO's Bun layer in 12 MiB frames (3 × 12 MiB slots and stored frames of up
    /// to 7.4 MiB: 50.9 MiB); 48 MiB allowed only one.
    public static let decodingMemoryBudget = 56 << 20

    /// How many threads the launcher decodes a layer's frames on: one per processor, at most
    /// `maxDecodingThreads`, within `decodingMemoryBudget` (`threads + 1` decoded frames, `threads`
    /// stored frames and, for xz, `threads` dictionaries no larger than a frame), never more than
    /// the layer has frames; 0 (the writer's thread decodes) with one processor or one frame.
    /// `CompressionChoice` times decodes with the same count.
    public static func decodingThreads(_ frames: [FrameRecord], codec: Codec, processors: Int) -> Int {
        guard processors > 1, frames.count > 1 else { return 0 }
        let decoded = Int(frames.map { $0.decodedSize }.max() ?? 0)
        let stored = codec == .none ? 0 : Int(frames.map { $0.storedSize }.max() ?? 0)
        let dictionary = codec == .xz ? decoded : 0
        let byMemory = max(1, (decodingMemoryBudget - decoded) / max(1, decoded + stored + dictionary))
        return min(processors, maxDecodingThreads, byMemory, frames.count)
    }

    public static func encode(_ frames: [FrameRecord], into w: inout ByteWriter) {
        w.u32(UInt32(frames.count))
        for f in frames {
            w.u64(f.storedOffset)
            w.u32(UInt32(f.storedSize))
            w.u64(f.decodedOffset)
            w.u32(UInt32(f.decodedSize))
            w.raw(f.digest)
        }
    }

    /// The encoded frame table alone (what `LayerRecord.framesDigest` hashes).
    public static func encoded(_ frames: [FrameRecord]) -> [UInt8] {
        var w = ByteWriter()
        encode(frames, into: &w)
        return w.bytes
    }

    /// Reads a frame table; the caller checks it with `check` once the layer's sizes are known.
    public static func decode(_ r: inout ByteReader, layerName: String) throws(BundleError) -> [FrameRecord] {
        let count = try r.count(limit: Limits.maxFramesPerLayer, field: "layer '\(layerName)' frame count")
        // Each record is 56 bytes: a count larger than what is left is refused before allocating.
        guard count <= r.remaining / FrameRecord.encodedSize else {
            throw BundleError(.truncated, "manifest: layer '\(layerName)' frame table is truncated")
        }
        var frames: [FrameRecord] = []
        frames.reserveCapacity(count)
        for _ in 0..<count {
            let storedOffset = try r.u64()
            let storedSize = UInt64(try r.u32())
            let decodedOffset = try r.u64()
            let decodedSize = UInt64(try r.u32())
            let digest = try r.raw(32)
            frames.append(
                FrameRecord(
                    storedOffset: storedOffset, storedSize: storedSize, decodedOffset: decodedOffset,
                    decodedSize: decodedSize, digest: digest))
        }
        return frames
    }

    /// The frames tile the layer's stored and decoded streams exactly, in order: frame *i* starts
    /// where frame *i-1* ends (no gap, no overlap), none is empty or over the size limits, and
    /// together they hold exactly the layer's compressed and uncompressed sizes. A layer without
    /// decoded bytes has no frame (and no stored bytes).
    public static func check(
        _ frames: [FrameRecord], layerName name: String, codec: Codec, compressedSize: UInt64, uncompressedSize: UInt64
    ) throws(BundleError) {
        var stored: UInt64 = 0
        var decoded: UInt64 = 0
        for (i, f) in frames.enumerated() {
            for (which, at, expected) in [("stored", f.storedOffset, stored), ("decoded", f.decodedOffset, decoded)]
            where at != expected {
                let what =
                    i == 0
                    ? "does not start at the layer's start"
                    : at < expected ? "overlaps the frame before it" : "leaves a gap after the frame before it"
                throw BundleError(
                    .badManifest,
                    "manifest: layer '\(name)' frame \(i) \(what) (\(which) offset \(at), expected \(expected))")
            }
            guard f.decodedSize >= 1, f.decodedSize <= Limits.maxFrameSize else {
                throw BundleError(
                    .badManifest,
                    "manifest: layer '\(name)' frame \(i) declares \(f.decodedSize) decoded bytes (1 to \(Limits.maxFrameSize) allowed)"
                )
            }
            guard f.storedSize >= 1, f.storedSize <= FrameRecord.maxStoredSize(decodedSize: f.decodedSize) else {
                throw BundleError(
                    .badManifest,
                    "manifest: layer '\(name)' frame \(i) stores \(f.storedSize) bytes for \(f.decodedSize) decoded ones"
                )
            }
            guard codec != .none || f.storedSize == f.decodedSize else {
                throw BundleError(
                    .badManifest,
                    "manifest: uncompressed layer '\(name)' frame \(i) has different stored and decoded sizes")
            }
            stored += f.storedSize  // no overflow: each size < 2^32, at most 2^16 frames
            decoded += f.decodedSize
        }
        guard stored == compressedSize, decoded == uncompressedSize else {
            throw BundleError(
                .badManifest,
                "manifest: layer '\(name)' frames hold \(stored) stored and \(decoded) decoded bytes; the layer declares \(compressedSize) and \(uncompressedSize)"
            )
        }
    }
}
