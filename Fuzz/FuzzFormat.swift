// libFuzzer target over everything the launcher parses before it trusts anything:
// the trailer (and a PE file's headers that say where it is), the manifest header (with its frame tables), file tables, frame tables alone, the
// key slot, path and symlink rules, placeholders and the entry rules (with a safety property for
// what they accept), the terminal escaping; and the x86 branch filter, which runs over decoded
// bytes. Compiled together with Sources/BundleFormat and the filter by scripts/fuzz.sh.
//
// The first input byte chooses the parser (modulo 9); the rest is its input. A crash, trap, hang
// or sanitizer report is a finding; a thrown BundleError is the expected answer to garbage.
// Seeds: Tests/FuzzCorpus/seeds, written and checked by BundleFormatTests/FuzzSeedTests.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0] % 9
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch selector {
    case 0:
        // Pretend the file is as large as the last 8 bytes say (or the input), so offsets get tested.
        let fileSize = UInt64(body.count) &+ (body.count >= 8 ? UInt64(body[0]) << 20 : 0)
        if body.count >= Trailer.size {
            _ = try? Trailer(
                decoding: UnsafeRawBufferPointer(rebasing: body[(body.count - Trailer.size)...]), fileSize: fileSize)
        } else {
            _ = try? Trailer(decoding: body, fileSize: fileSize)
        }
        // The input as a whole file, as BundleFile reads it: where the bundle ends (before a PE
        // file's certificate table), then the trailer there.
        let file = Array(body)
        if let location = try? TrailerLocation(
            prefix: Array(file.prefix(TrailerLocation.prefixLength)), fileSize: UInt64(file.count))
        {
            precondition(location.end <= UInt64(file.count), "the bundle ends past the end of the file")
            if location.end >= UInt64(Trailer.size) {
                let end = Int(location.end)
                _ = try? Trailer(decoding: Array(file[(end - Trailer.size)..<end]), fileSize: location.end)
            }
        }
    case 1:
        let layersLength = body.count >= 2 ? UInt64(body[0]) * 7 : 0
        let tablesLength = body.count >= 2 ? UInt64(body[1]) * 13 : 0
        if let m = try? Manifest(decoding: body, layersLength: layersLength, tablesLength: tablesLength) {
            // Whatever decodes must re-encode to the same bytes, its frames tiling each layer.
            precondition(m.encoded().elementsEqual(body), "manifest does not round-trip")
            for l in m.layers { fuzzCheckTiling(l.frames, l.codec, l.compressedSize, l.uncompressedSize) }
        }
    case 2:
        guard body.count >= 3 else { return 0 }
        let layer = LayerRecord(
            name: "f", codec: .zstd, offset: 0, compressedSize: 0, uncompressedSize: UInt64(body[0]) * 11,
            fileCount: Int(body[1] % 16), tableOffset: 0, tableLength: UInt64(body.count - 2), digest: [],
            frames: [])
        _ = try? FileTable.decode(UnsafeRawBufferPointer(rebasing: body[2...]), layer: layer)
    case 3:
        let bytes = Array(body)
        if let split = bytes.firstIndex(of: 0x0A) {
            _ = try? PathRules.checkSymlink(path: Array(bytes[..<split]), target: Array(bytes[(split + 1)...]))
        } else {
            _ = try? PathRules.check(bytes)
        }
    case 4:
        let text = String(decoding: body, as: UTF8.self)
        _ = try? Placeholders.parse(text)
        fuzzEntryRules(text)
        let escaped = TerminalText.escaped(text)
        precondition(
            !escaped.unicodeScalars.contains {
                $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value)
            },
            "TerminalText left a control character")
    case 5:
        // The filter never traps and always round-trips, in any piece sizes (the first body byte
        // picks them) and with small segments so segment ends are crossed too.
        guard body.count >= 1 else { return 0 }
        let piece = Int(body[0] % 32) + 1
        let original = Array(body.dropFirst())
        let segment: UInt64 = body[0] & 0x80 != 0 ? 64 : X86BranchFilter.segmentSize
        let encoded = fuzzFilter(original, encoding: true, segment: segment, piece: piece)
        let decoded = fuzzFilter(encoded, encoding: false, segment: segment, piece: 33 - piece)
        precondition(decoded == original, "x86 filter does not round-trip")
    case 6:
        // A manifest after the lengths of the regions it must fill (u64 layers, u64 tables), so
        // that manifests with layers, and so frame tables, decode and their checks run to the end.
        guard body.count >= 16 else { return 0 }
        var r = ByteReader(Array(body), what: "fuzz", code: .badManifest)
        guard let layersLength = try? r.u64(), let tablesLength = try? r.u64() else { return 0 }
        let header = UnsafeRawBufferPointer(rebasing: body[16...])
        if let m = try? Manifest(decoding: header, layersLength: layersLength, tablesLength: tablesLength) {
            precondition(m.encoded().elementsEqual(header), "manifest does not round-trip")
            var offset: UInt64 = 0
            for l in m.layers {
                precondition(l.offset == offset, "layers not back to back")
                fuzzCheckTiling(l.frames, l.codec, l.compressedSize, l.uncompressedSize)
                offset += l.compressedSize
            }
            precondition(offset == layersLength, "layers do not fill their region")
        }
    case 7:
        // A frame table alone, checked against a layer's codec and sizes (u8, u64, u64 first).
        guard body.count >= 17 else { return 0 }
        var r = ByteReader(Array(body), what: "fuzz", code: .badManifest)
        guard let codecByte = try? r.u8(), let compressed = try? r.u64(), let uncompressed = try? r.u64() else {
            return 0
        }
        let codec = Codec(rawValue: codecByte & 0x0F) ?? .zstd
        let start = body.count - r.remaining
        guard let frames = try? FrameTable.decode(&r, layerName: "f") else { return 0 }
        precondition(
            FrameTable.encoded(frames).elementsEqual(body[start..<(body.count - r.remaining)]),
            "frame table does not round-trip")
        if (try? FrameTable.check(
            frames, layerName: "f", codec: codec, compressedSize: compressed, uncompressedSize: uncompressed)) != nil
        {
            fuzzCheckTiling(frames, codec, compressed, uncompressed)
        }
    default:
        _ = try? KeySlot(decoding: body)
        _ = try? SignatureBlock(decoding: body)
    }
    return 0
}

