/* Linked into the musl stub only (scripts/build-stub.sh), never into the SwiftPM build.
 *
 * The stub links Debian's static libsodium/libzstd/liblzma/libz, which were compiled against glibc
 * with _FORTIFY_SOURCE. After --gc-sections the one glibc-only symbol they still need is the
 * fortified explicit_bzero (libsodium's sodium_memzero). This is its contract: abort if the
 * destination is smaller than the length, else explicit_bzero. */
#include <stdlib.h>
#include <string.h>

void __explicit_bzero_chk(void *dest, size_t len, size_t destlen);

void __explicit_bzero_chk(void *dest, size_t len, size_t destlen) {
    if (len > destlen) abort();
    explicit_bzero(dest, len);
}

/* Embedded Swift seeds Hasher with arc4random_buf, which glibc (2.36+) has and musl does not.
 * getrandom(2) blocks only until the kernel's pool is initialised, once per boot. */
#include <errno.h>
#include <sys/random.h>

void arc4random_buf(void *buf, size_t n);

void arc4random_buf(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            abort();
        }
        p += got;
        n -= (size_t)got;
    }
}
