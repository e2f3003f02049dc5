/* Linked into the windows-x64 stub only (scripts/build-stub.sh), never into the SwiftPM build.
 *
 * The launcher's Swift is compiled as IR for an ELF triple and retargeted to x86_64-pc-windows-gnu
 * (docs/platforms.md, "Windows x64 launcher"). Embedded Swift's runtime allocates with
 * posix_memalign and frees with free, and seeds its hash tables with arc4random_buf; the Windows C
 * runtime has neither of the first and third, and memory aligned by _aligned_malloc must be freed
 * by _aligned_free, not free. So build-stub.sh renames, in the Swift objects' IR only, `free` to
 * dgmo_swift_free and `posix_memalign` to dgmo_swift_memalign: every Swift allocation and release
 * comes here, and the C libraries keep the CRT's malloc and free for their own memory. */
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <windows.h>

#include "CPlatform.h"

/* Static imports are resolved before any code runs: the launcher imports only KnownDLLs
 * (kernel32, advapi32) and the UCRT's API sets, which Windows takes from system32, never from the
 * executable's directory (a planted DLL beside a downloaded .exe). For anything loaded later, the
 * search is narrowed to system32 before main. */
__attribute__((constructor)) static void dll_search_system32_only(void) {
    SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32);
}

int dgmo_swift_memalign(void **out, size_t alignment, size_t size);
void dgmo_swift_free(void *p);
void arc4random_buf(void *buf, size_t n);

/* As the musl stub's wrapped posix_memalign: a failed allocation ends the launcher at once (one
 * line, status 125), because Embedded Swift would carry on with a null buffer. */
int dgmo_swift_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *)) alignment = sizeof(void *);
    void *p = _aligned_malloc(size ? size : 1, alignment);
    if (p == NULL) {
        static const char message[] = "launcher: out of memory\n";
        (void)cplat_write(2, message, sizeof message - 1);
        cplat_exit(125);
    }
    *out = p;
    return 0;
}

void dgmo_swift_free(void *p) { _aligned_free(p); }

/* The seed of Embedded Swift's Hasher: the system RNG (BCryptGenRandom, through the platform
 * layer). Like the musl stub's it never aborts: the bytes only seed the launcher's hash tables. */
void arc4random_buf(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        int64_t got = cplat_getrandom(p, n);
        if (got <= 0) break;
        p += got;
        n -= (size_t)got;
    }
    if (n == 0) return;
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    uint64_t x = (uint64_t)t.QuadPart ^ ((uint64_t)GetCurrentProcessId() << 16) ^ 0x9E3779B97F4A7C15ull;
    while (n > 0) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        *p++ = (unsigned char)x;
        n--;
    }
}

/* Swift's Unicode tables (normalisation, grapheme breaking) are not linked: their library is ELF
 * only, and the launcher compares and splits text as bytes. build-stub.sh proves by an ELF link of
 * the same IR that no live function reaches these symbols; lld-link still wants a definition for
 * the dead code that names them. Reaching one anyway ends the launcher with one line. */
static void unicode_tables_reached(void) {
    static const char message[] = "launcher: internal error: Swift's Unicode tables were reached\n";
    (void)cplat_write(2, message, sizeof message - 1);
    cplat_exit(125);
}
const uint8_t _swift_stdlib_nfd_decompositions[1];
void _swift_stdlib_getComposition(void);
void _swift_stdlib_getDecompositionEntry(void);
void _swift_stdlib_getGraphemeBreakProperty(void);
void _swift_stdlib_getNormData(void);
void _swift_stdlib_isExtendedPictographic(void);
void _swift_stdlib_isInCB_Consonant(void);
void _swift_stdlib_getComposition(void) { unicode_tables_reached(); }
void _swift_stdlib_getDecompositionEntry(void) { unicode_tables_reached(); }
void _swift_stdlib_getGraphemeBreakProperty(void) { unicode_tables_reached(); }
void _swift_stdlib_getNormData(void) { unicode_tables_reached(); }
void _swift_stdlib_isExtendedPictographic(void) { unicode_tables_reached(); }
void _swift_stdlib_isInCB_Consonant(void) { unicode_tables_reached(); }
