/* A probe of the platform layer's C contract (include/CPlatform.h), written against the header
 * only, so one program checks both files: scripts/platform-compile-check.sh links it with
 * platform.c and runs it here, and links it with platform_windows.c into a PE, which it runs when
 * wine is at hand. It works in a fresh directory below the working directory and removes it.
 * Prints one line per check; exits 1 if any failed. */
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <aclapi.h>
#include <io.h>
#endif
#include "CPlatform.h"

static int failures;

static void check(const char *what, int64_t got, int64_t want) {
    if (got == want) printf("ok   %s\n", what);
    else { printf("FAIL %s: got %lld, want %lld (%s)\n", what, (long long)got, (long long)want,
                  got < 0 ? cplat_strerror((int32_t)-got) : "-"); failures++; }
}

struct shared { void *mutex, *cond; int count, done; };

static void *worker(void *arg) {
    struct shared *s = arg;
    for (int i = 0; i < 1000; i++) { cplat_mutex_lock(s->mutex); s->count++; cplat_mutex_unlock(s->mutex); }
    cplat_mutex_lock(s->mutex);
    s->done++;
    cplat_cond_broadcast(s->cond);
    cplat_mutex_unlock(s->mutex);
    return NULL;
}

static void threads(void) {
    struct shared s = {cplat_mutex_new(), cplat_cond_new(), 0, 0};
    void *t[2];
    check("mutex and cond made", s.mutex && s.cond, 1);
    for (int i = 0; i < 2; i++) check("thread_start", cplat_thread_start(worker, &s, &t[i]), 0);
    cplat_mutex_lock(s.mutex);
    while (s.done < 2) cplat_cond_wait(s.cond, s.mutex);
    cplat_mutex_unlock(s.mutex);
    for (int i = 0; i < 2; i++) cplat_thread_join(t[i]);
    check("threads counted under the mutex", s.count, 2000);
    cplat_cond_free(s.cond);
    cplat_mutex_free(s.mutex);
}

static void self(void) {
    char path[CPLAT_PATH_MAX + 1], magic[4] = {0};
    int64_t n = cplat_self_path(path, sizeof path);
    check("self_path", n > 0, 1);
    int32_t fd = cplat_open(path, CPLAT_O_RDONLY | CPLAT_O_CLOEXEC, 0);
    check("open self", fd >= 0, 1);
    check("read self", cplat_read(fd, magic, 4), 4);
    check("self starts with MZ or ELF", !memcmp(magic, "MZ", 2) || !memcmp(magic, "\x7f" "ELF", 4), 1);
    struct cplat_stat st;
    check("fstat self", cplat_fstat(fd, &st), 0);
    check("self is a regular file", st.st_mode & CPLAT_S_IFMT, CPLAT_S_IFREG);
    check("close", cplat_close(fd), 0);
    check("close again: EBADF", cplat_close(fd), -CPLAT_EBADF);
    check("read a closed descriptor: EBADF", cplat_read(fd, magic, 1), -CPLAT_EBADF);
}

static int has_name(int32_t dirfd, const char *name) {
    void *dir;
    const char *n;
    uint8_t type;
    int found = 0;
    int32_t fd = cplat_dup(dirfd);
    if (fd < 0 || cplat_fdopendir(fd, &dir) != 0) return -1;
    cplat_rewinddir(dir);
    while (cplat_readdir(dir, &n, &type) == 1) found |= !strcmp(n, name);
    cplat_closedir(dir);
    return found;
}

