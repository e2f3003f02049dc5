/* windows-clibs-probe: proves the static libraries of scripts/lib/windows-clibs.sh link into a
 * Windows x64 program and work there. Built and run by hand, from the repository's root:
 *
 *   . scripts/lib/windows-clibs.sh && windows_clibs      (also sets ZIG_CC)
 *   $ZIG_CC -target x86_64-windows-gnu -Os -fno-sanitize=all -I"$WINDOWS_CLIBS_INCLUDE" \
 *     -DSODIUM_STATIC -DLZMA_API_STATIC Tests/Fixtures/windows-clibs-probe.c \
 *     -L"$WINDOWS_CLIBS_LIBDIR" -lsodium -lzstd -llzma -lz -ladvapi32 -o probe.exe
 *   "$WINE" probe.exe                                    (wine 10: scripts/lib/wine-toolchain.sh)
 *
 * It is plain C, so it also builds natively against Debian's libraries (gcc ... -lsodium -lzstd
 * -llzma -lz), which checks the expected values below on the host.
 *
 * Each check prints one "ok ..." line; the first failure prints "FAIL ..." and exits 1.
 *  - libsodium: sodium_init, randombytes_buf (RtlGenRandom on Windows), Ed25519 (RFC 8032 test 1:
 *    the public key from the seed, the signature, verification, a tampered message refused) and
 *    BLAKE2b (RFC 7693 appendix A: BLAKE2b-512("abc")).
 *  - zstd: ZSTD_decompress of a frame written on the host by the zstd CLI (zstd -19, with a
 *    checksum, so Huffman/FSE blocks and XXH64 are exercised).
 *  - liblzma: lzma_stream_buffer_decode of an .xz written on the host by the xz CLI (xz -6e,
 *    CRC64), then an encode/decode round trip (lzma_easy_buffer_encode, CRC32).
 *  - zlib: inflate of a zlib stream written on the host (Python's zlib.compress(data, 9)), then a
 *    deflate/inflate round trip (compress2/uncompress).
 * All three compressed inputs are the same text: 64 lines "line N: the windows-clibs probe decodes
 * this\n" (2,935 bytes), rebuilt here to compare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>
#include <lzma.h>
#include <zlib.h>

static void fail(const char *what) {
    printf("FAIL %s\n", what);
    fflush(stdout);
    exit(1);
}

static void ok(const char *what) { printf("ok %s\n", what); }

static int unhex(unsigned char *out, size_t len, const char *hex) {
    size_t bin_len = 0;
    return sodium_hex2bin(out, len, hex, strlen(hex), NULL, &bin_len, NULL) == 0 && bin_len == len ? 0 : -1;
}

/* The text every compressed input holds. */
static size_t expected_text(char *buf, size_t cap) {
    size_t n = 0;
    for (int i = 1; i <= 64; i++) {
        int w = snprintf(buf + n, cap - n, "line %d: the windows-clibs probe decodes this\n", i);
        if (w < 0 || (size_t)w >= cap - n) fail("building the expected text");
        n += (size_t)w;
    }
    return n;
}

/* Written on the host: zstd -19 (1.5.4), xz -6e --check=crc64 (5.4.1), zlib.compress(data, 9). */
static const unsigned char zstd_frame[158] = {
    0x28, 0xb5, 0x2f, 0xfd, 0x64, 0x77, 0x0a, 0x85, 0x04, 0x00, 0xc2, 0xc7, 0x16, 0x11, 0xa0, 0x6f,
    0x20, 0x60, 0xc0, 0xc2, 0x82, 0x7f, 0x94, 0x7c, 0x9a, 0x4d, 0x25, 0x19, 0xbf, 0x85, 0x3c, 0xe3,
    0xbd, 0x45, 0x61, 0x74, 0x4c, 0x21, 0xe3, 0xbd, 0x05, 0x61, 0x74, 0x4c, 0x21, 0xe3, 0xbd, 0xc5,
    0x60, 0x74, 0x4c, 0x21, 0xe3, 0xbd, 0xc5, 0x33, 0x3a, 0xa6, 0x90, 0xf1, 0xde, 0xc2, 0x19, 0x1d,
    0x53, 0xc8, 0x78, 0x6f, 0xd1, 0x8c, 0xf8, 0xb0, 0xe1, 0xc2, 0x64, 0xbc, 0x83, 0xfa, 0x9c, 0xe5,
    0xda, 0x98, 0x5c, 0x8d, 0x71, 0x53, 0x92, 0x4e, 0xae, 0xea, 0xc1, 0x15, 0xea, 0x95, 0x2c, 0xbe,
    0xcb, 0xcd, 0x59, 0x4e, 0xcd, 0x2d, 0x3e, 0x18, 0x40, 0xa8, 0x11, 0x60, 0xd7, 0xf5, 0xff, 0x0c,
    0xe0, 0x37, 0x03, 0x12, 0x68, 0x10, 0xf8, 0xff, 0x7f, 0x06, 0x01, 0x7f, 0xd4, 0x16, 0xab, 0x52,
    0xdb, 0x28, 0xa5, 0xb4, 0x42, 0xad, 0x4a, 0x09, 0x6a, 0xa9, 0x8d, 0x50, 0xab, 0x56, 0xc6, 0x98,
    0x40, 0x10, 0x84, 0x55, 0x06, 0xcd, 0x42, 0x40, 0xaa, 0x02, 0x7a, 0x16, 0x3a, 0x26,
};

