/* The C side of the platform layer (include/CPlatform.h): compiled with the target's real
 * headers, it translates our constants into the real ones and errno back into ours.
 * One line per call; the only logic is translation. */
/* POSIX only: Windows has platform_windows.c. SwiftPM compiles every .c file of the target, so
 * each file is empty for the other OS family. */
#ifndef _WIN32
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __APPLE__
#include <mach-o/dyld.h>     /* _NSGetExecutablePath */
#include <sys/mount.h>       /* fstatfs, MNT_NOEXEC */
#else
#include <sys/random.h>
#endif
#ifdef __linux__
#include <sys/prctl.h>     /* PR_GET_CHILD_SUBREAPER */
#endif
#include "CPlatform.h"

/* The one file for POSIX systems: Linux (glibc, musl) and macOS, which differ in these places only
 * (`make check` compiles it for x86_64 and aarch64 of both, scripts/platform-compile-check.sh):
 *   - the modification time is st_mtimespec on macOS, st_mtim on Linux;
 *   - macOS's statvfs has no ST_NOEXEC: fstatfs's MNT_NOEXEC says it;
 *   - macOS has no syncfs: sync, then F_FULLFSYNC, which also empties the drive's write cache;
 *   - macOS has no execvpe: the PATH search is done here, as glibc's;
 *   - macOS has no getrandom: arc4random_buf;
 *   - the running executable is /proc/self/exe on Linux, _NSGetExecutablePath on macOS.
 * The macOS branches are compiled here (zig cc -target x86_64-macos / aarch64-macos), not run:
 * no macOS machine is at hand (docs/platforms.md). */
#ifdef __APPLE__
#define MTIME(s) ((s)->st_mtimespec)
#else
#define MTIME(s) ((s)->st_mtim)
#endif

extern char **environ;

_Static_assert(CPLAT_S_IFMT == S_IFMT && CPLAT_S_IFREG == S_IFREG && CPLAT_S_IFDIR == S_IFDIR
               && CPLAT_S_IFLNK == S_IFLNK && CPLAT_S_IFIFO == S_IFIFO && CPLAT_S_IFSOCK == S_IFSOCK
               && CPLAT_S_IFCHR == S_IFCHR && CPLAT_S_IFBLK == S_IFBLK && CPLAT_S_ISVTX == S_ISVTX
               && CPLAT_S_ISUID == S_ISUID && CPLAT_S_ISGID == S_ISGID,
               "file type and mode bits are passed through unchanged");

/* ---- translation ---- */

static int open_flags(int32_t f) {
    int r = (f & CPLAT_O_RDWR) ? O_RDWR : (f & CPLAT_O_WRONLY) ? O_WRONLY : O_RDONLY;
    if (f & CPLAT_O_CREAT) r |= O_CREAT;
    if (f & CPLAT_O_EXCL) r |= O_EXCL;
    if (f & CPLAT_O_TRUNC) r |= O_TRUNC;
    if (f & CPLAT_O_APPEND) r |= O_APPEND;
    if (f & CPLAT_O_NONBLOCK) r |= O_NONBLOCK;
    if (f & CPLAT_O_DIRECTORY) r |= O_DIRECTORY;
    if (f & CPLAT_O_NOFOLLOW) r |= O_NOFOLLOW;
    if (f & CPLAT_O_CLOEXEC) r |= O_CLOEXEC;
    return r;
}

