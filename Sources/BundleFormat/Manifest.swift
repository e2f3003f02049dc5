/// The manifest header: what the bundle is, its layers and its entries.
///
/// It is the signed part of a bundle. It binds every file table by digest, and every
/// table binds its files by digest, so one signature over this header covers every byte
/// the launcher will ever extract. Encoding: docs/format.md, "Manifest header".
public struct Manifest: Equatable, Sendable {
    public var appName: String
    public var appVersion: String
    /// Seconds since the epoch (`SOURCE_DATE_EPOCH` when the builder had one).
    public var buildTime: UInt64
    /// The signing key's minisign id; all zero in an unsigned bundle.
    public var keyID: [UInt8]
    public var layers: [LayerRecord]
    public var entries: [EntryRecord]
    /// The platform the stub and the layers' ELF files are for. Encoded after the entries only
    /// when it is not `linux-x64`, so a linux-x64 header has no target field, as before targets
    /// existed, and such a header reads as linux-x64 (docs/format.md).
    public var target: BuildTarget
    /// The launcher's own names and the bundle's metadata (`[bundle]` beyond name and version).
    /// Encoded after the target only when one is set (docs/format.md, "Properties").
    public var properties: BundleProperties

    public init(
        appName: String, appVersion: String, buildTime: UInt64, keyID: [UInt8], layers: [LayerRecord],
        entries: [EntryRecord],
        target: BuildTarget = .default, properties: BundleProperties = BundleProperties()
    ) {
        self.appName = appName
        self.appVersion = appVersion
        self.buildTime = buildTime
        self.keyID = keyID
        self.layers = layers
        self.entries = entries
        self.target = target
        self.properties = properties
    }

    /// The prefix of the launcher's variables: `env-prefix`, else the app name's (`my-app` →
    /// `MY_APP`), which is what a bundle without the property has always used.
    public var environmentPrefix: String {
        properties.environmentPrefix ?? Names.environmentPrefix(appName)
    }
    /// The cache directory's name: `cache-name`, else the app name (bundles without the property).
    public var cacheName: String { properties.cacheName ?? appName }

    public static let digestLength = 32
    public static let keyIDLength = 8

    /// The layer whose name is `name`'s bytes (names are bytes: ByteText.swift).
    public func layer(named name: String) -> Int? { layers.firstIndex { $0.name.bytesEqual(name) } }
    /// The entry whose name is `name`'s bytes.
    public func entry(named name: String) -> EntryRecord? { entries.first { $0.name.bytesEqual(name) } }
    public var defaultEntry: EntryRecord? { entries.first { $0.isDefault } }
}

/// One layer: a directory tree, its files' contents stored as a sequence of frames.
public struct LayerRecord: Equatable, Sendable {
    public var name: String
    public var codec: Codec
    /// Transform undone after decoding (high four bits of the codec byte).
    public var filter: LayerFilter
    /// Offset of the compressed stream from the start of the layers region.
    public var offset: UInt64
    public var compressedSize: UInt64
    /// Sum of the sizes of the layer's regular files: the length of the decoded stream.
    public var uncompressedSize: UInt64
    public var fileCount: Int
    /// Offset and length of the layer's file table within the tables region.
    public var tableOffset: UInt64
    public var tableLength: UInt64
    /// BLAKE2b-256 of the decoded file table bytes (one input of the cache name, `cacheName`).
    public var digest: [UInt8]
    /// The pieces of the stored stream that decode on their own, each with the digest of its stored
    /// bytes (format version 3, `FrameRecord`). The extractor checks each frame's digest in the
    /// buffer it read the frame into, before decoding it, so it need not hash the decoded output
    /// (docs/security.md, "Hash once"); the frames tile the stream exactly (`FrameTable.check`).
    public var frames: [FrameRecord]

    /// "zstd", or "zstd+x86" for a filtered layer: how tools show the layer's encoding.
    public var encodingName: String { filter == .none ? codec.name : "\(codec.name)+\(filter.name)" }

    public init(
        name: String, codec: Codec, filter: LayerFilter = .none, offset: UInt64, compressedSize: UInt64,
        uncompressedSize: UInt64, fileCount: Int, tableOffset: UInt64, tableLength: UInt64, digest: [UInt8],
        frames: [FrameRecord]
    ) {
        self.name = name
        self.codec = codec
        self.filter = filter
        self.offset = offset
        self.compressedSize = compressedSize
        self.uncompressedSize = uncompressedSize
        self.fileCount = fileCount
        self.tableOffset = tableOffset
        self.tableLength = tableLength
        self.digest = digest
        self.frames = frames
    }
}

