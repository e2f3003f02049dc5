/* Linked into the musl stub only (scripts/build-stub.sh), never into the SwiftPM build.
 *
 * Debian's libzstd.a is built with ZSTD_LEGACY_SUPPORT, so ZSTD_decompressStream can hand a frame of
 * the pre-1.0 formats v0.5, v0.6 and v0.7 to their own decoders (zstd_v05.o, zstd_v06.o,
 * zstd_v07.o: 79 KB of the x64 stub). Our builder writes zstd 1.x frames only, so the launcher
 * never needs them. These definitions of the 27 functions zstd_decompress.o calls in them come
 * before the archive on the link line (build-stub.sh compiles this file to an object first: a .c
 * given to `zig cc` is linked after the archives), so the linker never takes those three members
 * out of it; the rest of libzstd is Debian's, with its security updates (1.5.4+dfsg2-5+deb12u1
 * patches the decompressor).
 *
 * A legacy frame is then refused, never decoded: ZSTD_decompressStream fails (its legacy path
 * cannot create the legacy context: "Allocation error"), the frame-size functions answer
 * prefix_unknown. Were a later libzstd to call another v0.x function, the linker would take the
 * member out of the archive again and fail on these duplicate definitions: loudly, not silently.
 * The legacy types are opaque here (pointers only), so their headers, which Debian does not
 * install, are not needed. */
#include <stddef.h>

/* zig's musl target does not search /usr/include, where zstd.h is: its two values, both stable
 * (zstd_errors.h: "Only values < 100 are considered stable"; zstd.h's ZSTD_CONTENTSIZE_ERROR). */
#define ZSTD_error_prefix_unknown 10
#define ZSTD_CONTENTSIZE_ERROR (0ULL - 2)
#define LEGACY_REFUSED ((size_t)-(ptrdiff_t)ZSTD_error_prefix_unknown)

#define NO_LEGACY(v)                                                                               \
    void ZSTD##v##_findFrameSizeInfoLegacy(const void *src, size_t srcSize, size_t *cSize,        \
                                           unsigned long long *dBound);                           \
    void ZSTD##v##_findFrameSizeInfoLegacy(const void *src, size_t srcSize, size_t *cSize,        \
                                           unsigned long long *dBound) {                          \
        (void)src; (void)srcSize;                                                                  \
        *cSize = LEGACY_REFUSED;                                                                   \
        *dBound = ZSTD_CONTENTSIZE_ERROR;                                                          \
    }                                                                                              \
    size_t ZSTD##v##_getFrameParams(void *params, const void *src, size_t srcSize);                \
    size_t ZSTD##v##_getFrameParams(void *params, const void *src, size_t srcSize) {               \
        (void)params; (void)src; (void)srcSize;                                                    \
        return LEGACY_REFUSED;                                                                     \
    }                                                                                              \
    void *ZSTD##v##_createDCtx(void);                                                              \
    void *ZSTD##v##_createDCtx(void) { return NULL; }                                              \
    size_t ZSTD##v##_freeDCtx(void *dctx);                                                         \
    size_t ZSTD##v##_freeDCtx(void *dctx) { (void)dctx; return 0; }                                \
    size_t ZSTD##v##_decompress_usingDict(void *dctx, void *dst, size_t dstCapacity,               \
                                          const void *src, size_t srcSize, const void *dict,      \
                                          size_t dictSize);                                        \
    size_t ZSTD##v##_decompress_usingDict(void *dctx, void *dst, size_t dstCapacity,               \
                                          const void *src, size_t srcSize, const void *dict,      \
                                          size_t dictSize) {                                       \
        (void)dctx; (void)dst; (void)dstCapacity; (void)src; (void)srcSize; (void)dict;            \
        (void)dictSize;                                                                            \
        return LEGACY_REFUSED;                                                                     \
    }                                                                                              \
    void *ZBUFF##v##_createDCtx(void);                                                             \
    void *ZBUFF##v##_createDCtx(void) { return NULL; }                                             \
    size_t ZBUFF##v##_freeDCtx(void *dctx);                                                        \
    size_t ZBUFF##v##_freeDCtx(void *dctx) { (void)dctx; return 0; }                               \
    size_t ZBUFF##v##_decompressInitDictionary(void *dctx, const void *dict, size_t dictSize);     \
    size_t ZBUFF##v##_decompressInitDictionary(void *dctx, const void *dict, size_t dictSize) {    \
        (void)dctx; (void)dict; (void)dictSize;                                                    \
        return LEGACY_REFUSED;                                                                     \
    }                                                                                              \
    size_t ZBUFF##v##_decompressContinue(void *dctx, void *dst, size_t *dstCapacityPtr,            \
                                         const void *src, size_t *srcSizePtr);                     \
    size_t ZBUFF##v##_decompressContinue(void *dctx, void *dst, size_t *dstCapacityPtr,            \
                                         const void *src, size_t *srcSizePtr) {                    \
        (void)dctx; (void)dst; (void)src;                                                          \
        *dstCapacityPtr = 0; *srcSizePtr = 0;                                                      \
        return LEGACY_REFUSED;                                                                     \
    }

NO_LEGACY(v05)
NO_LEGACY(v06)
NO_LEGACY(v07)