static int at_flags(int32_t f) {
    return ((f & CPLAT_AT_SYMLINK_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0)
         | ((f & CPLAT_AT_REMOVEDIR) ? AT_REMOVEDIR : 0)
         | ((f & CPLAT_AT_EACCESS) ? AT_EACCESS : 0);
}

static int dir_fd(int32_t fd) { return fd == CPLAT_AT_FDCWD ? AT_FDCWD : fd; }

static int access_mode(int32_t m) {
    return ((m & CPLAT_R_OK) ? R_OK : 0) | ((m & CPLAT_W_OK) ? W_OK : 0) | ((m & CPLAT_X_OK) ? X_OK : 0);
}

static int lock_op(int32_t op) {
    return ((op & CPLAT_LOCK_SH) ? LOCK_SH : 0) | ((op & CPLAT_LOCK_EX) ? LOCK_EX : 0)
         | ((op & CPLAT_LOCK_NB) ? LOCK_NB : 0) | ((op & CPLAT_LOCK_UN) ? LOCK_UN : 0);
}

/* Our errno numbers against the real ones, both directions. */
static const int errno_table[][2] = {
    {CPLAT_EPERM, EPERM}, {CPLAT_ENOENT, ENOENT}, {CPLAT_ESRCH, ESRCH}, {CPLAT_EINTR, EINTR},
    {CPLAT_EIO, EIO}, {CPLAT_E2BIG, E2BIG}, {CPLAT_EBADF, EBADF}, {CPLAT_EAGAIN, EAGAIN}, {CPLAT_ENOMEM, ENOMEM},
    {CPLAT_EACCES, EACCES}, {CPLAT_EBUSY, EBUSY}, {CPLAT_EEXIST, EEXIST}, {CPLAT_EXDEV, EXDEV},
    {CPLAT_ENOTDIR, ENOTDIR}, {CPLAT_EISDIR, EISDIR}, {CPLAT_EINVAL, EINVAL}, {CPLAT_EMFILE, EMFILE},
    {CPLAT_ETXTBSY, ETXTBSY}, {CPLAT_EFBIG, EFBIG}, {CPLAT_ENOSPC, ENOSPC}, {CPLAT_EROFS, EROFS},
    {CPLAT_EMLINK, EMLINK}, {CPLAT_ENAMETOOLONG, ENAMETOOLONG}, {CPLAT_ENOSYS, ENOSYS},
    {CPLAT_ENOTEMPTY, ENOTEMPTY}, {CPLAT_ELOOP, ELOOP}, {CPLAT_EDQUOT, EDQUOT}, {CPLAT_ESTALE, ESTALE},
};
#define ERRNO_COUNT (sizeof errno_table / sizeof errno_table[0])

/* A real errno the table does not name becomes CPLAT_EOTHER + the real number, never a number of
 * ours: on macOS EDEADLK is 11 (our EAGAIN) and EINPROGRESS 36 (our ENAMETOOLONG). */
static int32_t errno_out(int real) {
    if (real == 0) return 0;
    for (size_t i = 0; i < ERRNO_COUNT; i++) if (errno_table[i][1] == real) return errno_table[i][0];
    return CPLAT_EOTHER + real;
}

static int errno_in(int32_t code) {
    if (code >= CPLAT_EOTHER) return code - CPLAT_EOTHER;
    for (size_t i = 0; i < ERRNO_COUNT; i++) if (errno_table[i][0] == code) return errno_table[i][1];
    return code;
}

static void stat_out(const struct stat *s, struct cplat_stat *o) {
    *o = (struct cplat_stat){ s->st_dev, s->st_ino, s->st_mode, s->st_uid, s->st_gid, s->st_nlink,
                              s->st_size, s->st_blocks, MTIME(s).tv_sec, MTIME(s).tv_nsec };
}

/* Whether the filesystem of fd is mounted noexec. */
static uint32_t noexec_flag(int fd, const struct statvfs *s) {
#ifdef __APPLE__
    (void)s;
    struct statfs f;
    return (fstatfs(fd, &f) == 0 && (f.f_flags & MNT_NOEXEC)) ? CPLAT_ST_NOEXEC : 0;
#else
    (void)fd;
    return (s->f_flag & ST_NOEXEC) ? CPLAT_ST_NOEXEC : 0;
#endif
}

static void statvfs_out(int fd, const struct statvfs *s, struct cplat_statvfs *o) {
    *o = (struct cplat_statvfs){ s->f_bsize, s->f_frsize, s->f_blocks, s->f_bfree, s->f_bavail,
                                 s->f_files, s->f_ffree, s->f_favail,
                                 ((s->f_flag & ST_RDONLY) ? CPLAT_ST_RDONLY : 0) | noexec_flag(fd, s) };
}

/* ---- results ---- */

/* A system call's result, or its failure as -code (errno read here, right after the call). */
static int32_t ret32(int r) { return r < 0 ? -errno_out(errno) : r; }
static int64_t ret64(int64_t r) { return r < 0 ? -(int64_t)errno_out(errno) : r; }

const char *cplat_strerror(int32_t code) { return strerror(errno_in(code)); }

/* ---- files ---- */

int32_t cplat_open(const char *path, int32_t flags, uint32_t mode) { return ret32(open(path, open_flags(flags), (mode_t)mode)); }
int32_t cplat_openat(int32_t dirfd, const char *name, int32_t flags, uint32_t mode) { return ret32(openat(dir_fd(dirfd), name, open_flags(flags), (mode_t)mode)); }
int32_t cplat_close(int32_t fd) { return ret32(close(fd)); }
int32_t cplat_dup(int32_t fd) { return ret32(fcntl(fd, F_DUPFD_CLOEXEC, 0)); }
int64_t cplat_read(int32_t fd, void *buf, size_t count) { return ret64(read(fd, buf, count)); }
int64_t cplat_pread(int32_t fd, void *buf, size_t count, int64_t offset) { return ret64(pread(fd, buf, count, (off_t)offset)); }
int64_t cplat_write(int32_t fd, const void *buf, size_t count) { return ret64(write(fd, buf, count)); }
int32_t cplat_fstat(int32_t fd, struct cplat_stat *st) { struct stat s; int r = ret32(fstat(fd, &s)); if (r == 0) stat_out(&s, st); return r; }
int32_t cplat_fstatat(int32_t dirfd, const char *name, struct cplat_stat *st, int32_t flags) { struct stat s; int r = ret32(fstatat(dir_fd(dirfd), name, &s, at_flags(flags))); if (r == 0) stat_out(&s, st); return r; }
int32_t cplat_fstatvfs(int32_t fd, struct cplat_statvfs *st) { struct statvfs s; int r = ret32(fstatvfs(fd, &s)); if (r == 0) statvfs_out(fd, &s, st); return r; }
int32_t cplat_mkdirat(int32_t dirfd, const char *name, uint32_t mode) { return ret32(mkdirat(dir_fd(dirfd), name, (mode_t)mode)); }
int32_t cplat_renameat(int32_t fromdir, const char *from, int32_t todir, const char *to) { return ret32(renameat(dir_fd(fromdir), from, dir_fd(todir), to)); }
int32_t cplat_unlinkat(int32_t dirfd, const char *name, int32_t flags) { return ret32(unlinkat(dir_fd(dirfd), name, at_flags(flags))); }
int32_t cplat_symlinkat(const char *target, int32_t dirfd, const char *name) { return ret32(symlinkat(target, dir_fd(dirfd), name)); }
int64_t cplat_readlinkat(int32_t dirfd, const char *name, char *buf, size_t size) { return ret64(readlinkat(dir_fd(dirfd), name, buf, size)); }
int32_t cplat_fchmod(int32_t fd, uint32_t mode) { return ret32(fchmod(fd, (mode_t)mode)); }
int32_t cplat_touchat(int32_t dirfd, const char *name) { return ret32(utimensat(dir_fd(dirfd), name, NULL, AT_SYMLINK_NOFOLLOW)); }
int32_t cplat_faccessat(int32_t dirfd, const char *name, int32_t mode, int32_t flags) { return ret32(faccessat(dir_fd(dirfd), name, access_mode(mode), at_flags(flags))); }
int32_t cplat_fsync(int32_t fd) { return ret32(fsync(fd)); }
#ifdef __APPLE__
int32_t cplat_syncfs(int32_t fd) { sync(); return ret32(fcntl(fd, F_FULLFSYNC)); }
#else
int32_t cplat_syncfs(int32_t fd) { return ret32(syncfs(fd)); }
#endif
#ifdef SYNC_FILE_RANGE_WRITE
int32_t cplat_start_writeback(int32_t fd) { return ret32(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)); }
#else
int32_t cplat_start_writeback(int32_t fd) { (void)fd; return 0; }
#endif
int32_t cplat_flock(int32_t fd, int32_t operation) { return ret32(flock(fd, lock_op(operation))); }
int32_t cplat_map_readonly(int32_t fd, size_t size, void **base) { void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0); if (p == MAP_FAILED) return ret32(-1); *base = p; return 0; }
int32_t cplat_unmap(void *base, size_t size) { return ret32(munmap(base, size)); }
int32_t cplat_getcwd(char *buf, size_t size) { return getcwd(buf, size) ? 0 : ret32(-1); }

