#pragma once
/* The launcher's one door to the operating system (docs/security.md, "Platform layer").
 *
 * Every call the launcher modules make to libc goes through one of these wrappers, so the Swift
 * side sees fixed-width types and our own constants only: this header includes nothing but
 * <stdint.h> and <stddef.h>, and it must import for the bare-metal Embedded Swift triple
 * (aarch64-none-none-elf), where no Linux header is seen and where O_* values and the layout
 * of `struct stat` differ from x86_64. platform.c, compiled by the target's C compiler with
 * its real headers, translates our flags into the real ones and the real errno into ours.
 * Each wrapper is a one-liner: no logic here beyond translation.
 *
 * Failures: every wrapper that can fail returns the failure itself, as a negative code of ours
 * (-CPLAT_ENOENT, ...), read from errno inside the wrapper, so no other code (Swift's included)
 * runs between the call and the errno read. Results that are pointers come back through an out
 * parameter. */
#include <stddef.h>
#include <stdint.h>

/* Flags of cplat_open / cplat_openat (translated to O_*). */
#define CPLAT_O_RDONLY    0x0000
#define CPLAT_O_WRONLY    0x0001
#define CPLAT_O_RDWR      0x0002
#define CPLAT_O_CREAT     0x0010
#define CPLAT_O_EXCL      0x0020
#define CPLAT_O_TRUNC     0x0040
#define CPLAT_O_APPEND    0x0080
#define CPLAT_O_NONBLOCK  0x0100
#define CPLAT_O_DIRECTORY 0x0200
#define CPLAT_O_NOFOLLOW  0x0400
#define CPLAT_O_CLOEXEC   0x0800

/* The `dirfd` meaning "the working directory", and *at() flags (translated to AT_*). */
#define CPLAT_AT_FDCWD             (-100000)
#define CPLAT_AT_SYMLINK_NOFOLLOW  0x1
#define CPLAT_AT_REMOVEDIR         0x2
#define CPLAT_AT_EACCESS           0x4

/* File types and permission bits of cplat_stat.st_mode (the POSIX values every Unix uses;
 * platform.c checks that the real ones agree). */
#define CPLAT_S_IFMT   0170000u
#define CPLAT_S_IFSOCK 0140000u
#define CPLAT_S_IFLNK  0120000u
#define CPLAT_S_IFREG  0100000u
#define CPLAT_S_IFBLK  0060000u
#define CPLAT_S_IFDIR  0040000u
#define CPLAT_S_IFCHR  0020000u
#define CPLAT_S_IFIFO  0010000u
#define CPLAT_S_ISUID  04000u
#define CPLAT_S_ISGID  02000u
#define CPLAT_S_ISVTX  01000u

/* faccessat modes, flock operations, statvfs flags (translated). */
#define CPLAT_R_OK 0x4
#define CPLAT_W_OK 0x2
#define CPLAT_X_OK 0x1
#define CPLAT_LOCK_SH 0x1
#define CPLAT_LOCK_EX 0x2
#define CPLAT_LOCK_NB 0x4
#define CPLAT_LOCK_UN 0x8
#define CPLAT_ST_RDONLY 0x1u
#define CPLAT_ST_NOEXEC 0x2u

/* errno values the launcher tests for. cplat_errno() maps the real errno to these; an errno
 * not in this list becomes CPLAT_EOTHER + its number (still good for cplat_strerror), so on
 * another OS no real number can read as one of ours. The numbers are Linux's (the same on x86_64
 * and arm64), so on Linux the mapping of the listed ones is one to one. */
#define CPLAT_EPERM      1
#define CPLAT_ENOENT     2
#define CPLAT_ESRCH      3
#define CPLAT_EINTR      4
#define CPLAT_EIO        5
#define CPLAT_E2BIG      7
#define CPLAT_EBADF      9
#define CPLAT_EAGAIN     11
#define CPLAT_ENOMEM     12
#define CPLAT_EACCES     13
#define CPLAT_EBUSY      16
#define CPLAT_EEXIST     17
#define CPLAT_EXDEV      18
#define CPLAT_ENOTDIR    20
#define CPLAT_EISDIR     21
#define CPLAT_EINVAL     22
#define CPLAT_EMFILE     24
#define CPLAT_ETXTBSY    26
#define CPLAT_EFBIG      27
#define CPLAT_ENOSPC     28
#define CPLAT_EROFS      30
#define CPLAT_EMLINK     31
#define CPLAT_ENAMETOOLONG 36
#define CPLAT_ENOSYS     38
#define CPLAT_ENOTEMPTY  39
#define CPLAT_ELOOP      40
#define CPLAT_EDQUOT     122
#define CPLAT_ESTALE     116
#define CPLAT_EWOULDBLOCK CPLAT_EAGAIN
/* Any other errno: CPLAT_EOTHER + the system's own number (cplat_strerror still names it). No
 * unknown number passes through as one of ours. */