static const unsigned char xz_stream[216] = {
    0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04, 0xe6, 0xd6, 0xb4, 0x46, 0x02, 0x00, 0x21, 0x01,
    0x16, 0x00, 0x00, 0x00, 0x74, 0x2f, 0xe5, 0xa3, 0xe0, 0x0b, 0x76, 0x00, 0x97, 0x5d, 0x00, 0x36,
    0x1a, 0x4a, 0x1f, 0x08, 0xa0, 0x2c, 0x04, 0x6e, 0x0d, 0x6c, 0xb8, 0xa5, 0xff, 0xf3, 0x55, 0xb1,
    0x6e, 0x1e, 0x07, 0xe2, 0x16, 0x60, 0xef, 0x25, 0xbb, 0xbc, 0x9a, 0xeb, 0x7b, 0x71, 0x62, 0x58,
    0xac, 0x41, 0x36, 0x9f, 0x59, 0xfe, 0x2e, 0x2f, 0xec, 0xff, 0xef, 0x3a, 0xdd, 0x9b, 0x09, 0x48,
    0x6e, 0xee, 0xfb, 0x2f, 0x81, 0x08, 0x2c, 0xc6, 0x5f, 0xd3, 0x4b, 0xd1, 0x1d, 0x52, 0xe0, 0x89,
    0x67, 0x0a, 0xf1, 0x7b, 0x2b, 0x15, 0xcf, 0xbe, 0x11, 0xde, 0xec, 0xbb, 0xb6, 0x08, 0x85, 0xab,
    0x8b, 0x62, 0x2e, 0x26, 0xc3, 0x82, 0xe4, 0xa5, 0x20, 0x9c, 0xcb, 0xf9, 0xe0, 0x31, 0x14, 0xa8,
    0x6e, 0x99, 0x60, 0xfb, 0x59, 0xc1, 0xcb, 0x4a, 0x94, 0x7a, 0x53, 0x46, 0x4e, 0x85, 0x18, 0xa2,
    0x7f, 0x16, 0x48, 0x29, 0x9e, 0x68, 0x96, 0xb0, 0x73, 0x86, 0xa5, 0x47, 0x72, 0xe6, 0x4d, 0xf1,
    0xd0, 0xb0, 0x7f, 0x7f, 0xbc, 0x82, 0x1f, 0xad, 0x2d, 0x67, 0xf8, 0x2c, 0xbb, 0x33, 0xdf, 0x8b,
    0x9e, 0x4f, 0x47, 0x1a, 0x65, 0x00, 0x00, 0x00, 0x69, 0x9d, 0x92, 0x06, 0xf8, 0xb6, 0x97, 0xb2,
    0x00, 0x01, 0xb3, 0x01, 0xf7, 0x16, 0x00, 0x00, 0x6a, 0x6d, 0x71, 0x61, 0xb1, 0xc4, 0x67, 0xfb,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x04, 0x59, 0x5a,
};