/* ---- directories ---- */

int32_t cplat_fdopendir(int32_t fd, void **dir) { DIR *d = fdopendir(fd); if (!d) return ret32(-1); *dir = d; return 0; }
void cplat_rewinddir(void *dir) { rewinddir((DIR *)dir); }
int32_t cplat_readdir(void *dir, const char **name, uint8_t *type) { errno = 0; struct dirent *e = readdir((DIR *)dir); if (!e) return errno ? ret32(-1) : 0; *name = e->d_name; *type = e->d_type; return 1; }
void cplat_closedir(void *dir) { closedir((DIR *)dir); }

/* ---- processes ---- */

int32_t cplat_execve(const char *path, char *const argv[], char *const envp[]) { return ret32(execve(path, argv, envp)); }
#ifdef __APPLE__
/* execvpe as glibc's: each PATH directory in turn (an empty one is the working directory); a
 * candidate that is not there is skipped, EACCES is remembered and reported if nothing ran. */
int32_t cplat_execvpe(const char *file, char *const argv[], char *const envp[]) {
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    size_t flen = strlen(file);
    int denied = 0;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        char candidate[4096];
        if (dlen + 1 + flen + 1 <= sizeof candidate) {
            if (dlen) { memcpy(candidate, p, dlen); candidate[dlen] = '/'; memcpy(candidate + dlen + 1, file, flen + 1); }
            else memcpy(candidate, file, flen + 1);
            execve(candidate, argv, envp);
            if (errno == EACCES) denied = 1;
            else if (errno != ENOENT && errno != ENOTDIR) return ret32(-1);
        }
        if (!end) break;
        p = end;
    }
    return denied ? -CPLAT_EACCES : -CPLAT_ENOENT;
}
#else
int32_t cplat_execvpe(const char *file, char *const argv[], char *const envp[]) { return ret32(execvpe(file, argv, envp)); }
#endif