/// A command the bundle can run.
public struct EntryRecord: Equatable, Sendable {
    public struct EnvVar: Equatable, Sendable {
        public var key: String
        public var value: String
        public init(key: String, value: String) { self.key = key; self.value = value }
    }
    public var name: String
    public var isDefault: Bool
    /// argv template; `{layer}` placeholders are replaced at launch (see `Placeholders`).
    public var argv: [String]
    public var env: [EnvVar]
    /// Indices into `Manifest.layers` of the layers this entry needs, in ascending order.
    public var layers: [Int]

    public init(name: String, isDefault: Bool, argv: [String], env: [EnvVar], layers: [Int]) {
        self.name = name
        self.isDefault = isDefault
        self.argv = argv
        self.env = env
        self.layers = layers
    }
}

extension Manifest {
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.string(appName)
        w.string(appVersion)
        w.u64(buildTime)
        w.raw(keyID)
        w.u32(UInt32(layers.count))
        for l in layers {
            w.string(l.name)
            w.u8(l.codec.rawValue | l.filter.rawValue << 4)
            w.u64(l.offset)
            w.u64(l.compressedSize)
            w.u64(l.uncompressedSize)
            w.u32(UInt32(l.fileCount))
            w.u64(l.tableOffset)
            w.u64(l.tableLength)
            w.raw(l.digest)
            FrameTable.encode(l.frames, into: &w)
        }
        w.u32(UInt32(entries.count))
        for e in entries {
            w.string(e.name)
            w.u8(e.isDefault ? 1 : 0)
            w.u32(UInt32(e.argv.count))
            for a in e.argv { w.string(a) }
            w.u32(UInt32(e.env.count))
            for v in e.env { w.string(v.key); w.string(v.value) }
            w.u32(UInt32(e.layers.count))
            for i in e.layers { w.u32(UInt32(i)) }
        }
        // The target is written when it is not linux-x64, and always when properties follow it.
        let pairs = properties.pairs
        if target != .default || !pairs.isEmpty { w.string(target.name) }
        if !pairs.isEmpty {
            w.u32(UInt32(pairs.count))
            for (k, v) in pairs { w.string(k); w.string(v) }
        }
        return w.bytes
    }

    /// Decodes a header and checks it against the sizes of the regions it points into.
    /// Nothing here trusts a count or offset before checking it against `Limits` or the regions.
    public init(decoding bytes: UnsafeRawBufferPointer, layersLength: UInt64, tablesLength: UInt64) throws(BundleError)
    {
        try self.init(decoding: Array(bytes), layersLength: layersLength, tablesLength: tablesLength)
    }

    public init(decoding bytes: [UInt8], layersLength: UInt64, tablesLength: UInt64) throws(BundleError) {
        var r = ByteReader(bytes, what: "manifest", code: .badManifest)
        appName = try r.string(limit: Names.maximumLength, field: "app name")
        guard Names.isValid(appName) else {
            throw BundleError(.badManifest, "manifest: invalid app name '\(TerminalText.shown(appName))'")
        }
        appVersion = try r.string(limit: Names.maximumLength, field: "app version")
        guard Names.isValidVersion(appVersion) else {
            throw BundleError(
                .badManifest,
                "manifest: app version '\(TerminalText.shown(appVersion))' must be 1-64 printable ASCII characters without spaces"
            )
        }
        buildTime = try r.u64()
        keyID = try r.raw(Manifest.keyIDLength)

        let layerCount = try r.count(limit: Limits.maxLayers, field: "layer count")
        var layers: [LayerRecord] = []
        layers.reserveCapacity(layerCount)
        var nextOffset: UInt64 = 0
        var nextTable: UInt64 = 0
        for i in 0..<layerCount {
            let name = try r.string(limit: Names.maximumLength, field: "layer \(i) name")
            guard Names.isValid(name) else {
                throw BundleError(.badManifest, "manifest: invalid layer name '\(TerminalText.shown(name))'")
            }
            guard !layers.contains(where: { $0.name.bytesEqual(name) }) else {
                throw BundleError(.badManifest, "manifest: duplicate layer '\(name)'")
            }
            // Low four bits: the codec; high four bits: the filter.
            let codecByte = try r.u8()
            guard let codec = Codec(rawValue: codecByte & 0x0F) else {
                throw BundleError(.badManifest, "manifest: layer '\(name)' has unknown codec \(codecByte & 0x0F)")
            }
            guard let filter = LayerFilter(rawValue: codecByte >> 4) else {
                throw BundleError(.badManifest, "manifest: layer '\(name)' has unknown filter \(codecByte >> 4)")
            }
            let offset = try r.u64()
            let compressedSize = try r.u64()
            let uncompressedSize = try r.u64()
            let fileCount = Int(try r.u32())
            let tableOffset = try r.u64()
            let tableLength = try r.u64()
            let digest = try r.raw(Manifest.digestLength)
            let frames = try FrameTable.decode(&r, layerName: name)
            // Layers and tables are stored back to back in manifest order: no overlap, no gap.
            guard offset == nextOffset, compressedSize <= layersLength - offset else {
                throw BundleError(
                    .badManifest,
                    "manifest: layer '\(name)' data (offset \(offset), length \(compressedSize)) is not where the layers region says"
                )
            }
            guard tableOffset == nextTable, tableLength <= tablesLength - tableOffset else {
                throw BundleError(
                    .badManifest,
                    "manifest: layer '\(name)' file table (offset \(tableOffset), length \(tableLength)) is not where the tables region says"
                )
            }
            guard uncompressedSize <= Limits.maxLayerSize else {
                throw BundleError(
                    .tooLarge,
                    "manifest: layer '\(name)' declares \(uncompressedSize) bytes, over the limit of \(Limits.maxLayerSize)"
                )
            }
            guard fileCount <= Limits.maxFilesPerLayer else {
                throw BundleError(
                    .tooLarge,
                    "manifest: layer '\(name)' declares \(fileCount) files, over the limit of \(Limits.maxFilesPerLayer)"
                )
            }
            guard tableLength <= Limits.maxFileTableLength else {
                throw BundleError(
                    .tooLarge,
                    "manifest: layer '\(name)' file table is \(tableLength) bytes, over the limit of \(Limits.maxFileTableLength)"
                )
            }
            if codec == .none, compressedSize != uncompressedSize {
                throw BundleError(
                    .badManifest, "manifest: uncompressed layer '\(name)' has different stored and declared sizes")
            }
            try FrameTable.check(
                frames, layerName: name, codec: codec, compressedSize: compressedSize,
                uncompressedSize: uncompressedSize)
            nextOffset = offset + compressedSize
            nextTable = tableOffset + tableLength
            layers.append(
                LayerRecord(
                    name: name, codec: codec, filter: filter, offset: offset, compressedSize: compressedSize,
                    uncompressedSize: uncompressedSize, fileCount: fileCount,
                    tableOffset: tableOffset, tableLength: tableLength, digest: digest, frames: frames))
        }
        guard nextOffset == layersLength else {
            throw BundleError(.badManifest, "manifest: layers do not fill the layers region")
        }
        guard nextTable == tablesLength else {
            throw BundleError(.badManifest, "manifest: file tables do not fill the tables region")
        }

        let entryCount = try r.count(limit: Limits.maxEntries, field: "entry count")
        var entries: [EntryRecord] = []
        entries.reserveCapacity(entryCount)
        for i in 0..<entryCount {
            let name = try r.string(limit: Names.maximumLength, field: "entry \(i) name")
            guard Names.isValid(name) else {
                throw BundleError(.badManifest, "manifest: invalid entry name '\(TerminalText.shown(name))'")
            }
            guard !entries.contains(where: { $0.name.bytesEqual(name) }) else {
                throw BundleError(.badManifest, "manifest: duplicate entry '\(name)'")
            }
            let flags = try r.u8()
            guard flags <= 1 else {
                throw BundleError(.badManifest, "manifest: entry '\(name)' has unknown flags \(flags)")
            }
            if flags == 1, let other = entries.first(where: { $0.isDefault }) {
                throw BundleError(.badManifest, "manifest: two default entries ('\(other.name)' and '\(name)')")
            }
            let argc = try r.count(limit: Limits.maxArgvItems, field: "entry '\(name)' argv count")
            guard argc > 0 else { throw BundleError(.badManifest, "manifest: entry '\(name)' has an empty argv") }
            var argv: [String] = []
            for j in 0..<argc { argv.append(try r.string(field: "entry '\(name)' argv[\(j)]")) }
            let envc = try r.count(limit: Limits.maxEnvItems, field: "entry '\(name)' env count")
            var env: [EntryRecord.EnvVar] = []
            for _ in 0..<envc {
                let key = try r.string(limit: 256, field: "entry '\(name)' env name")
                guard Manifest.isValidEnvName(key) else {
                    throw BundleError(
                        .badManifest, "manifest: entry '\(name)' has invalid env name '\(TerminalText.shown(key))'")
                }
                env.append(
                    .init(key: key, value: try r.string(field: "entry '\(name)' env \(TerminalText.shown(key))")))
            }
            let refc = try r.count(limit: layerCount, field: "entry '\(name)' layer count")
            var refs: [Int] = []
            for _ in 0..<refc {
                let index = Int(try r.u32())
                guard index < layerCount, refs.last.map({ $0 < index }) ?? true else {
                    throw BundleError(
                        .badManifest,
                        "manifest: entry '\(name)' names layer \(index), which is out of range or out of order")
                }
                refs.append(index)
            }
            let entry = EntryRecord(name: name, isDefault: flags == 1, argv: argv, env: env, layers: refs)
            try Manifest.checkPlaceholders(entry, layers: layers)
            entries.append(entry)
        }
        // The target: absent means linux-x64. When properties follow, it is always there (linux-x64
        // included); without them linux-x64 is written by leaving it out, so each header has one
        // encoding. Anything else after the entries is stray bytes.
        var target = BuildTarget.default
        var properties = BundleProperties()
        if !r.isAtEnd {
            let stray = r.remaining
            guard let name = try? r.string(limit: Names.maximumLength, field: "target") else {
                throw BundleError(
                    .badManifest,
                    "manifest: \(stray) unexpected bytes after the entries (only a target name and properties may follow them)"
                )
            }
            guard let named = BuildTarget(name: name) else {
                throw BundleError(
                    .badManifest,
                    "manifest: unknown target '\(TerminalText.shown(name))' (this reader knows linux-x64, linux-arm64, windows-x64, macos-x64 and macos-arm64)"
                )
            }
            target = named
            if r.isAtEnd {
                guard named != .default else {
                    throw BundleError(.badManifest, "manifest: target \(name) is written by leaving the field out")
                }
            } else {
                properties = try Manifest.decodeProperties(
                    &r, appName: appName, layers: layers.map { $0.name })
            }
        }
        // The entry rules depend on the target, which follows the entries.
        for entry in entries {
            let prefix = properties.environmentPrefix ?? Names.environmentPrefix(appName)
            do { try EntryRules.check(entry, environmentPrefix: prefix, target: target) } catch {
                throw error.prefixed("manifest: entry '\(entry.name)' ")
            }
        }
        self.layers = layers
        self.entries = entries
        self.target = target
        self.properties = properties
    }

    /// The properties after the target: a u32 count (1-16), then that many (key, value) strings,
    /// keys known and in ascending order, each value valid for its key and unequal to its default
    /// (which is written by leaving the key out); nothing may follow them.
    static func decodeProperties(_ r: inout ByteReader, appName: String, layers: [String]) throws(BundleError)
        -> BundleProperties
    {
        let count = try r.count(limit: 16, field: "property count")
        guard count > 0 else {
            throw BundleError(.badManifest, "manifest: a property count of 0 is written by leaving the field out")
        }
        var properties = BundleProperties()
        var previous: [UInt8]? = nil
        for i in 0..<count {
            let key = try r.string(limit: Names.maximumLength, field: "property \(i) key")
            let value = try r.string(limit: 1024, field: "property \(TerminalText.shown(key))")
            let keyBytes = Array(key.utf8)
            if let previous, !previous.lexicographicallyPrecedes(keyBytes) {
                throw BundleError(
                    .badManifest, "manifest: property '\(TerminalText.shown(key))' is out of order or repeated")
            }
            previous = keyBytes
            guard properties.set(key, value) else {
                throw BundleError(
                    .badManifest,
                    "manifest: unknown property '\(TerminalText.shown(key))' (this reader knows \(BundleProperties.keys.joined(separator: ", ")))"
                )
            }
            if let problem = BundleProperties.problem(key: key, value: value, appName: appName, layers: layers) {
                throw BundleError(.badManifest, "manifest: property \(key): \(problem)")
            }
        }
        if properties.environmentPrefix.map({ $0.bytesEqual(Names.environmentPrefix(appName)) }) ?? false
            || properties.cacheName.map({ $0.bytesEqual(appName) }) ?? false
        {
            throw BundleError(.badManifest, "manifest: a property equal to its default is written by leaving it out")
        }
        guard r.isAtEnd else {
            throw BundleError(.badManifest, "manifest: \(r.remaining) unexpected bytes after the properties")
        }
        return properties
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`
    public static func isValidEnvName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, first == 0x5F || (first | 0x20 >= 0x61 && first | 0x20 <= 0x7A) else { return false }
        return b.allSatisfy { $0 == 0x5F || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }
    }

    /// Every placeholder in an entry must name one of the layers the entry lists,
    /// so the launcher never substitutes a path it did not extract.
    static func checkPlaceholders(_ e: EntryRecord, layers: [LayerRecord]) throws(BundleError) {
        let own = e.layers.map { layers[$0].name }
        for (what, template) in e.argv.map({ ("argv", $0) }) + e.env.map({ ("env \($0.key)", $0.value) }) {
            let names: [String]
            do { names = try Placeholders.names(in: template) } catch {
                throw BundleError(.badPlaceholder, "manifest: entry '\(e.name)' \(what) has a malformed placeholder")
            }
            for n in names where !own.containsBytes(n) {
                throw BundleError(
                    .badManifest, "manifest: entry '\(e.name)' \(what) uses {\(n)}, which is not one of its layers")
            }
        }
    }
}
