// The arm64 toolchain probe (scripts/arm64-toolchain-check.sh): a tiny Embedded Swift program that
// calls libsodium (SHA-256) and zstd (compress, decompress) through a C module. Built for
// aarch64-none-none-elf, linked static with ARM64_CC/ARM64_LDFLAGS and run under qemu-aarch64-static,
// it proves the cross toolchain end to end. It prints one line the check script compares.
import Probe

func write(_ s: String) {
    for b in s.utf8 { _ = putchar(Int32(b)) }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out = ""
    for b in bytes {
        out.append(Character(Unicode.Scalar(digits[Int(b >> 4)])))
        out.append(Character(Unicode.Scalar(digits[Int(b & 15)])))
    }
    return out
}

@_cdecl("main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard sodium_init() >= 0 else { write("sodium_init failed\n"); return 1 }
    let input: [UInt8] = Array("hello, arm64 hello, arm64 hello, arm64".utf8)

    var digest = [UInt8](repeating: 0, count: 32)
    _ = crypto_hash_sha256(&digest, input, UInt64(input.count))

    var packed = [UInt8](repeating: 0, count: Int(ZSTD_compressBound(input.count)))
    let packedSize = ZSTD_compress(&packed, packed.count, input, input.count, 3)
    guard ZSTD_isError(packedSize) == 0 else { write("ZSTD_compress failed\n"); return 1 }
    var unpacked = [UInt8](repeating: 0, count: input.count)
    let unpackedSize = ZSTD_decompress(&unpacked, unpacked.count, packed, packedSize)
    guard ZSTD_isError(unpackedSize) == 0, unpacked == input else { write("zstd round trip failed\n"); return 1 }

    write("sha256 " + hex(digest) + " zstd ok\n")
    _ = fflush(nil)
    return 0
}