/* Windows only (see the header). */
int64_t cplat_process_start_ns(int32_t pid) {
    (void)pid;
    return -CPLAT_ENOSYS;
}

/* Windows only: here the launcher execs (Handoff.run). */
int32_t cplat_spawn_wait(const char *path, char *const argv[], char *const envp[], uint32_t *exit_code) {
    (void)path; (void)argv; (void)envp; (void)exit_code;
    return -CPLAT_ENOSYS;
}
int32_t cplat_spawnp_wait(const char *file, char *const argv[], char *const envp[], uint32_t *exit_code) {
    (void)file; (void)argv; (void)envp; (void)exit_code;
    return -CPLAT_ENOSYS;
}
char **cplat_environ(void) { return environ; }
const char *cplat_getenv(const char *name) { return getenv(name); }
int32_t cplat_getpid(void) { return getpid(); }
int32_t cplat_detach(int32_t keep) {
    /* An orphan is given to the nearest subreaper, else to the namespace's init: when that is this
     * process (PID 1 of a container, or a subreaper), the grandchild would become a child of the
     * app it execs, unreaped and killed with it. The caller then does the work itself. */
    if (getpid() == 1) return -1;
#ifdef __linux__
    int subreaper = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0) == 0 && subreaper) return -1;
#endif
    /* SIGCHLD ignored (inherited through exec) reaps the child by itself and waitpid fails with
     * ECHILD: the caller would delete too, in the launch. The default action for the wait only. */
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    if (sigaction(SIGCHLD, &dfl, &old) != 0) return -1;
    pid_t child = fork();
    if (child < 0) {
        (void)sigaction(SIGCHLD, &old, NULL);
        return -1;
    }
    if (child > 0) {
        int status = 0;
        pid_t r;
        do r = waitpid(child, &status, 0); while (r < 0 && errno == EINTR);
        (void)sigaction(SIGCHLD, &old, NULL);
        return r == child && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 1 : -1;
    }
    (void)setsid();
    pid_t grandchild = fork();
    if (grandchild != 0) _exit(grandchild < 0 ? 1 : 0);
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; fd++) {
        if (null >= 0 && null != fd) dup2(null, fd);
        else if (null < 0) close(fd);
    }
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = 3; fd < max; fd++) {
        if (fd != keep) close(fd);
    }
    return 0;
}
uint32_t cplat_getuid(void) { return getuid(); }
uint32_t cplat_geteuid(void) { return geteuid(); }
uint32_t cplat_getgid(void) { return getgid(); }
int32_t cplat_kill(int32_t pid, int32_t signal) { return ret32(kill(pid, signal)); }