/// The text as an entry (argv items one per line; lines `KEY=value` after a line `--` are env):
/// whatever `EntryRules` accepts must keep every layer path inside its layer after substitution.
func fuzzEntryRules(_ text: String) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let cut = lines.firstIndex(of: "--") ?? lines.count
    let argv = Array(lines[..<cut])
    let env = lines[min(cut + 1, lines.count)...].map { line -> EntryRecord.EnvVar in
        let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return .init(key: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "")
    }
    guard !argv.isEmpty else { return }
    let entry = EntryRecord(name: "e", isDefault: true, argv: argv, env: env, layers: [])
    guard (try? EntryRules.check(entry, appName: "app")) != nil else { return }
    for item in argv + env.map(\.value) {
        // Each layer's path is "/R\u{1}name\u{1}": no name's root is a prefix of another's.
        guard let substituted = try? Placeholders.substitute(item, { "/R\u{1}" + $0 + "\u{1}" }),
            let names = try? Placeholders.names(in: item)
        else {
            preconditionFailure("EntryRules accepted a template that does not substitute")
        }
        let bytes = Array(substituted.utf8)
        for name in names {
            let root = Array(("/R\u{1}" + name + "\u{1}").utf8)
            var i = 0
            while i + root.count <= bytes.count {
                defer { i += 1 }
                guard bytes[i..<(i + root.count)].elementsEqual(root) else { continue }
                var j = i
                while j < bytes.count, !EntryRules.separators.contains(bytes[j]) { j += 1 }
                var depth = 0
                for c in bytes[(i + root.count)..<j].split(separator: 0x2F) {
                    if c.elementsEqual([0x2E, 0x2E]) { depth -= 1 } else if !c.elementsEqual([0x2E]) { depth += 1 }
                    precondition(depth >= 0, "EntryRules accepted a path that leaves its layer")
                }
                precondition(
                    i + root.count == j || bytes[i + root.count] == 0x2F, "EntryRules accepted a sibling of a layer")
            }
        }
    }
    let program = Array(((try? Placeholders.substitute(argv[0], { "/R\u{1}" + $0 + "\u{1}" })) ?? "").utf8)
    precondition(
        program.first == 0x2F || (!program.isEmpty && !program.contains(0x2F)), "EntryRules accepted a relative program"
    )
}

/// The frames `FrameTable.check` accepted tile the layer: checked again here, independently.
func fuzzCheckTiling(_ frames: [FrameRecord], _ codec: Codec, _ stored: UInt64, _ decoded: UInt64) {
    precondition(frames.count <= 1 << 16, "too many frames")
    var s: UInt64 = 0
    var d: UInt64 = 0
    for f in frames {
        precondition(f.storedOffset == s && f.decodedOffset == d, "frames overlap or leave a gap")
        precondition(f.decodedSize >= 1 && f.decodedSize <= 16 << 20, "frame size out of bounds")
        precondition(f.storedSize >= 1 && f.storedSize <= f.decodedSize + f.decodedSize / 128 + 1024, "stored size")
        precondition(codec != .none || f.storedSize == f.decodedSize, "codec none changes a frame's size")
        precondition(f.digest.count == 32, "digest length")
        s += f.storedSize
        d += f.decodedSize
    }
    precondition(s == stored && d == decoded, "frames do not add up to the layer")
}

/// Runs the streaming filter the way the packager's stream encoders do: pieces of `piece`
/// bytes, an unfinished tail presented again in front of the next piece. (Frames are filtered
/// whole, one call with `atEnd`: the case of a single piece.)
func fuzzFilter(_ data: [UInt8], encoding: Bool, segment: UInt64, piece: Int) -> [UInt8] {
    var f = X86BranchFilter(encoding: encoding, totalSize: UInt64(data.count), segmentSize: segment)
    var out: [UInt8] = []
    var pending: [UInt8] = []
    var pos = 0
    while true {
        let n = min(piece, data.count - pos)
        var buf = pending + data[pos..<(pos + n)]
        pos += n
        let atEnd = pos == data.count
        let done = buf.withUnsafeMutableBytes { f.process($0, atEnd: atEnd) }
        precondition(buf.count - done <= 4 && (!atEnd || done == buf.count), "x86 filter kept too much")
        out += buf[0..<done]
        pending = Array(buf[done...])
        if atEnd { return out }
    }
}
