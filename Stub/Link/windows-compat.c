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
#include <stdlib.h>
#include <windows.h>

#include "CPlatform.h"

/* Static imports are resolved before any code runs: the launcher imports only KnownDLLs
 * (kernel32, advapi32) and the UCRT's API sets, which Windows takes from system32, never from the
 * executable's directory (a planted DLL beside a downloaded .exe). For anything loaded later, the
 * search is narrowed to system32 before main. */
__attribute__((constructor)) static void dll_search_system32_only(void) {
    SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32);
}

/* The launcher's arguments as UTF-8. The C runtime's `main` would get them in the ANSI code page
 * (é in CP-1252 is not UTF-8, and characters outside it are lost), so the stub is linked with
 * -municode: the runtime calls this wmain with the UTF-16 arguments, converted here, exactly, to
 * the UTF-8 the launcher (Swift's @_cdecl("main")) reads on every OS. An argument that is not
 * valid UTF-16 (a lone surrogate) cannot be passed on exactly: one line, status 125. */
int main(int argc, char **argv);
int wmain(int argc, wchar_t **wargv);
int wmain(int argc, wchar_t **wargv) {
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    if (argv == NULL) {
        static const char message[] = "launcher: out of memory\n";
        (void)cplat_write(2, message, sizeof message - 1);
        cplat_exit(125);
    }
    for (int i = 0; i < argc; i++) {
        int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, wargv[i], -1, NULL, 0, NULL, NULL);
        argv[i] = n > 0 ? malloc((size_t)n) : NULL;
        if (argv[i] == NULL || WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, wargv[i], -1, argv[i], n, NULL, NULL) != n) {
            static const char message[] = "launcher: an argument is not valid Unicode (UTF-16) and cannot be passed on\n";
            (void)cplat_write(2, message, sizeof message - 1);
            cplat_exit(125);
        }
    }
    return main(argc, argv);
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

/* The seed of Embedded Swift's Hasher: the system RNG (RtlGenRandom, through the platform
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