/* SIGXFSZ: the disposition the launcher was started with, kept while the launcher ignores it. */
static struct sigaction saved_sigxfsz;
static int sigxfsz_saved;
void cplat_ignore_file_size_signal(void) {
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGXFSZ, &ignore, &saved_sigxfsz) == 0) sigxfsz_saved = 1;
}
void cplat_restore_file_size_signal(void) {
    if (sigxfsz_saved) { sigaction(SIGXFSZ, &saved_sigxfsz, NULL); sigxfsz_saved = 0; }
}
int32_t cplat_isatty(int32_t fd) { return isatty(fd); }
void cplat_flush_stdio(void) { fflush(NULL); }
void cplat_exit(int32_t status) { exit(status); }

/* ---- threads ---- */

int32_t cplat_thread_start(void *(*fn)(void *), void *ctx, void **thread) {
    pthread_t *t = malloc(sizeof *t);
    if (!t) return -CPLAT_ENOMEM;
    int r = pthread_create(t, NULL, fn, ctx);
    if (r != 0) { free(t); return -errno_out(r); }
    *thread = t;
    return 0;
}
void cplat_thread_join(void *thread) { pthread_join(*(pthread_t *)thread, NULL); free(thread); }
void *cplat_mutex_new(void) { pthread_mutex_t *m = malloc(sizeof *m); if (m && pthread_mutex_init(m, NULL) != 0) { free(m); m = NULL; } return m; }
void cplat_mutex_lock(void *mutex) { pthread_mutex_lock((pthread_mutex_t *)mutex); }
void cplat_mutex_unlock(void *mutex) { pthread_mutex_unlock((pthread_mutex_t *)mutex); }
void cplat_mutex_free(void *mutex) { pthread_mutex_destroy((pthread_mutex_t *)mutex); free(mutex); }
void *cplat_cond_new(void) { pthread_cond_t *c = malloc(sizeof *c); if (c && pthread_cond_init(c, NULL) != 0) { free(c); c = NULL; } return c; }
void cplat_cond_wait(void *cond, void *mutex) { pthread_cond_wait((pthread_cond_t *)cond, (pthread_mutex_t *)mutex); }
void cplat_cond_broadcast(void *cond) { pthread_cond_broadcast((pthread_cond_t *)cond); }
void cplat_cond_free(void *cond) { pthread_cond_destroy((pthread_cond_t *)cond); free(cond); }
int32_t cplat_processor_count(void) {
#ifdef __linux__
    cpu_set_t set;   /* the affinity mask (taskset, cgroup cpusets); needs no /proc */
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int32_t)n : 1;
}

/* ---- time and randomness ---- */

int64_t cplat_time_now(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); return t.tv_sec; }
int64_t cplat_monotonic_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }
#ifdef __APPLE__
int64_t cplat_getrandom(void *buf, size_t len) { arc4random_buf(buf, len); return (int64_t)len; }
#else
int64_t cplat_getrandom(void *buf, size_t len) { return ret64(getrandom(buf, len, 0)); }
#endif

/* ---- the running executable ---- */

int64_t cplat_self_path(char *buf, size_t size) {
#ifdef __APPLE__
    uint32_t n = (uint32_t)size;
    if (_NSGetExecutablePath(buf, &n) != 0) return -CPLAT_ENAMETOOLONG;
    return (int64_t)strlen(buf);
#else
    if (size == 0) return -CPLAT_EINVAL;
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n >= 0) buf[n] = 0;
    return ret64(n);
#endif
}

#endif /* !_WIN32 */