#define CPLAT_EOTHER     0x10000

/* Longest path a readlink buffer must hold (PATH_MAX on Linux). */
#define CPLAT_PATH_MAX 4096

/* What the launcher reads of fstat/fstatat. */
struct cplat_stat {
    uint64_t st_dev;
    uint64_t st_ino;
    uint32_t st_mode;
    uint32_t st_uid;
    uint32_t st_gid;
    uint64_t st_nlink;
    int64_t st_size;
    int64_t st_blocks;      /* 512-byte blocks */
    int64_t st_mtime_sec;
    int64_t st_mtime_nsec;
};

/* What the launcher reads of fstatvfs. */
struct cplat_statvfs {
    uint64_t f_bsize;
    uint64_t f_frsize;
    uint64_t f_blocks;
    uint64_t f_bfree;
    uint64_t f_bavail;
    uint64_t f_files;
    uint64_t f_ffree;
    uint64_t f_favail;
    uint32_t f_flag;        /* CPLAT_ST_* */
};

/* The text of a code of ours (CPLAT_E*, or CPLAT_EOTHER + a system number). */
const char *cplat_strerror(int32_t code);

/* Files and directories by descriptor. */
int32_t cplat_open(const char *path, int32_t flags, uint32_t mode);
int32_t cplat_openat(int32_t dirfd, const char *name, int32_t flags, uint32_t mode);
int32_t cplat_close(int32_t fd);
int32_t cplat_dup(int32_t fd);
int64_t cplat_read(int32_t fd, void *buf, size_t count);
int64_t cplat_pread(int32_t fd, void *buf, size_t count, int64_t offset);
int64_t cplat_write(int32_t fd, const void *buf, size_t count);
int32_t cplat_fstat(int32_t fd, struct cplat_stat *st);
int32_t cplat_fstatat(int32_t dirfd, const char *name, struct cplat_stat *st, int32_t flags);
int32_t cplat_fstatvfs(int32_t fd, struct cplat_statvfs *st);
int32_t cplat_mkdirat(int32_t dirfd, const char *name, uint32_t mode);
int32_t cplat_renameat(int32_t fromdir, const char *from, int32_t todir, const char *to);
int32_t cplat_unlinkat(int32_t dirfd, const char *name, int32_t flags);
int32_t cplat_symlinkat(const char *target, int32_t dirfd, const char *name);
int64_t cplat_readlinkat(int32_t dirfd, const char *name, char *buf, size_t size);
int32_t cplat_fchmod(int32_t fd, uint32_t mode);
int32_t cplat_touchat(int32_t dirfd, const char *name);   /* utimensat(now), not following a symlink */
int32_t cplat_faccessat(int32_t dirfd, const char *name, int32_t mode, int32_t flags);
int32_t cplat_fsync(int32_t fd);
int32_t cplat_syncfs(int32_t fd);
/* sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE): starts writing the file's dirty pages back
 * without waiting (Linux; elsewhere a no-op returning 0). */
int32_t cplat_start_writeback(int32_t fd);
int32_t cplat_flock(int32_t fd, int32_t operation);
int32_t cplat_map_readonly(int32_t fd, size_t size, void **base);
int32_t cplat_unmap(void *base, size_t size);
int32_t cplat_getcwd(char *buf, size_t size);

/* Directory listing: fdopendir takes over `fd` (dup it first to keep yours). readdir gives the
 * next name in *name and its d_type in *type (0 when unknown) and returns 1, or 0 at the end, or
 * a negative code (a partial listing must not pass for the whole directory). */
int32_t cplat_fdopendir(int32_t fd, void **dir);
void cplat_rewinddir(void *dir);
int32_t cplat_readdir(void *dir, const char **name, uint8_t *type);
void cplat_closedir(void *dir);