static const unsigned char zlib_stream[211] = {
    0x78, 0xda, 0x95, 0xd6, 0x49, 0x0a, 0x02, 0x31, 0x10, 0x40, 0xd1, 0xbd, 0xa7, 0xc8, 0x05, 0x04,
    0x6b, 0x8a, 0xc3, 0x71, 0xba, 0x13, 0x30, 0x10, 0x3a, 0x62, 0x84, 0xbe, 0xbe, 0x7a, 0x83, 0xfe,
    0xeb, 0xfc, 0xdd, 0xa3, 0xaa, 0xd2, 0xdb, 0x56, 0x93, 0x3c, 0xd2, 0xe7, 0x59, 0xd3, 0xde, 0xb6,
    0x32, 0xf6, 0x79, 0x5e, 0x7b, 0x5b, 0x66, 0x7a, 0xbd, 0xc7, 0x52, 0x53, 0xa9, 0xeb, 0x28, 0x75,
    0xfe, 0xde, 0xdb, 0x3c, 0xf5, 0x7f, 0xac, 0x24, 0x36, 0x12, 0x3b, 0x89, 0x83, 0xc4, 0x99, 0xc4,
    0x57, 0x12, 0xdf, 0x48, 0x7c, 0x27, 0xb1, 0x5c, 0x50, 0x8d, 0x0c, 0x05, 0x21, 0x0a, 0x52, 0x14,
    0xc4, 0x28, 0xc8, 0x51, 0x10, 0xa4, 0x20, 0x49, 0x41, 0x94, 0x82, 0x2c, 0x15, 0x59, 0x2a, 0x9b,
    0x47, 0x64, 0xa9, 0xc8, 0x52, 0x91, 0xa5, 0x22, 0x4b, 0x45, 0x96, 0x8a, 0x2c, 0x15, 0x59, 0x2a,
    0xb2, 0x34, 0x64, 0x69, 0xc8, 0xd2, 0xd8, 0x72, 0x45, 0x96, 0x86, 0x2c, 0x0d, 0x59, 0x1a, 0xb2,
    0x34, 0x64, 0x69, 0xc8, 0xd2, 0x90, 0xa5, 0x23, 0x4b, 0x47, 0x96, 0x8e, 0x2c, 0x9d, 0x5d, 0x4a,
    0x64, 0xe9, 0xc8, 0xd2, 0x91, 0xa5, 0x23, 0x4b, 0x47, 0x96, 0x8e, 0x2c, 0x03, 0x59, 0x06, 0xb2,
    0x0c, 0x64, 0x19, 0xc8, 0x32, 0xd8, 0xb7, 0x07, 0x59, 0x06, 0xb2, 0x0c, 0x64, 0x19, 0xc8, 0x32,
    0x90, 0x65, 0x46, 0x96, 0x19, 0x59, 0x66, 0x64, 0x99, 0x91, 0x65, 0x3e, 0x6a, 0xf9, 0x05, 0x4a,
    0x09, 0x0e, 0x99,
};

