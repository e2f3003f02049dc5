import BundleFormat

/// Frame tables for fixtures whose layers have made-up sizes and no real stored bytes (format
/// version 3, `FrameTable.check`): the frames tile the layer's stored and decoded streams exactly,
/// with made-up digests.
public enum FrameFixture {
    /// Frames that tile a layer of `storedSize` stored and `decodedSize` decoded bytes: none for a
    /// layer without decoded bytes (which must store none either); otherwise as few frames as
    /// `Limits.maxFrameSize` allows, or `count` of them, both sizes split as evenly as possible.
    /// Digests are `seed`, `seed + 1`, ... repeated over 32 bytes, one seed per frame.
    public static func tiling(
        storedSize: UInt64, decodedSize: UInt64, count: Int? = nil, seed: UInt8 = 0x70
    ) -> [FrameRecord] {
        guard decodedSize > 0 else {
            precondition(storedSize == 0, "a layer without decoded bytes stores none")
            return []
        }
        let n = UInt64(count ?? Int((decodedSize + Limits.maxFrameSize - 1) / Limits.maxFrameSize))
        precondition(n >= 1 && storedSize >= n && decodedSize >= n, "every frame holds at least one byte")
        var frames: [FrameRecord] = []
        var stored: UInt64 = 0
        var decoded: UInt64 = 0
        for i in 0..<n {
            let s = storedSize / n + (i < storedSize % n ? 1 : 0)
            let d = decodedSize / n + (i < decodedSize % n ? 1 : 0)
            precondition(d <= Limits.maxFrameSize && s <= FrameRecord.maxStoredSize(decodedSize: d))
            let digestSeed = seed &+ UInt8(truncatingIfNeeded: i)
            frames.append(
                FrameRecord(
                    storedOffset: stored, storedSize: s, decodedOffset: decoded, decodedSize: d,
                    digest: [UInt8](repeating: digestSeed, count: 32)))
            stored += s
            decoded += d
        }
        return frames
    }

    /// Checks, independently of `FrameTable.check`, that `frames` tile a layer of `storedSize`
    /// stored and `decodedSize` decoded bytes within the format's limits; returns what is wrong,
    /// or nil when nothing is.
    public static func tilingProblem(
        _ frames: [FrameRecord], storedSize: UInt64, decodedSize: UInt64, codec: Codec
    ) -> String? {
        if frames.count > Limits.maxFramesPerLayer { return "\(frames.count) frames" }
        var stored: UInt64 = 0
        var decoded: UInt64 = 0
        for (i, f) in frames.enumerated() {
            if f.storedOffset != stored { return "frame \(i) stored offset \(f.storedOffset), expected \(stored)" }
            if f.decodedOffset != decoded { return "frame \(i) decoded offset \(f.decodedOffset), expected \(decoded)" }
            if f.decodedSize == 0 || f.decodedSize > 16 << 20 { return "frame \(i) decodes to \(f.decodedSize) bytes" }
            if f.storedSize == 0 || f.storedSize > f.decodedSize + f.decodedSize / 128 + 1024 {
                return "frame \(i) stores \(f.storedSize) bytes for \(f.decodedSize)"
            }
            if codec == .none, f.storedSize != f.decodedSize { return "frame \(i) of codec none changes size" }
            if f.digest.count != 32 { return "frame \(i) digest of \(f.digest.count) bytes" }
            stored += f.storedSize
            decoded += f.decodedSize
        }
        if stored != storedSize || decoded != decodedSize {
            return "frames hold \(stored)/\(decoded), the layer \(storedSize)/\(decodedSize)"
        }
        return nil
    }
}