static void files(void) {
    char top[64];
    snprintf(top, sizeof top, "probe-%d", (int)cplat_getpid());
    check("mkdirat AT_FDCWD", cplat_mkdirat(CPLAT_AT_FDCWD, top, 0700), 0);
    int32_t d = cplat_open(top, CPLAT_O_RDONLY | CPLAT_O_DIRECTORY | CPLAT_O_NOFOLLOW | CPLAT_O_CLOEXEC, 0);
    check("open directory", d >= 0, 1);
    int32_t f = cplat_openat(d, "a", CPLAT_O_RDWR | CPLAT_O_CREAT | CPLAT_O_EXCL | CPLAT_O_CLOEXEC, 0600);
    check("openat create", f >= 0, 1);
    check("openat exclusive again: EEXIST",
          cplat_openat(d, "a", CPLAT_O_RDWR | CPLAT_O_CREAT | CPLAT_O_EXCL | CPLAT_O_CLOEXEC, 0600), -CPLAT_EEXIST);
    check("write", cplat_write(f, "hello world", 11), 11);
    char buf[8] = {0};
    check("pread at 6", cplat_pread(f, buf, 5, 6), 5);
    check("pread read 'world'", !memcmp(buf, "world", 5), 1);
    check("pread past the end", cplat_pread(f, buf, 5, 100), 0);
    check("fsync", cplat_fsync(f), 0);
    check("fsync a directory", cplat_fsync(d), 0);
    int32_t g = cplat_openat(d, "a", CPLAT_O_RDONLY | CPLAT_O_CLOEXEC, 0);
    check("flock exclusive", cplat_flock(f, CPLAT_LOCK_EX | CPLAT_LOCK_NB), 0);
    check("flock shared by another open: EWOULDBLOCK", cplat_flock(g, CPLAT_LOCK_SH | CPLAT_LOCK_NB), -CPLAT_EWOULDBLOCK);
    check("flock unlock", cplat_flock(f, CPLAT_LOCK_UN), 0);
    check("flock shared after it", cplat_flock(g, CPLAT_LOCK_SH | CPLAT_LOCK_NB), 0);
    cplat_close(g);
    struct cplat_stat st, st2;
    check("fstatat", cplat_fstatat(d, "a", &st, CPLAT_AT_SYMLINK_NOFOLLOW), 0);
    check("fstatat size", st.st_size, 11);
    check("fstatat missing: ENOENT", cplat_fstatat(d, "missing", &st2, 0), -CPLAT_ENOENT);
    check("fchmod read-only", cplat_fchmod(f, 0400), 0);
    /* whatever open says (root, and wine run by root, may write a read-only file), faccessat says */
    int32_t w = cplat_openat(d, "a", CPLAT_O_WRONLY | CPLAT_O_CLOEXEC, 0);
    check("faccessat W_OK of a read-only file agrees with open",
          cplat_faccessat(d, "a", CPLAT_W_OK, CPLAT_AT_EACCESS), w >= 0 ? 0 : w);
    if (w >= 0) cplat_close(w);
    check("faccessat W_OK of the directory", cplat_faccessat(d, ".", CPLAT_W_OK, CPLAT_AT_EACCESS), 0);
    check("touchat", cplat_touchat(d, "a"), 0);
    void *base = NULL;
    check("map_readonly", cplat_map_readonly(f, 11, &base), 0);
    check("mapped bytes", base && !memcmp(base, "hello", 5), 1);
    check("unmap", cplat_unmap(base, 11), 0);
    cplat_close(f);
    check("readdir finds a", has_name(d, "a"), 1);
    check("mkdirat a non-ASCII name", cplat_mkdirat(d, "\xc3\xa9t\xc3\xa9-\xe2\x82\xac", 0700), 0);
    check("readdir gives its UTF-8 back", has_name(d, "\xc3\xa9t\xc3\xa9-\xe2\x82\xac"), 1);
    check("unlinkat it", cplat_unlinkat(d, "\xc3\xa9t\xc3\xa9-\xe2\x82\xac", CPLAT_AT_REMOVEDIR), 0);
    int32_t bs = cplat_openat(d, "x\\..\\a", CPLAT_O_RDONLY | CPLAT_O_CLOEXEC, 0);
    check("openat of a name with a backslash: refused (Windows) or absent (POSIX)",
          bs == -CPLAT_EINVAL || bs == -CPLAT_ENOENT, 1);
    check("mkdirat sub", cplat_mkdirat(d, "sub", 0700), 0);
    check("mkdirat sub/inner", cplat_mkdirat(d, "sub/inner", 0700), 0);
    int32_t s = cplat_openat(d, "sub", CPLAT_O_RDONLY | CPLAT_O_DIRECTORY | CPLAT_O_CLOEXEC, 0);
    int32_t up = cplat_openat(s, "..", CPLAT_O_RDONLY | CPLAT_O_DIRECTORY | CPLAT_O_CLOEXEC, 0);
    check("openat ..", up >= 0, 1);
    check("fstat of .. is the parent", cplat_fstat(up, &st) == 0 && cplat_fstat(d, &st2) == 0
          && st.st_dev == st2.st_dev && st.st_ino == st2.st_ino, 1);
    cplat_close(up);
    cplat_close(s);
    check("mkdirat other", cplat_mkdirat(d, "other", 0700), 0);
    int32_t r = cplat_renameat(d, "other", d, "sub");
    check("renameat onto a non-empty directory: EEXIST or ENOTEMPTY (publishDirectory's 'taken')",
          r == -CPLAT_EEXIST || r == -CPLAT_ENOTEMPTY, 1);
    check("unlinkat other", cplat_unlinkat(d, "other", CPLAT_AT_REMOVEDIR), 0);
    check("renameat", cplat_renameat(d, "sub/inner", d, "moved"), 0);
    check("unlinkat a directory without REMOVEDIR: EISDIR", cplat_unlinkat(d, "moved", 0), -CPLAT_EISDIR);
    check("unlinkat REMOVEDIR", cplat_unlinkat(d, "moved", CPLAT_AT_REMOVEDIR), 0);
    check("unlinkat a non-empty directory: ENOTEMPTY", cplat_unlinkat(CPLAT_AT_FDCWD, top, CPLAT_AT_REMOVEDIR), -CPLAT_ENOTEMPTY);
    check("unlinkat sub", cplat_unlinkat(d, "sub", CPLAT_AT_REMOVEDIR), 0);
    check("unlinkat a read-only file", cplat_unlinkat(d, "a", 0), 0);
    check("readdir no longer finds a", has_name(d, "a"), 0);
    struct cplat_statvfs vfs;
    check("fstatvfs", cplat_fstatvfs(d, &vfs), 0);
    check("fstatvfs sizes", vfs.f_frsize > 0 && vfs.f_blocks > 0, 1);
    cplat_close(d);
    check("unlinkat top", cplat_unlinkat(CPLAT_AT_FDCWD, top, CPLAT_AT_REMOVEDIR), 0);
}