static void check_sodium(void) {
    if (sodium_init() < 0) fail("sodium_init");
    printf("ok sodium_init (libsodium %s)\n", sodium_version_string());

    unsigned char r1[32], r2[32];
    randombytes_buf(r1, sizeof r1);
    randombytes_buf(r2, sizeof r2);
    if (sodium_is_zero(r1, sizeof r1) || memcmp(r1, r2, sizeof r1) == 0) fail("randombytes_buf");
    ok("randombytes_buf");

    /* RFC 8032, 7.1, TEST 1 (empty message). */
    unsigned char seed[32], want_pk[32], want_sig[64], pk[32], sk[64], sig[64];
    if (unhex(seed, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60") ||
        unhex(want_pk, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a") ||
        unhex(want_sig, 64, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
        fail("sodium_hex2bin");
    if (crypto_sign_ed25519_seed_keypair(pk, sk, seed) != 0 || memcmp(pk, want_pk, 32) != 0)
        fail("crypto_sign_ed25519_seed_keypair (RFC 8032 test 1 public key)");
    unsigned long long siglen = 0;
    if (crypto_sign_ed25519_detached(sig, &siglen, (const unsigned char *)"", 0, sk) != 0 || siglen != 64 ||
        memcmp(sig, want_sig, 64) != 0)
        fail("crypto_sign_ed25519_detached (RFC 8032 test 1 signature)");
    if (crypto_sign_ed25519_verify_detached(sig, (const unsigned char *)"", 0, pk) != 0)
        fail("crypto_sign_ed25519_verify_detached");
    if (crypto_sign_ed25519_verify_detached(sig, (const unsigned char *)"x", 1, pk) == 0)
        fail("crypto_sign_ed25519_verify_detached accepted a tampered message");
    ok("crypto_sign_ed25519 (RFC 8032 test 1: key, signature, verify, tampered refused)");

    /* RFC 7693, appendix A: BLAKE2b-512("abc"). */
    unsigned char h[64], want_h[64];
    if (unhex(want_h, 64, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"))
        fail("sodium_hex2bin");
    if (crypto_generichash(h, sizeof h, (const unsigned char *)"abc", 3, NULL, 0) != 0 || memcmp(h, want_h, 64) != 0)
        fail("crypto_generichash (BLAKE2b-512 of \"abc\")");
    crypto_generichash_state st;
    if (crypto_generichash_init(&st, NULL, 0, sizeof h) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)"a", 1) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)"bc", 2) != 0 ||
        crypto_generichash_final(&st, h, sizeof h) != 0 || memcmp(h, want_h, 64) != 0)
        fail("crypto_generichash_init/update/final");
    ok("crypto_generichash (RFC 7693 BLAKE2b-512 of \"abc\", one shot and streamed)");
}

static void check_zstd(const char *want, size_t want_len) {
    char out[4096];
    size_t n = ZSTD_decompress(out, sizeof out, zstd_frame, sizeof zstd_frame);
    if (ZSTD_isError(n)) { printf("zstd: %s\n", ZSTD_getErrorName(n)); fail("ZSTD_decompress"); }
    if (n != want_len || memcmp(out, want, n) != 0) fail("ZSTD_decompress: wrong output");
    unsigned char bad[sizeof zstd_frame];
    memcpy(bad, zstd_frame, sizeof bad);
    bad[sizeof bad - 1] ^= 1; /* the XXH64 checksum */
    if (!ZSTD_isError(ZSTD_decompress(out, sizeof out, bad, sizeof bad))) fail("ZSTD_decompress accepted a bad checksum");
    printf("ok ZSTD_decompress (zstd %s: %zu -> %zu bytes, bad checksum refused)\n", ZSTD_versionString(),
           sizeof zstd_frame, n);
}

static void check_xz(const char *want, size_t want_len) {
    char out[4096];
    uint64_t memlimit = 64u << 20;
    size_t in_pos = 0, out_pos = 0;
    lzma_ret r = lzma_stream_buffer_decode(&memlimit, 0, NULL, xz_stream, &in_pos, sizeof xz_stream,
                                           (uint8_t *)out, &out_pos, sizeof out);
    if (r != LZMA_OK || in_pos != sizeof xz_stream) { printf("lzma_ret %d\n", (int)r); fail("lzma_stream_buffer_decode"); }
    if (out_pos != want_len || memcmp(out, want, out_pos) != 0) fail("lzma_stream_buffer_decode: wrong output");
    printf("ok lzma_stream_buffer_decode (liblzma %s: %zu -> %zu bytes, CRC64)\n", lzma_version_string(),
           sizeof xz_stream, out_pos);

    uint8_t enc[4096];
    size_t enc_pos = 0;
    r = lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, (const uint8_t *)want, want_len, enc, &enc_pos, sizeof enc);
    if (r != LZMA_OK) { printf("lzma_ret %d\n", (int)r); fail("lzma_easy_buffer_encode"); }
    memlimit = 64u << 20; in_pos = 0; out_pos = 0;
    r = lzma_stream_buffer_decode(&memlimit, 0, NULL, enc, &in_pos, enc_pos, (uint8_t *)out, &out_pos, sizeof out);
    if (r != LZMA_OK || out_pos != want_len || memcmp(out, want, want_len) != 0) fail("liblzma round trip");
    printf("ok lzma_easy_buffer_encode round trip (%zu -> %zu -> %zu bytes)\n", want_len, enc_pos, out_pos);
}

static void check_zlib(const char *want, size_t want_len) {
    char out[4096];
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit(&s) != Z_OK) fail("inflateInit");
    s.next_in = (Bytef *)zlib_stream;
    s.avail_in = sizeof zlib_stream;
    s.next_out = (Bytef *)out;
    s.avail_out = sizeof out;
    int r = inflate(&s, Z_FINISH);
    size_t n = s.total_out;
    inflateEnd(&s);
    if (r != Z_STREAM_END) { printf("inflate %d\n", r); fail("inflate"); }
    if (n != want_len || memcmp(out, want, n) != 0) fail("inflate: wrong output");
    printf("ok inflate (zlib %s: %zu -> %zu bytes)\n", zlibVersion(), sizeof zlib_stream, n);

    Bytef enc[4096];
    uLongf enc_len = sizeof enc, dec_len = sizeof out;
    if (compress2(enc, &enc_len, (const Bytef *)want, want_len, 9) != Z_OK) fail("compress2");
    if (uncompress((Bytef *)out, &dec_len, enc, enc_len) != Z_OK || dec_len != want_len || memcmp(out, want, want_len) != 0)
        fail("zlib round trip");
    printf("ok compress2/uncompress round trip (%zu -> %lu -> %lu bytes)\n", want_len, (unsigned long)enc_len,
           (unsigned long)dec_len);
}

int main(void) {
    static char text[4096];
    size_t len = expected_text(text, sizeof text);
    check_sodium();
    check_zstd(text, len);
    check_xz(text, len);
    check_zlib(text, len);
    printf("ok all\n");
    return 0;
}