/* Processes and the environment. The exec calls return only on failure, with the code. */
int32_t cplat_execve(const char *path, char *const argv[], char *const envp[]);
int32_t cplat_execvpe(const char *file, char *const argv[], char *const envp[]);
/* The hand-off where there is no exec (Windows): runs `path` with argv and envp (NULL-terminated
 * UTF-8, as execve's) as a child holding the launcher's standard handles and console, in a job
 * object that kills it if the launcher dies, and waits for it. Ctrl+C and Ctrl+Break are ignored
 * by the launcher from here on and reach the child. Returns 0 with the child's exit code in
 * *exit_code (any 32-bit value: 0xC0000005 is an access violation), or -code without a child:
 * E2BIG for a command line over 32,767 UTF-16 units, EINVAL for invalid UTF-8, an argv[0] with
 * `"`, an environment entry without a name, or a .bat/.cmd program (cmd.exe parses its command
 * line by other rules). cplat_spawnp_wait searches PATH (the launcher's) for a `file` without `/`,
 * `\` or `:`, as execvpe, over the PATH entries only (docs/platforms.md, "The Windows platform
 * file"). POSIX: both return -CPLAT_ENOSYS (the launcher execs). */
int32_t cplat_spawn_wait(const char *path, char *const argv[], char *const envp[], uint32_t *exit_code);
int32_t cplat_spawnp_wait(const char *file, char *const argv[], char *const envp[], uint32_t *exit_code);
char **cplat_environ(void);
const char *cplat_getenv(const char *name);
int32_t cplat_getpid(void);
/* Starts a detached grandchild for work the launch must not wait for (the automatic collection's
 * deletions): in its own session, its parent gone at once (so the runtime the caller becomes never
 * sees a child it did not start), stdin/stdout/stderr on /dev/null, every other descriptor but
 * `keep` closed (no pipe a caller waits on stays open). Returns 0 in the grandchild, 1 in the
 * caller, -1 when it could not (the caller does the work itself). Windows: always -1. */
int32_t cplat_detach(int32_t keep);
uint32_t cplat_getuid(void);
uint32_t cplat_geteuid(void);
uint32_t cplat_getgid(void);
int32_t cplat_kill(int32_t pid, int32_t signal);
/* A write past the user's file-size limit (RLIMIT_FSIZE, `ulimit -f`) raises SIGXFSZ, whose default
 * kills the process without a word and leaves its temporary directory. The launcher ignores it from
 * its start, so such a write fails with EFBIG (one line, status 125, nothing left), and puts back the
 * disposition it was started with before execve: an ignored signal would stay ignored in the runtime. */
/* When the process `pid` started, in nanoseconds since 1970 (Windows: GetProcessTimes), or -code
 * (ESRCH: no such process). Windows reuses a pid at once, so "a process with that pid is alive"
 * does not say it is the one that made something; a process that started after the thing was
 * last changed did not make it. POSIX: -CPLAT_ENOSYS (the launcher does not ask there). */
int64_t cplat_process_start_ns(int32_t pid);
void cplat_ignore_file_size_signal(void);
void cplat_restore_file_size_signal(void);
int32_t cplat_isatty(int32_t fd);
void cplat_flush_stdio(void);
/* exit(status). On Windows the process's exit code is the 32 bits of status (UCRT's exit passes it
 * to ExitProcess as a UINT), so a child's uint32 code is passed on as its bit pattern. */
_Noreturn void cplat_exit(int32_t status);

/* Threads (the extraction pipeline): a thread running fn(ctx), joined once; a mutex and a
 * condition variable, each allocated by _new (NULL on failure) and released by _free. */
int32_t cplat_thread_start(void *(*fn)(void *), void *ctx, void **thread);   /* 0 or -code */
void cplat_thread_join(void *thread);
void *cplat_mutex_new(void);
void cplat_mutex_lock(void *mutex);
void cplat_mutex_unlock(void *mutex);
void cplat_mutex_free(void *mutex);
void *cplat_cond_new(void);
void cplat_cond_wait(void *cond, void *mutex);
void cplat_cond_broadcast(void *cond);
void cplat_cond_free(void *cond);
/* Processors this process may run on (its affinity mask where the OS has one), at least 1: how
 * many threads decode a layer's frames. */
int32_t cplat_processor_count(void);

/* Time and randomness. */
int64_t cplat_time_now(void);            /* seconds since 1970 (CLOCK_REALTIME) */
int64_t cplat_monotonic_ns(void);        /* CLOCK_MONOTONIC in nanoseconds */
int64_t cplat_getrandom(void *buf, size_t len);
/* The running executable's path: /proc/self/exe's target on Linux (-CPLAT_ENOENT without
 * /proc), _NSGetExecutablePath on macOS. NUL-terminated in buf; returns its length or -code. */
int64_t cplat_self_path(char *buf, size_t size);