#ifdef _WIN32
static void skip(const char *what, const char *why) { printf("skip %s: %s\n", what, why); }

/* Windows only: changes the security of the directory `path` (given with `\`), through a handle
 * of its own, and checks what fstat of `d` (the same directory) says then. */
static HANDLE security_handle(const char *path) {
    return CreateFileA(path, READ_CONTROL | WRITE_DAC | WRITE_OWNER, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                       NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
}

static PSID owner_of(HANDLE h, PSECURITY_DESCRIPTOR *sd) {
    PSID owner = NULL;
    return GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL, NULL, sd) == ERROR_SUCCESS
        ? owner : NULL;
}

static void windows_owners(int32_t d, const char *path) {
    struct cplat_stat st;
    HANDLE h = security_handle(path);
    check("open the directory for its security", h != INVALID_HANDLE_VALUE, 1);
    if (h == INVALID_HANDLE_VALUE) return;
    /* Everyone:Modify added to its DACL */
    union { SID sid; BYTE bytes[SECURITY_MAX_SID_SIZE]; } everyone, admins, stranger;
    DWORD n = sizeof everyone;
    PACL old = NULL, wide = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    CreateWellKnownSid(WinWorldSid, NULL, &everyone, &n);
    EXPLICIT_ACCESS_A ea = {FILE_GENERIC_READ | FILE_GENERIC_WRITE | FILE_GENERIC_EXECUTE | DELETE, GRANT_ACCESS, NO_INHERITANCE,
                            {NULL, NO_MULTIPLE_TRUSTEE, TRUSTEE_IS_SID, TRUSTEE_IS_WELL_KNOWN_GROUP, (LPSTR)(void *)&everyone}};
    check("read its DACL", GetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &old, NULL, &sd), 0);
    check("add Everyone:Modify", SetEntriesInAclA(1, &ea, old, &wide), 0);
    check("set the wider DACL", SetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, wide, NULL), 0);
    check("Everyone:Modify reads as writable by group and others",
          cplat_fstat(d, &st) == 0 && (st.st_mode & 022) == 022 && st.st_uid == cplat_geteuid(), 1);
    check("fchmod 0755 takes their write rights away", cplat_fchmod(d, 0755), 0);
    check("closed to others again", cplat_fstat(d, &st) == 0 && (st.st_mode & 022) == 0, 1);
    /* the DACL it had: private again */
    check("set the old DACL back", SetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                                   NULL, NULL, old, NULL), 0);
    check("private again", cplat_fstat(d, &st) == 0 && (st.st_mode & 022) == 0, 1);
    LocalFree(wide);
    LocalFree(sd);
    /* a NULL DACL: everyone has full access */
    check("set a NULL DACL", SetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL), 0);
    check("a NULL DACL reads as writable by group and others", cplat_fstat(d, &st) == 0 && (st.st_mode & 022) == 022, 1);
    check("fchmod 0700 makes it private", cplat_fchmod(d, 0700), 0);
    check("closed to others again", cplat_fstat(d, &st) == 0 && (st.st_mode & 022) == 0, 1);
    SetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL, old, NULL);
    /* owned by the administrators: root's. Giving a file to a group needs the group to be one the
     * token may name as owner (an elevated administrator's), or SeRestorePrivilege. */
    n = sizeof admins;
    CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, &admins, &n);
    PSID owner;
    if (SetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &admins, NULL, NULL, NULL) != ERROR_SUCCESS)
        skip("a directory owned by the administrators reads as root's", "this token may not give a file to them");
    else if (!(owner = owner_of(h, &sd)) || !EqualSid(owner, &admins))
        skip("a directory owned by the administrators reads as root's", "the owner set was not kept (wine keeps the Unix owner)");
    else
        check("a directory owned by the administrators reads as root's", cplat_fstat(d, &st) == 0 && st.st_uid == 0, 1);
    LocalFree(sd);
    /* owned by another user (a SID no token here has) */
    SID_IDENTIFIER_AUTHORITY nt = {SECURITY_NT_AUTHORITY};
    PSID other;
    AllocateAndInitializeSid(&nt, 5, 21, 1, 2, 3, 1001, 0, 0, 0, &other);
    memcpy(&stranger, other, GetLengthSid(other));
    FreeSid(other);
    if (SetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &stranger, NULL, NULL, NULL) != ERROR_SUCCESS)
        skip("a directory owned by another user reads as another's", "this token may not give a file to another user");
    else if (!(owner = owner_of(h, &sd)) || !EqualSid(owner, &stranger))
        skip("a directory owned by another user reads as another's", "the owner set was not kept (wine keeps the Unix owner)");
    else
        check("a directory owned by another user reads as another's",
              cplat_fstat(d, &st) == 0 && st.st_uid != cplat_geteuid() && st.st_uid != 0, 1);
    LocalFree(sd);
    CloseHandle(h);
}
#endif

