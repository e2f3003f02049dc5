// libFuzzer target over everything the launcher parses before it trusts anything:
// the trailer, the manifest header, file tables, the key slot, path and symlink rules and
// placeholders. Compiled together with Sources/BundleFormat by scripts/fuzz.sh.
//
// The first input byte chooses the parser; the rest is its input. A crash, trap, hang or
// sanitizer report is a finding; a thrown FormatError is the expected answer to garbage.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0] % 6
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch selector {
    case 0:
        // Pretend the file is as large as the last 8 bytes say (or the input), so offsets get tested.
        let fileSize = UInt64(body.count) &+ (body.count >= 8 ? UInt64(body[0]) << 20 : 0)
        if body.count >= Trailer.size {
            _ = try? Trailer(decoding: UnsafeRawBufferPointer(rebasing: body[(body.count - Trailer.size)...]), fileSize: fileSize)
        } else {
            _ = try? Trailer(decoding: body, fileSize: fileSize)
        }
    case 1:
        let layersLength = body.count >= 2 ? UInt64(body[0]) * 7 : 0
        let tablesLength = body.count >= 2 ? UInt64(body[1]) * 13 : 0
        if let m = try? Manifest(decoding: body, layersLength: layersLength, tablesLength: tablesLength) {
            // Whatever decodes must re-encode to the same bytes.
            precondition(m.encoded().elementsEqual(body), "manifest does not round-trip")
        }
    case 2:
        guard body.count >= 3 else { return 0 }
        let layer = LayerRecord(name: "f", codec: .zstd, offset: 0, compressedSize: 0, uncompressedSize: UInt64(body[0]) * 11,
                                fileCount: Int(body[1] % 16), tableOffset: 0, tableLength: UInt64(body.count - 2), digest: [])
        _ = try? FileTable.decode(UnsafeRawBufferPointer(rebasing: body[2...]), layer: layer)
    case 3:
        let bytes = Array(body)
        if let split = bytes.firstIndex(of: 0x0A) {
            _ = try? PathRules.checkSymlink(path: Array(bytes[..<split]), target: Array(bytes[(split + 1)...]))
        } else {
            _ = try? PathRules.check(bytes)
        }
    case 4:
        _ = try? Placeholders.parse(String(decoding: body, as: UTF8.self))
    default:
        _ = try? KeySlot(decoding: body)
        _ = try? SignatureBlock(decoding: body)
    }
    return 0
}
