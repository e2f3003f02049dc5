/// Hard limits every reader enforces before it allocates or trusts a size from a file.
/// They bound the launcher's time and memory whatever the input (docs/format.md, "Limits").
public enum Limits {
    /// Largest manifest header (app metadata, layer table, entries).
    public static let maxHeaderLength: UInt64 = 4 << 20
    /// Largest file table of one layer: both its stored (compressed) length, checked with the
    /// manifest, and its decoded length, checked while it is decoded.
    public static let maxFileTableLength: UInt64 = 256 << 20
    /// zstd window of a stored file table: 2^17 = 128 KiB, what the builder writes and the most the
    /// launcher's table decoder accepts. A table's redundancy is local (sorted paths, one record
    /// after another): on a 20,000-file table a 1 MiB window is only 1.2 % smaller, and it cost the
    /// launcher 4 MiB more peak RSS (two table streams, each with window and buffers).
    public static let fileTableWindowLog: Int32 = 17
    /// Largest signature block.
    public static let maxSignatureLength: UInt64 = 4096
    public static let maxLayers = 256
    public static let maxEntries = 256
    public static let maxFilesPerLayer = 1_000_000
    /// Longest relative path inside a layer, in bytes.
    public static let maxPathLength = 4096
    /// Longest single path component, in bytes (NAME_MAX on Linux).
    public static let maxComponentLength = 255
    /// Longest string in the header (names, argv items, env values).
    public static let maxStringLength = 64 << 10
    public static let maxArgvItems = 1024
    public static let maxEnvItems = 1024
    /// Largest uncompressed layer (64 GiB).
    public static let maxLayerSize: UInt64 = 64 << 30
    /// zstd window the decoder accepts: 2^24 = 16 MiB. The builder never writes a larger one:
    /// levels 20-22 (which would ask for 32-128 MiB) are given exactly this window.
    public static let zstdMaxWindowLog: Int32 = 24
    /// zstd window of levels 1-19 at most: 2^23 = 8 MiB (what level 19 uses).
    public static let zstdEncoderWindowLog: Int32 = 23
    /// Most decoded bytes in one frame of a layer (format version 3, docs/format.md "Frame table"):
    /// the launcher holds a frame's stored and decoded bytes whole, per decoding thread.
    public static let maxFrameSize: UInt64 = 16 << 20
    /// Most frames in one layer: 2^16 records of 56 bytes fill most of the 4 MiB header.
    public static let maxFramesPerLayer = 1 << 16
    /// liblzma decoder memory limit.
    public static let xzMemoryLimit: UInt64 = 32 << 20
    /// Largest LZMA2 dictionary the encoder uses (xz preset 6).
    public static let xzMaxDictionary: UInt32 = 8 << 20
}