/* Who owns what the launcher makes, and who else may write it: what Ownership reads of fstat. A
 * 0700 directory (the cache's) and a 0755 one inside it are ours and closed to others; a file made
 * inside is ours, or root's when an elevated Windows token gives new files to the administrators. */
static void owners(void) {
    char top[64];
    struct cplat_stat st;
    uint32_t me = cplat_geteuid();
    snprintf(top, sizeof top, "owners-%d", (int)cplat_getpid());
    check("mkdirat 0700", cplat_mkdirat(CPLAT_AT_FDCWD, top, 0700), 0);
    int32_t d = cplat_open(top, CPLAT_O_RDONLY | CPLAT_O_DIRECTORY | CPLAT_O_NOFOLLOW | CPLAT_O_CLOEXEC, 0);
    check("a 0700 directory is ours", cplat_fstat(d, &st) == 0 && st.st_uid == me, 1);
    check("a 0700 directory: group and others cannot write", st.st_mode & 022, 0);
    check("a 0700 directory is not sticky", st.st_mode & CPLAT_S_ISVTX, 0);
    check("mkdirat 0755 inside", cplat_mkdirat(d, "open", 0755), 0);
    check("a 0755 directory is ours, group and others cannot write",
          cplat_fstatat(d, "open", &st, CPLAT_AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid == me && (st.st_mode & 022) == 0, 1);
    int32_t f = cplat_openat(d, "file", CPLAT_O_RDWR | CPLAT_O_CREAT | CPLAT_O_EXCL | CPLAT_O_CLOEXEC, 0644);
    check("a file made inside is ours or root's, group and others cannot write",
          cplat_fstat(f, &st) == 0 && (st.st_uid == me || st.st_uid == 0) && (st.st_mode & 022) == 0, 1);
    cplat_close(f);
    int32_t o = cplat_openat(d, "open", CPLAT_O_RDONLY | CPLAT_O_DIRECTORY | CPLAT_O_CLOEXEC, 0);
#ifdef _WIN32
    char path[80];
    snprintf(path, sizeof path, "%s\\open", top);
    windows_owners(o, path);
#else
    check("fchmod 0777", cplat_fchmod(o, 0777), 0);
    check("a 0777 directory reads as writable by group and others", cplat_fstat(o, &st) == 0 && (st.st_mode & 022) == 022, 1);
    check("fchmod 0755", cplat_fchmod(o, 0755), 0);
    check("closed to others again", cplat_fstat(o, &st) == 0 && (st.st_mode & 022) == 0, 1);
#endif
    cplat_close(o);
    check("unlinkat the file", cplat_unlinkat(d, "file", 0), 0);
    check("unlinkat the 0755 directory", cplat_unlinkat(d, "open", CPLAT_AT_REMOVEDIR), 0);
    cplat_close(d);
    check("unlinkat the 0700 directory", cplat_unlinkat(CPLAT_AT_FDCWD, top, CPLAT_AT_REMOVEDIR), 0);
}

static void process(void) {
    char cwd[CPLAT_PATH_MAX + 1], rnd[32] = {0}, zero[32] = {0};
    check("kill(self, 0)", cplat_kill(cplat_getpid(), 0), 0);
    check("kill(no such process, 0): ESRCH", cplat_kill(0x3ffffff0, 0), -CPLAT_ESRCH);
    check("getcwd", cplat_getcwd(cwd, sizeof cwd), 0);
    check("getrandom", cplat_getrandom(rnd, sizeof rnd), 32);
    check("getrandom filled", memcmp(rnd, zero, sizeof rnd) != 0, 1);
    int64_t t0 = cplat_monotonic_ns(), t1 = cplat_monotonic_ns();
    check("monotonic", t1 >= t0 && t0 > 0, 1);
    check("time_now after 2020", cplat_time_now() > 1577836800, 1);
    check("getenv PATH", cplat_getenv("PATH") != NULL, 1);
    check("environ", cplat_environ() && cplat_environ()[0], 1);
    check("strerror of ENOENT", !strcmp(cplat_strerror(CPLAT_ENOENT), "No such file or directory"), 1);
    check("strerror of an unnamed code", cplat_strerror(CPLAT_EOTHER + 1)[0] != 0, 1);
}

int main(void) {
    self();
    threads();
    files();
    owners();
    process();
    printf("%s: %d failed\n", failures ? "FAILED" : "passed", failures);
    cplat_flush_stdio();
    return failures ? 1 : 0;
}
