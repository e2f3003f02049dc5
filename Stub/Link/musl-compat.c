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
