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
 * Like glibc's: getrandom(2), else /dev/urandom where the kernel has no getrandom (before 3.17,
 * e.g. RHEL 7's 3.10). Unlike glibc's it never aborts: the bytes only seed the launcher's hash
 * tables, so as a last resort the clock and the pid are mixed in (xorshift), and the launch goes on. */
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void arc4random_buf(void *buf, size_t n);

static size_t fill_from_urandom(unsigned char *p, size_t n) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t done = 0;
    while (done < n) {
        ssize_t got = read(fd, p + done, n - done);
        if (got > 0) { done += (size_t)got; continue; }
        if (got < 0 && errno == EINTR) continue;
        break;
    }
    close(fd);
    return done;
}

void arc4random_buf(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got > 0) { p += got; n -= (size_t)got; continue; }
        if (got < 0 && errno == EINTR) continue;
        break;
    }
    if (n == 0) return;
    size_t got = fill_from_urandom(p, n);
    p += got; n -= got;
    if (n == 0) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long x = ((unsigned long long)ts.tv_sec << 32) ^ (unsigned long long)ts.tv_nsec
                           ^ ((unsigned long long)getpid() << 16) ^ 0x9E3779B97F4A7C15ull;
    while (n > 0) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        *p++ = (unsigned char)x;
        n--;
    }
}

/* Out of memory. Embedded Swift allocates through posix_memalign and, when it fails, carries on
 * with a null buffer of count 0 (the extractor would then spin on zero-byte chunks forever). The
 * link wraps posix_memalign (-Wl,--wrap=posix_memalign) so that a failed allocation ends the
 * launcher at once, as every launcher failure does: one line on stderr, status 125. The C libraries
 * allocate with malloc and report a failure themselves; they are not wrapped. */
int __real_posix_memalign(void **out, size_t alignment, size_t size);
int __wrap_posix_memalign(void **out, size_t alignment, size_t size);

int __wrap_posix_memalign(void **out, size_t alignment, size_t size) {
    int r = __real_posix_memalign(out, alignment, size);
    if (r != 0) {
        static const char message[] = "launcher: out of memory\n";
        (void)!write(2, message, sizeof message - 1);
        _exit(125);
    }
    return r;
}
