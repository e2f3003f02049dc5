/* The C side of the platform layer for Windows (include/CPlatform.h): the same operations as
 * platform.c, on Win32, with the same contract (a failure is returned as -code of ours; pointers
 * come back through out parameters). Compiled here with `zig cc -target x86_64-windows-gnu`
 * (mingw-w64 headers, UCRT) by scripts/platform-compile-check.sh, and linked into a test program;
 * its behaviour, and everything marked "issue 26" below, belongs to the Windows launcher issue.
 * Link with -ladvapi32 (RtlGenRandom, security descriptors). Windows 10 or later.
 *
 * Descriptors. The int32 descriptor model of the header is kept: every descriptor is a CRT
 * descriptor made by _open_osfhandle from a Win32 HANDLE, and every call gets the HANDLE back
 * with _get_osfhandle and works on it (ReadFile, LockFileEx, ...); _close closes both. So 0, 1
 * and 2 are the standard handles, as on POSIX, and the Swift side is unchanged.
 *
 * Paths are UTF-8 on our side and UTF-16 here (MultiByteToWideChar, refusing invalid UTF-8).
 * Absolute paths are made `\\?\` paths, so no MAX_PATH limit applies. Win32 has no *at calls:
 * a name under a directory descriptor is joined to that directory's path
 * (GetFinalPathNameByHandleW), so, unlike POSIX, a rename of the directory between the two steps
 * is not noticed here (TreeWalk's device/inode check notices it; NtCreateFile with a
 * RootDirectory handle would be the true openat, issue 26's choice).
 *
 * Owners. Windows has no uids: files are owned by SIDs and guarded by DACLs. fstat reads both and
 * answers Ownership's questions in uid and mode words: the token user is USER_UID (what
 * getuid/geteuid return), the system and the administrators are 0 (root), anyone else OTHER_UID;
 * and the group/other write bits say whether anyone else may change the file ("owners", below). */
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "CPlatform.h"

#define USER_UID  1000u          /* the token user's uid and gid (getuid, geteuid, getgid): neither 0 nor OTHER_UID */
#define OTHER_UID 0xFFFFFFFFu   /* the owner of what is neither the token user's, nor the system's or administrators' */
#define SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
#define DT_DIR 4                /* d_type values of cplat_readdir: the Linux and macOS ones */
#define DT_REG 8
#define DT_LNK 10

/* ---- errors ---- */

/* Win32 errors we name, in POSIX words (as the CRT's own mapping, with EBUSY for a sharing
 * violation and EAGAIN for a lock held by another). Any other becomes CPLAT_EOTHER + its number,
 * and cplat_strerror asks FormatMessage for its text. */
static const struct { DWORD win; int32_t ours; } win_table[] = {
    {ERROR_FILE_NOT_FOUND, CPLAT_ENOENT}, {ERROR_PATH_NOT_FOUND, CPLAT_ENOENT},
    {ERROR_INVALID_DRIVE, CPLAT_ENOENT}, {ERROR_BAD_NETPATH, CPLAT_ENOENT}, {ERROR_BAD_NET_NAME, CPLAT_ENOENT},
    {ERROR_BAD_PATHNAME, CPLAT_ENOENT},
    /* a name being deleted: under POSIX it would be gone already */
    {ERROR_DELETE_PENDING, CPLAT_ENOENT},
    {ERROR_TOO_MANY_OPEN_FILES, CPLAT_EMFILE}, {ERROR_ACCESS_DENIED, CPLAT_EACCES},
    {ERROR_INVALID_HANDLE, CPLAT_EBADF}, {ERROR_NOT_ENOUGH_MEMORY, CPLAT_ENOMEM},
    {ERROR_OUTOFMEMORY, CPLAT_ENOMEM}, {ERROR_NOT_ENOUGH_QUOTA, CPLAT_ENOMEM},
    {ERROR_NOT_SAME_DEVICE, CPLAT_EXDEV}, {ERROR_WRITE_PROTECT, CPLAT_EROFS},
    {ERROR_SHARING_VIOLATION, CPLAT_EBUSY}, {ERROR_BUSY, CPLAT_EBUSY}, {ERROR_LOCK_VIOLATION, CPLAT_EAGAIN},
    {ERROR_HANDLE_DISK_FULL, CPLAT_ENOSPC}, {ERROR_DISK_FULL, CPLAT_ENOSPC},
    {ERROR_FILE_EXISTS, CPLAT_EEXIST}, {ERROR_ALREADY_EXISTS, CPLAT_EEXIST},
    {ERROR_INVALID_PARAMETER, CPLAT_EINVAL}, {ERROR_INVALID_NAME, CPLAT_EINVAL}, {ERROR_NEGATIVE_SEEK, CPLAT_EINVAL},
    {ERROR_DIR_NOT_EMPTY, CPLAT_ENOTEMPTY}, {ERROR_FILENAME_EXCED_RANGE, CPLAT_ENAMETOOLONG},
    {ERROR_DIRECTORY, CPLAT_ENOTDIR}, {ERROR_CALL_NOT_IMPLEMENTED, CPLAT_ENOSYS},
    {ERROR_DISK_QUOTA_EXCEEDED, CPLAT_EDQUOT}, {ERROR_CANT_RESOLVE_FILENAME, CPLAT_ELOOP},
    {ERROR_PRIVILEGE_NOT_HELD, CPLAT_EPERM}, {ERROR_TOO_MANY_LINKS, CPLAT_EMLINK},
    {ERROR_READ_FAULT, CPLAT_EIO}, {ERROR_WRITE_FAULT, CPLAT_EIO}, {ERROR_GEN_FAILURE, CPLAT_EIO},
    {ERROR_CRC, CPLAT_EIO}, {ERROR_IO_DEVICE, CPLAT_EIO},
};

/* Our codes with the CRT's errno (for the few CRT calls: _close, _open_osfhandle, _beginthreadex;
 * 0 where the CRT has none) and glibc's text, so a message reads the same on every OS. */
static const struct { int32_t ours; int crt; const char *text; } codes[] = {
    {CPLAT_EPERM, EPERM, "Operation not permitted"}, {CPLAT_ENOENT, ENOENT, "No such file or directory"},
    {CPLAT_ESRCH, ESRCH, "No such process"}, {CPLAT_EINTR, EINTR, "Interrupted system call"},
    {CPLAT_EIO, EIO, "Input/output error"}, {CPLAT_E2BIG, E2BIG, "Argument list too long"},
    {CPLAT_EBADF, EBADF, "Bad file descriptor"},
    {CPLAT_EAGAIN, EAGAIN, "Resource temporarily unavailable"}, {CPLAT_ENOMEM, ENOMEM, "Cannot allocate memory"},
    {CPLAT_EACCES, EACCES, "Permission denied"}, {CPLAT_EBUSY, EBUSY, "Device or resource busy"},
    {CPLAT_EEXIST, EEXIST, "File exists"}, {CPLAT_EXDEV, EXDEV, "Invalid cross-device link"},
    {CPLAT_ENOTDIR, ENOTDIR, "Not a directory"}, {CPLAT_EISDIR, EISDIR, "Is a directory"},
    {CPLAT_EINVAL, EINVAL, "Invalid argument"}, {CPLAT_EMFILE, EMFILE, "Too many open files"},
    {CPLAT_ETXTBSY, ETXTBSY, "Text file busy"}, {CPLAT_EFBIG, EFBIG, "File too large"},
    {CPLAT_ENOSPC, ENOSPC, "No space left on device"}, {CPLAT_EROFS, EROFS, "Read-only file system"},
    {CPLAT_EMLINK, EMLINK, "Too many links"}, {CPLAT_ENAMETOOLONG, ENAMETOOLONG, "File name too long"},
    {CPLAT_ENOSYS, ENOSYS, "Function not implemented"}, {CPLAT_ENOTEMPTY, ENOTEMPTY, "Directory not empty"},
    {CPLAT_ELOOP, ELOOP, "Too many levels of symbolic links"}, {CPLAT_EDQUOT, 0, "Disk quota exceeded"},
    {CPLAT_ESTALE, 0, "Stale file handle"},
};
#define COUNT(t) (sizeof t / sizeof t[0])

/* Win32 system errors are 0-15999; a CRT errno the table does not name goes above them, at
 * CPLAT_EOTHER + CRT_ERRNO_BASE + errno, so the two kinds of number never read as each other. */
#define CRT_ERRNO_BASE 0x8000

static int32_t win_code(DWORD e) {
    for (size_t i = 0; i < COUNT(win_table); i++) if (win_table[i].win == e) return win_table[i].ours;
    /* 0 (a failure that set no error) must not read as success */
    return (e == 0 || e >= CRT_ERRNO_BASE) ? CPLAT_EIO : CPLAT_EOTHER + (int32_t)e;
}

static int32_t crt_code(int e) {
    if (e == EWOULDBLOCK) return CPLAT_EAGAIN;
    for (size_t i = 0; i < COUNT(codes); i++) if (codes[i].crt == e && e != 0) return codes[i].ours;
    return e == 0 ? CPLAT_EIO : CPLAT_EOTHER + CRT_ERRNO_BASE + e;
}

/* A failed Win32 call's -code (GetLastError read here, right after the call), and a CRT call's. */
static int32_t fail(void) { return -win_code(GetLastError()); }
static int32_t crt_fail(void) { return -crt_code(errno); }

static _Thread_local char message[512];

/* ---- UTF-8 and UTF-16 ---- */

/* s as a malloc'd UTF-16 string; invalid UTF-8 is refused (ERROR_NO_UNICODE_TRANSLATION). */
static int32_t to_wide(const char *s, WCHAR **out) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0) return fail();
    WCHAR *w = malloc((size_t)n * sizeof *w);
    if (!w) return -CPLAT_ENOMEM;
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
    *out = w;
    return 0;
}

/* The wlen units of w as NUL-terminated UTF-8 in buf: its length, or -code. An unpaired
 * surrogate is refused rather than replaced, so a name read is a name that opens. */
static int64_t to_utf8(const WCHAR *w, int wlen, char *buf, size_t size) {
    if (wlen == 0) { if (size == 0) return -CPLAT_ENAMETOOLONG; buf[0] = 0; return 0; }
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, wlen, NULL, 0, NULL, NULL);
    if (n <= 0) return fail();
    if ((size_t)n >= size) return -CPLAT_ENAMETOOLONG;
    WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, wlen, buf, n, NULL, NULL);
    buf[n] = 0;
    return n;
}

/* ---- paths ---- */

/* full (malloc'd, absolute) as a \\?\ path, so Windows applies no MAX_PATH limit; a device path
 * (\\.\NUL, \\?\...) stays as it is. Takes over full. */
static int32_t long_path(WCHAR *full, WCHAR **out) {
    const WCHAR *prefix = L"\\\\?\\", *rest = full;
    if (full[0] == L'\\' && full[1] == L'\\') {
        if (full[2] == L'?' || full[2] == L'.') { *out = full; return 0; }
        prefix = L"\\\\?\\UNC\\";
        rest = full + 2;
    } else if (full[0] == 0 || full[1] != L':') {
        *out = full;
        return 0;
    }
    size_t p = wcslen(prefix), n = wcslen(rest);
    WCHAR *w = malloc((p + n + 1) * sizeof *w);
    if (w) { memcpy(w, prefix, p * sizeof *w); memcpy(w + p, rest, (n + 1) * sizeof *w); }
    free(full);
    if (!w) return -CPLAT_ENOMEM;
    *out = w;
    return 0;
}

/* A path of ours (relative to the working directory, or absolute) as an absolute path (malloc'd,
 * its length in *len): GetFullPathNameW does what the kernel does for POSIX: `/` and `\`, `.` and
 * `..`. A \\?\ path is taken as it is (*verbatim set). */
static int32_t absolute_path(const char *path, WCHAR **out, DWORD *len, int *verbatim) {
    if (!*path) return -CPLAT_ENOENT;
    WCHAR *w, *full;
    int32_t r = to_wide(path, &w);
    if (r) return r;
    *verbatim = wcsncmp(w, L"\\\\?\\", 4) == 0;
    if (*verbatim) { *out = w; *len = (DWORD)wcslen(w); return 0; }
    DWORD n = GetFullPathNameW(w, 0, NULL, NULL);
    if (n == 0) { r = fail(); free(w); return r; }
    full = malloc(n * sizeof *full);
    if (!full) { free(w); return -CPLAT_ENOMEM; }
    *len = GetFullPathNameW(w, n, full, NULL);
    r = (*len == 0 || *len >= n) ? (*len ? -CPLAT_ENAMETOOLONG : fail()) : 0;
    free(w);
    if (r) { free(full); return r; }
    *out = full;
    return 0;
}

/* A path of ours as an absolute \\?\ path. */
static int32_t full_path(const char *path, WCHAR **out) {
    WCHAR *full;
    DWORD len;
    int verbatim;
    int32_t r = absolute_path(path, &full, &len, &verbatim);
    if (r) return r;
    if (verbatim) { *out = full; return 0; }
    return long_path(full, out);
}

/* The length of the root of a \\?\ path (\\?\C:\ or \\?\UNC\server\share\): `..` stops there. */
static size_t root_length(const WCHAR *p) {
    if (wcsncmp(p, L"\\\\?\\UNC\\", 8) == 0) {
        const WCHAR *s = wcschr(p + 8, L'\\');
        s = s ? wcschr(s + 1, L'\\') : NULL;
        return s ? (size_t)(s - p) + 1 : wcslen(p);
    }
    return (wcsncmp(p, L"\\\\?\\", 4) == 0 && p[4] && p[5] == L':') ? 7 : 0;
}

/* Appends the `/`-separated components of name to the directory path p (length *len, with room
 * for them): `.` and empty ones are skipped, `..` drops the last component (never the root),
 * because Windows does not normalise a \\?\ path. */
static void join(WCHAR *p, size_t *len, const WCHAR *name) {
    size_t root = root_length(p);
    for (const WCHAR *c = name; *c;) {
        const WCHAR *e = c;
        while (*e && *e != L'/') e++;
        size_t n = (size_t)(e - c);
        if (n == 2 && c[0] == L'.' && c[1] == L'.') {
            while (*len > root && p[*len - 1] != L'\\') (*len)--;
            if (*len > root) (*len)--;
        } else if (n && !(n == 1 && c[0] == L'.')) {
            if (*len == 0 || p[*len - 1] != L'\\') p[(*len)++] = L'\\';
            memcpy(p + *len, c, n * sizeof *p);
            *len += n;
        }
        c = *e ? e + 1 : e;
    }
    p[*len] = 0;
}

/* The HANDLE of descriptor fd. The CRT's invalid-parameter handler would end the process on a
 * bad descriptor: a quiet one, for this call and this thread only, lets _get_osfhandle fail with
 * EBADF as POSIX does. (UCRT exports the thread-local setter; mingw-w64's headers omit it.) */
_invalid_parameter_handler __cdecl _set_thread_local_invalid_parameter_handler(_invalid_parameter_handler);
static void quiet(const wchar_t *e, const wchar_t *f, const wchar_t *file, unsigned line, uintptr_t r) {
    (void)e; (void)f; (void)file; (void)line; (void)r;
}
static int32_t get_handle(int32_t fd, HANDLE *h) {
    _invalid_parameter_handler old = _set_thread_local_invalid_parameter_handler(quiet);
    intptr_t v = _get_osfhandle(fd);
    _set_thread_local_invalid_parameter_handler(old);
    if (v == -1 || v == -2 || v == 0) return -CPLAT_EBADF;   /* -2: a standard stream with no handle */
    *h = (HANDLE)v;
    return 0;
}

/* The path of an open handle (\\?\ form), malloc'd with room for `extra` more units. Asked
 * again if it grew between the size and the copy (a rename meanwhile). */
static int32_t final_path(HANDLE h, size_t extra, WCHAR **out, size_t *len) {
    for (;;) {
        DWORD n = GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
        if (n == 0) return fail();
        WCHAR *p = malloc((n + extra + 1) * sizeof *p);
        if (!p) return -CPLAT_ENOMEM;
        DWORD m = GetFinalPathNameByHandleW(h, p, n, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
        if (m > 0 && m < n) { *out = p; *len = m; return 0; }
        int32_t r = m ? 0 : fail();
        free(p);
        if (r) return r;
    }
}

/* The path of name under dirfd (CPLAT_AT_FDCWD: the working directory, where name is a path of
 * ours like cplat_open's). Under a descriptor, `\` and `:` are refused: our name rules forbid
 * them for Windows targets, and here they would reach another directory or a stream. A name
 * starting with `/` ignores dirfd, as under POSIX. */
static int32_t at_path(int32_t dirfd, const char *name, WCHAR **out) {
    if (dirfd == CPLAT_AT_FDCWD) return full_path(name, out);
    if (strpbrk(name, "\\:")) return -CPLAT_EINVAL;
    if (!*name) return -CPLAT_ENOENT;
    if (*name == '/') return full_path(name, out);
    HANDLE h;
    WCHAR *w, *p;
    size_t len;
    int32_t r = get_handle(dirfd, &h);
    if (r || (r = to_wide(name, &w))) return r;
    if ((r = final_path(h, wcslen(w) + 1, &p, &len)) == 0) { join(p, &len, w); *out = p; }
    free(w);
    return r;
}

/* ---- owners: SIDs and DACLs ---- */

/* Windows has no uids: a file has an owner SID and a DACL. stat_handle reads both of the handle
 * (owner_and_mode; every handle we stat has READ_CONTROL) and says in POSIX words what
 * Ownership asks (the Windows form of the cache's 0700 rule, docs/security.md):
 *
 *   st_uid (and st_gid)  USER_UID when the owner is this process's token user; 0 (root, trusted)
 *                        when it is LocalSystem, BUILTIN\Administrators or TrustedInstaller: only
 *                        the system or an administrator can have made it, and an administrator can
 *                        do anything to the user's files anyway; OTHER_UID for any other owner, and
 *                        when the owner cannot be read (no READ_CONTROL: an owner always has it, so
 *                        the file is not ours).
 *   0o022                set when someone other than the user, the owner and those three may change
 *                        the file or the names in it: a NULL DACL (everyone has full access) or an
 *                        unreadable one, or an allow ACE, not inherit-only, giving a write right
 *                        (WRITE_RIGHTS) to any other SID. CREATOR OWNER and OWNER RIGHTS stand for
 *                        the owner. Deny ACEs are ignored (they only take rights away), and an allow
 *                        ACE of a layout other than the plain and callback ones (object, compound,
 *                        unknown) counts as granting to another, whoever it names.
 *   S_ISVTX              never: Windows has no sticky bit. A directory where others may add names
 *                        (a drive root, where Authenticated Users may create folders) reads as
 *                        group/world-writable, and the cache refuses it.
 *
 * The write rights are those that change the file, its names or who may: write or append data (add
 * a file or a subdirectory), extended attributes, attributes (the read-only bit and the times, which
 * POSIX leaves to the owner), delete a child, delete or rename it, change its DACL or owner; and the
 * generic rights that include them (GENERIC_WRITE, GENERIC_ALL, MAXIMUM_ALLOWED). Reading, listing,
 * executing, READ_CONTROL and SYNCHRONIZE are not.
 *
 * The token user's SID and the private directory's security descriptor (cplat_mkdirat) are made
 * once, at the first use, and kept for the life of the process. */
#define WRITE_RIGHTS (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES \
                      | FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_WRITE | GENERIC_ALL \
                      | MAXIMUM_ALLOWED)

/* Well-known SIDs, spelled out (the layout of SID, with room for six sub-authorities). */
struct known_sid { BYTE revision, count; SID_IDENTIFIER_AUTHORITY authority; DWORD sub[6]; };
static struct known_sid local_system = {SID_REVISION, 1, {SECURITY_NT_AUTHORITY}, {18}};          /* S-1-5-18 */
static struct known_sid administrators = {SID_REVISION, 2, {SECURITY_NT_AUTHORITY}, {32, 544}};   /* S-1-5-32-544 */
static struct known_sid trusted_installer = {SID_REVISION, 6, {SECURITY_NT_AUTHORITY},            /* NT SERVICE\TrustedInstaller */
    {80, 956008885u, 3418522649u, 1831038044u, 1853292631u, 2271478464u}};
static struct known_sid creator_owner = {SID_REVISION, 1, {SECURITY_CREATOR_SID_AUTHORITY}, {0}}; /* S-1-3-0 */
static struct known_sid owner_rights = {SID_REVISION, 1, {SECURITY_CREATOR_SID_AUTHORITY}, {4}};  /* S-1-3-4 */

static PSID user_sid;                      /* the token user, NULL if it could not be read */
static DWORD user_error;                   /* why not */
static SECURITY_ATTRIBUTES private_attrs;  /* a private directory's, .lpSecurityDescriptor NULL if not made */
static PACL private_acl;                   /* its DACL */
static INIT_ONCE user_once = INIT_ONCE_STATIC_INIT;

/* A private directory: owned by the token user, full control to it, LocalSystem and the
 * administrators (inherited by everything made inside: OI|CI), and nothing from the parent
 * (protected), whatever the parent allows. SDDL: O:<user>D:P(A;OICI;FA;;;<user>)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA). */
static void private_descriptor(PSID user) {
    static SECURITY_DESCRIPTOR sd;
    PSID sids[3] = {user, &local_system, &administrators};
    DWORD size = sizeof(ACL);
    for (int i = 0; i < 3; i++) size += offsetof(ACCESS_ALLOWED_ACE, SidStart) + GetLengthSid(sids[i]);
    PACL acl = malloc(size);
    BOOL ok = acl && InitializeAcl(acl, size, ACL_REVISION);
    for (int i = 0; ok && i < 3; i++)
        ok = AddAccessAllowedAceEx(acl, ACL_REVISION, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, FILE_ALL_ACCESS, sids[i]);
    ok = ok && InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION) && SetSecurityDescriptorOwner(&sd, user, FALSE)
         && SetSecurityDescriptorDacl(&sd, TRUE, acl, FALSE)
         && SetSecurityDescriptorControl(&sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED);
    if (!ok) { user_error = GetLastError(); free(acl); return; }
    private_attrs = (SECURITY_ATTRIBUTES){sizeof private_attrs, &sd, FALSE};
    private_acl = acl;
}

/* The process token's user (not a thread's: the launcher impersonates no one). */
static BOOL CALLBACK user_read(PINIT_ONCE once, PVOID param, PVOID *ctx) {
    (void)once; (void)param; (void)ctx;
    HANDLE t;
    DWORD n = 0;
    TOKEN_USER *u = NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &t)) { user_error = GetLastError(); return TRUE; }
    if (!GetTokenInformation(t, TokenUser, NULL, 0, &n) && GetLastError() == ERROR_INSUFFICIENT_BUFFER
        && (u = malloc(n)) && GetTokenInformation(t, TokenUser, u, n, &n)) {
        DWORD len = GetLengthSid(u->User.Sid);
        PSID s = malloc(len);
        if (s && CopySid(len, s, u->User.Sid)) user_sid = s;
        else { user_error = s ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY; free(s); }
    } else {
        user_error = u || n == 0 ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
    }
    free(u);
    CloseHandle(t);
    if (user_sid) private_descriptor(user_sid);
    if (!user_error && !private_attrs.lpSecurityDescriptor) user_error = ERROR_INVALID_SECURITY_DESCR;
    return TRUE;
}

static void read_user(void) { InitOnceExecuteOnce(&user_once, user_read, NULL, NULL); }

/* Trusted like root: the system, the administrators, TrustedInstaller. */
static int is_system(PSID s) {
    return EqualSid(s, &local_system) || EqualSid(s, &administrators) || EqualSid(s, &trusted_installer);
}

static uint32_t owner_uid(PSID owner) {
    if (!owner || !IsValidSid(owner)) return OTHER_UID;
    if (user_sid && EqualSid(owner, user_sid)) return USER_UID;
    return is_system(owner) ? 0 : OTHER_UID;
}

/* Whether the DACL lets anyone but the user, the owner, the system and the administrators change
 * the file (the rule above). */
static int others_can_write(PACL dacl, PSID owner) {
    if (!dacl) return 1;
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *a;
        if (!GetAce(dacl, i, (void **)&a)) return 1;
        /* every ACE type has its access mask right after the header */
        if ((a->AceFlags & INHERIT_ONLY_ACE) || !(((ACCESS_ALLOWED_ACE *)a)->Mask & WRITE_RIGHTS)) continue;
        switch (a->AceType) {
        case ACCESS_DENIED_ACE_TYPE: case ACCESS_DENIED_OBJECT_ACE_TYPE:
        case ACCESS_DENIED_CALLBACK_ACE_TYPE: case ACCESS_DENIED_CALLBACK_OBJECT_ACE_TYPE:
            continue;
        case ACCESS_ALLOWED_ACE_TYPE: case ACCESS_ALLOWED_CALLBACK_ACE_TYPE: {
            PSID s = &((ACCESS_ALLOWED_ACE *)a)->SidStart;   /* the callback ACE has the same layout */
            if ((user_sid && EqualSid(s, user_sid)) || (owner && EqualSid(s, owner)) || is_system(s)
                || EqualSid(s, &creator_owner) || EqualSid(s, &owner_rights)) continue;
            return 1;
        }
        default:
            return 1;
        }
    }
    return 0;
}

/* A handle's owner and DACL (dacl NULL: none, or a NULL DACL; both mean everyone has full access),
 * read with GetKernelObjectSecurity into a buffer on the stack: one query (GetSecurityInfo makes
 * two, the size and then the copy, which under wine added a server round trip to every fstat), a
 * larger buffer only for a descriptor that does not fit. Released by free_security. */
struct security {
    union { SECURITY_DESCRIPTOR_RELATIVE sd; void *align; unsigned char bytes[1024]; } buf;
    PSECURITY_DESCRIPTOR sd;
    PSID owner;
    PACL dacl;
};

static BOOL read_security(HANDLE h, struct security *s) {
    const SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    BOOL present = FALSE, defaulted;
    DWORD n;
    s->sd = &s->buf;
    s->owner = NULL;
    s->dacl = NULL;
    BOOL ok = GetKernelObjectSecurity(h, what, s->sd, sizeof s->buf, &n);
    if (!ok && GetLastError() == ERROR_INSUFFICIENT_BUFFER) {
        if (!(s->sd = malloc(n))) { SetLastError(ERROR_NOT_ENOUGH_MEMORY); return FALSE; }
        ok = GetKernelObjectSecurity(h, what, s->sd, n, &n);
    }
    ok = ok && GetSecurityDescriptorOwner(s->sd, &s->owner, &defaulted)
         && GetSecurityDescriptorDacl(s->sd, &present, &s->dacl, &defaulted);
    if (!present) s->dacl = NULL;
    return ok;
}

static void free_security(struct security *s) {
    if (s->sd != &s->buf) free(s->sd);
    s->sd = NULL;
}

/* st_uid, st_gid and the 0o022 bits of st_mode from the handle's owner and DACL. A descriptor that
 * cannot be read (no READ_CONTROL) is another's and writable by others, and so is one of a file
 * system without security (FAT, exFAT: no owner, no DACL): nothing on it is trusted. */
static void owner_and_mode(HANDLE h, struct cplat_stat *st) {
    struct security s;
    read_user();
    BOOL ok = read_security(h, &s);
    st->st_uid = st->st_gid = ok ? owner_uid(s.owner) : OTHER_UID;
    if (!ok || others_can_write(s.dacl, s.owner)) st->st_mode |= 022;
    free_security(&s);
}

/* fchmod without group and other write (the cache tightening what is its own): the DACL loses every
 * write right others_can_write counts. An allow ACE of another SID keeps its other rights, or goes
 * if none is left (as does an allow ACE of another layout that grants one); a NULL DACL becomes the
 * private one. The new DACL is protected and its inherited ACEs become explicit, so the parent's
 * cannot come back; it is set on this file only (SetKernelObjectSecurity, no propagation to what a
 * directory holds: each file the cache relies on is checked by itself). Needs WRITE_DAC, which the
 * owner always has. */
static int32_t close_to_others(HANDLE h) {
    struct security s;
    read_user();
    if (!read_security(h, &s)) { int32_t r = fail(); free_security(&s); return r; }
    if (!others_can_write(s.dacl, s.owner)) { free_security(&s); return 0; }
    PACL from = s.dacl ? s.dacl : private_acl;
    PACL acl = from ? malloc(from->AclSize) : NULL;
    int32_t r = from ? (acl ? 0 : -CPLAT_ENOMEM) : -win_code(user_error);
    if (acl) memcpy(acl, from, from->AclSize);
    for (DWORD i = acl ? acl->AceCount : 0; r == 0 && i-- > 0;) {   /* from the end: DeleteAce moves the rest */
        ACE_HEADER *a;
        if (!GetAce(acl, i, (void **)&a)) { r = fail(); break; }
        a->AceFlags &= (BYTE)~INHERITED_ACE;
        ACCESS_MASK *mask = &((ACCESS_ALLOWED_ACE *)a)->Mask;
        if (!(*mask & WRITE_RIGHTS)) continue;
        switch (a->AceType) {
        case ACCESS_DENIED_ACE_TYPE: case ACCESS_DENIED_OBJECT_ACE_TYPE:
        case ACCESS_DENIED_CALLBACK_ACE_TYPE: case ACCESS_DENIED_CALLBACK_OBJECT_ACE_TYPE:
            continue;
        case ACCESS_ALLOWED_ACE_TYPE: case ACCESS_ALLOWED_CALLBACK_ACE_TYPE: {
            PSID sid = &((ACCESS_ALLOWED_ACE *)a)->SidStart;
            if ((user_sid && EqualSid(sid, user_sid)) || (s.owner && EqualSid(sid, s.owner)) || is_system(sid)
                || EqualSid(sid, &creator_owner) || EqualSid(sid, &owner_rights)) continue;
            if ((*mask &= ~(ACCESS_MASK)WRITE_RIGHTS) != 0) continue;
            break;
        }
        default:
            break;
        }
        if (!DeleteAce(acl, i)) r = fail();
    }
    SECURITY_DESCRIPTOR sd;
    HANDLE w = INVALID_HANDLE_VALUE;
    if (r == 0 && !(InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION) && SetSecurityDescriptorDacl(&sd, TRUE, acl, FALSE)
                    && SetSecurityDescriptorControl(&sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED)))
        r = fail();
    if (r == 0 && (w = ReOpenFile(h, WRITE_DAC, SHARE_ALL, FILE_FLAG_BACKUP_SEMANTICS)) == INVALID_HANDLE_VALUE) r = fail();
    if (r == 0 && !SetKernelObjectSecurity(w, DACL_SECURITY_INFORMATION, &sd)) r = fail();
    if (w != INVALID_HANDLE_VALUE) CloseHandle(w);
    free(acl);
    free_security(&s);
    return r;
}

/* ---- opening and stat, shared by the calls below ---- */

static int writes(int32_t f) { return (f & (CPLAT_O_WRONLY | CPLAT_O_RDWR)) != 0; }

/* READ_CONTROL always: fstat reads the owner and DACL (stat_handle). */
static DWORD access_for(int32_t f) {
    DWORD a = FILE_READ_ATTRIBUTES | READ_CONTROL | ((f & CPLAT_O_WRONLY) && !(f & CPLAT_O_RDWR) ? 0 : GENERIC_READ);
    /* without FILE_WRITE_DATA every write goes to the end, as O_APPEND */
    if (writes(f)) a |= (f & CPLAT_O_APPEND) ? (FILE_GENERIC_WRITE & ~FILE_WRITE_DATA) : GENERIC_WRITE;
    return a;
}

static DWORD disposition(int32_t f) {
    if (f & CPLAT_O_CREAT)
        return (f & CPLAT_O_EXCL) ? CREATE_NEW : (f & CPLAT_O_TRUNC) ? CREATE_ALWAYS : OPEN_ALWAYS;
    return (f & CPLAT_O_TRUNC) ? TRUNCATE_EXISTING : OPEN_EXISTING;
}

/* What POSIX open checks after the lookup: O_NOFOLLOW refuses a symlink or junction (a name
 * surrogate; other reparse points, such as cloud placeholders, are files), O_DIRECTORY a
 * non-directory, and a directory cannot be opened for writing. */
static int32_t check_opened(HANDLE h, int32_t f) {
    FILE_ATTRIBUTE_TAG_INFO t;
    if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &t, sizeof t)) return fail();
    int dir = (t.FileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
    if ((f & CPLAT_O_NOFOLLOW) && (t.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
        && IsReparseTagNameSurrogate(t.ReparseTag)) return -CPLAT_ELOOP;
    if ((f & CPLAT_O_DIRECTORY) && !dir) return -CPLAT_ENOTDIR;
    return (dir && writes(f)) ? -CPLAT_EISDIR : 0;
}

/* Shared for read, write and delete, as POSIX files are (renamed or unlinked while open).
 * Backup semantics opens directories too. The mode only says read-only or not: the rest of
 * the access is the DACL inherited from the parent (a private one inside cplat_mkdirat's 0700).
 * Without O_CLOEXEC the handle is inheritable; O_NONBLOCK means nothing for files here. */
static int32_t open_w(const WCHAR *path, int32_t f, uint32_t mode) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, !(f & CPLAT_O_CLOEXEC)};
    DWORD attrs = FILE_FLAG_BACKUP_SEMANTICS | ((f & CPLAT_O_NOFOLLOW) ? FILE_FLAG_OPEN_REPARSE_POINT : 0)
                | ((f & CPLAT_O_CREAT) && !(mode & 0200) ? FILE_ATTRIBUTE_READONLY : FILE_ATTRIBUTE_NORMAL);
    HANDLE h = CreateFileW(path, access_for(f), SHARE_ALL, &sa, disposition(f), attrs, NULL);
    if (h == INVALID_HANDLE_VALUE) return fail();
    int32_t r = check_opened(h, f);
    int crt = _O_BINARY | (writes(f) ? 0 : _O_RDONLY) | ((f & CPLAT_O_APPEND) ? _O_APPEND : 0)
            | ((f & CPLAT_O_CLOEXEC) ? _O_NOINHERIT : 0);
    if (r == 0 && (r = _open_osfhandle((intptr_t)h, crt)) < 0) r = crt_fail();
    if (r < 0) CloseHandle(h);
    return r;
}

/* A handle on name under dirfd for its attributes only, following a final link or not. */
static int32_t open_at(int32_t dirfd, const char *name, DWORD access, int follow, HANDLE *h) {
    WCHAR *p;
    int32_t r = at_path(dirfd, name, &p);
    if (r) return r;
    *h = CreateFileW(p, access, SHARE_ALL, NULL, OPEN_EXISTING,
                     FILE_FLAG_BACKUP_SEMANTICS | (follow ? 0 : FILE_FLAG_OPEN_REPARSE_POINT), NULL);
    r = *h == INVALID_HANDLE_VALUE ? fail() : 0;
    free(p);
    return r;
}

static void unix_time(FILETIME f, int64_t *sec, int64_t *nsec) {
    int64_t t = (int64_t)(((uint64_t)f.dwHighDateTime << 32) | f.dwLowDateTime) - 116444736000000000LL;
    int64_t s = t / 10000000, r = t % 10000000;
    if (r < 0) { r += 10000000; s--; }
    *sec = s;
    *nsec = r * 100;
}

/* The volume serial and file index are the device and inode (64 bits of the file ID: enough on
 * NTFS; ReFS has 128-bit IDs, FileIdInfo, issue 26). Permission bits are the owner's (read, write
 * unless read-only, search for directories), and group and other write when the DACL lets anyone
 * else change it; the owner is read from the owner SID (owner_and_mode, "owners" above). A pipe
 * or a console is another's. A file being deleted has no name left, as after unlink: nlink 0. */
static int32_t stat_handle(HANDLE h, struct cplat_stat *st) {
    DWORD type = GetFileType(h);
    if (type == FILE_TYPE_PIPE || type == FILE_TYPE_CHAR) {
        *st = (struct cplat_stat){.st_mode = (type == FILE_TYPE_PIPE ? CPLAT_S_IFIFO : CPLAT_S_IFCHR) | 0600,
                                  .st_uid = OTHER_UID, .st_gid = OTHER_UID, .st_nlink = 1};
        return 0;
    }
    BY_HANDLE_FILE_INFORMATION i;
    FILE_STANDARD_INFO s;
    FILE_ATTRIBUTE_TAG_INFO t;
    if (!GetFileInformationByHandle(h, &i) || !GetFileInformationByHandleEx(h, FileStandardInfo, &s, sizeof s))
        return fail();
    int dir = (i.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
    uint32_t kind = dir ? CPLAT_S_IFDIR : CPLAT_S_IFREG;
    if ((i.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
        && GetFileInformationByHandleEx(h, FileAttributeTagInfo, &t, sizeof t) && IsReparseTagNameSurrogate(t.ReparseTag))
        kind = CPLAT_S_IFLNK;
    uint32_t perm = 0400 | ((i.dwFileAttributes & FILE_ATTRIBUTE_READONLY) && !dir ? 0 : 0200) | (dir ? 0100 : 0);
    *st = (struct cplat_stat){
        .st_dev = i.dwVolumeSerialNumber, .st_ino = ((uint64_t)i.nFileIndexHigh << 32) | i.nFileIndexLow,
        .st_mode = kind | perm,
        .st_nlink = s.DeletePending ? 0 : i.nNumberOfLinks, .st_size = dir ? 0 : s.EndOfFile.QuadPart,
        .st_blocks = (s.AllocationSize.QuadPart + 511) / 512};
    unix_time(i.ftLastWriteTime, &st->st_mtime_sec, &st->st_mtime_nsec);
    owner_and_mode(h, st);
    return 0;
}

static int is_directory(HANDLE h) {
    FILE_ATTRIBUTE_TAG_INFO t;
    return GetFileInformationByHandleEx(h, FileAttributeTagInfo, &t, sizeof t)
        && (t.FileAttributes & FILE_ATTRIBUTE_DIRECTORY);
}

/* ---- errors, in words ---- */

const char *cplat_strerror(int32_t code) {
    for (size_t i = 0; i < COUNT(codes); i++) if (codes[i].ours == code) return codes[i].text;
    if (code >= CPLAT_EOTHER + CRT_ERRNO_BASE) return strerror(code - CPLAT_EOTHER - CRT_ERRNO_BASE);
    if (code < CPLAT_EOTHER) return "Unknown error";
    DWORD e = (DWORD)(code - CPLAT_EOTHER);
    WCHAR w[256];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0, w, 256, NULL);
    while (n > 0 && (w[n - 1] == L'\r' || w[n - 1] == L'\n' || w[n - 1] == L' ' || w[n - 1] == L'.')) n--;
    if (n == 0 || to_utf8(w, (int)n, message, sizeof message) < 0)
        snprintf(message, sizeof message, "Windows error %lu", (unsigned long)e);
    return message;
}

/* ---- files ---- */

int32_t cplat_open(const char *path, int32_t flags, uint32_t mode) {
    WCHAR *p;
    int32_t r = full_path(path, &p);
    if (r) return r;
    r = open_w(p, flags, mode);
    free(p);
    return r;
}

int32_t cplat_openat(int32_t dirfd, const char *name, int32_t flags, uint32_t mode) {
    WCHAR *p;
    int32_t r = at_path(dirfd, name, &p);
    if (r) return r;
    r = open_w(p, flags, mode);
    free(p);
    return r;
}

int32_t cplat_close(int32_t fd) {
    HANDLE h;
    int32_t r = get_handle(fd, &h);
    return r ? r : _close(fd) == 0 ? 0 : crt_fail();
}

/* The same file object (so the same offset, as POSIX dup), not inheritable (F_DUPFD_CLOEXEC). */
int32_t cplat_dup(int32_t fd) {
    HANDLE h, d;
    int32_t r = get_handle(fd, &h);
    if (r) return r;
    if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, FALSE, DUPLICATE_SAME_ACCESS))
        return fail();
    if ((r = _open_osfhandle((intptr_t)d, _O_BINARY | _O_NOINHERIT)) < 0) { r = crt_fail(); CloseHandle(d); }
    return r;
}

static DWORD chunk(size_t count) { return count > 0x40000000 ? 0x40000000 : (DWORD)count; }

/* The end of a file, and of a pipe whose writer is gone, read as 0 bytes, as POSIX does. */
int64_t cplat_read(int32_t fd, void *buf, size_t count) {
    HANDLE h;
    DWORD n;
    int32_t r = get_handle(fd, &h);
    if (r) return r;
    if (ReadFile(h, buf, chunk(count), &n, NULL)) return n;
    DWORD e = GetLastError();
    return (e == ERROR_HANDLE_EOF || e == ERROR_BROKEN_PIPE) ? 0 : -win_code(e);
}

/* Unlike pread, ReadFile at an offset also moves the file position of a synchronous handle.
 * Today's callers read a descriptor either by offset (the bundle, its records) or in sequence
 * (cache verify), never both. */
int64_t cplat_pread(int32_t fd, void *buf, size_t count, int64_t offset) {
    HANDLE h;
    DWORD n;
    int32_t r = get_handle(fd, &h);
    if (r) return r;
    if (offset < 0) return -CPLAT_EINVAL;
    OVERLAPPED o = {.Offset = (DWORD)offset, .OffsetHigh = (DWORD)((uint64_t)offset >> 32)};
    if (ReadFile(h, buf, chunk(count), &n, &o)) return n;
    DWORD e = GetLastError();
    return e == ERROR_HANDLE_EOF ? 0 : -win_code(e);
}

int64_t cplat_write(int32_t fd, const void *buf, size_t count) {
    HANDLE h;
    DWORD n;
    int32_t r = get_handle(fd, &h);
    if (r) return r;
    return WriteFile(h, buf, chunk(count), &n, NULL) ? (int64_t)n : fail();
}

int32_t cplat_fstat(int32_t fd, struct cplat_stat *st) {
    HANDLE h;
    int32_t r = get_handle(fd, &h);
    return r ? r : stat_handle(h, st);
}

/* With READ_CONTROL for the owner and DACL. A name whose DACL denies us that may still be seen
 * (the parent lets us read attributes): it is not ours (an owner always has READ_CONTROL), and
 * stat_handle reports it as another's. */
int32_t cplat_fstatat(int32_t dirfd, const char *name, struct cplat_stat *st, int32_t flags) {
    HANDLE h;
    int follow = !(flags & CPLAT_AT_SYMLINK_NOFOLLOW);
    int32_t r = open_at(dirfd, name, FILE_READ_ATTRIBUTES | READ_CONTROL, follow, &h);
    if (r == -CPLAT_EACCES) r = open_at(dirfd, name, FILE_READ_ATTRIBUTES, follow, &h);
    if (r) return r;
    r = stat_handle(h, st);
    CloseHandle(h);
    return r;
}

/* The volume root of a handle, for the calls that take a root path (\\?\C:\). */
static int32_t volume_root(HANDLE h, WCHAR **root) {
    WCHAR *p, *v;
    size_t len;
    int32_t r = final_path(h, 0, &p, &len);
    if (r) return r;
    if (!(v = malloc((len + 2) * sizeof *v))) r = -CPLAT_ENOMEM;
    else if (!GetVolumePathNameW(p, v, (DWORD)len + 2)) { r = fail(); free(v); }
    free(p);
    if (r == 0) *root = v;
    return r;
}

/* NTFS has no inode limit: files 0 tells checkFreeSpace not to count them. Windows has no noexec
 * mount (an execution policy such as AppLocker is issue 26's). */
int32_t cplat_fstatvfs(int32_t fd, struct cplat_statvfs *st) {
    HANDLE h;
    WCHAR *root;
    ULARGE_INTEGER avail, total, free_;
    DWORD spc, bps, fc, tc, fsflags;
    int32_t r = get_handle(fd, &h);
    if (r || (r = volume_root(h, &root))) return r;
    BOOL ok = GetDiskFreeSpaceExW(root, &avail, &total, &free_) && GetDiskFreeSpaceW(root, &spc, &bps, &fc, &tc)
           && GetVolumeInformationByHandleW(h, NULL, 0, NULL, NULL, &fsflags, NULL, 0);
    r = ok ? 0 : fail();
    free(root);
    if (r) return r;
    uint64_t cluster = (uint64_t)spc * bps;
    if (cluster == 0) cluster = 4096;
    *st = (struct cplat_statvfs){cluster, cluster, total.QuadPart / cluster, free_.QuadPart / cluster,
                                 avail.QuadPart / cluster, 0, 0, 0,
                                 (fsflags & FILE_READ_ONLY_VOLUME) ? CPLAT_ST_RDONLY : 0};
    return 0;
}

/* A mode that gives group and others nothing (the cache's 0700) makes a private directory: owned by
 * the token user, with a protected DACL giving full control to it, LocalSystem and the
 * administrators only, inherited by all made inside ("owners", above). Any other mode is not
 * applied: the new directory inherits its parent's DACL, and its owner is the token's default. */
int32_t cplat_mkdirat(int32_t dirfd, const char *name, uint32_t mode) {
    SECURITY_ATTRIBUTES *sa = NULL;
    if ((mode & 077) == 0) {
        read_user();
        if (!private_attrs.lpSecurityDescriptor) return -win_code(user_error);
        sa = &private_attrs;
    }
    WCHAR *p;
    int32_t r = at_path(dirfd, name, &p);
    if (r) return r;
    r = CreateDirectoryW(p, sa) ? 0 : fail();
    free(p);
    return r;
}

/* Never replaces: an existing name is EEXIST, which publishDirectory reads as "another launch
 * won". (POSIX rename replaces a file; the cache's bundle records rely on that, and whether
 * they get MOVEFILE_REPLACE_EXISTING is issue 26's.) No copy across volumes: EXDEV. */
int32_t cplat_renameat(int32_t fromdir, const char *from, int32_t todir, const char *to) {
    WCHAR *f, *t;
    int32_t r = at_path(fromdir, from, &f);
    if (r) return r;
    if ((r = at_path(todir, to, &t)) == 0) {
        r = MoveFileExW(f, t, 0) ? 0 : fail();
        free(t);
    }
    free(f);
    return r;
}

/* POSIX unlinks a read-only file (the directory's permission decides), Windows refuses it: the
 * read-only attribute is cleared and the delete tried again. A directory without REMOVEDIR is EISDIR. */
static int32_t delete_file(const WCHAR *p) {
    if (DeleteFileW(p)) return 0;
    DWORD e = GetLastError(), a = GetFileAttributesW(p);
    if (e != ERROR_ACCESS_DENIED || a == INVALID_FILE_ATTRIBUTES) return -win_code(e);
    if (a & FILE_ATTRIBUTE_DIRECTORY) return -CPLAT_EISDIR;
    if (!(a & FILE_ATTRIBUTE_READONLY) || !SetFileAttributesW(p, a & ~(DWORD)FILE_ATTRIBUTE_READONLY))
        return -win_code(e);
    if (DeleteFileW(p)) return 0;
    int32_t r = fail();
    SetFileAttributesW(p, a);
    return r;
}

int32_t cplat_unlinkat(int32_t dirfd, const char *name, int32_t flags) {
    WCHAR *p;
    int32_t r = at_path(dirfd, name, &p);
    if (r) return r;
    r = (flags & CPLAT_AT_REMOVEDIR) ? (RemoveDirectoryW(p) ? 0 : fail()) : delete_file(p);
    free(p);
    return r;
}

/* Windows bundles hold no symlinks (the name rules refuse them for windows-x64), and making one
 * needs a privilege or developer mode: issue 26 has no use for either call. */
int32_t cplat_symlinkat(const char *target, int32_t dirfd, const char *name) {
    (void)target; (void)dirfd; (void)name;
    return -CPLAT_ENOSYS;
}
/* fstatat reports a symlink or junction as S_IFLNK, which the cache refuses by type, unread. */
int64_t cplat_readlinkat(int32_t dirfd, const char *name, char *buf, size_t size) {
    (void)dirfd; (void)name; (void)buf; (void)size;
    return -CPLAT_ENOSYS;
}

/* The owner's write bit is the read-only attribute (of files: on a directory it means something
 * else to Explorer), set through a second handle with FILE_WRITE_ATTRIBUTES since the descriptor
 * may be read-only. A mode without group and other write takes those rights from everyone else
 * in the DACL (close_to_others, "owners" above), so the write bits fstat reports go as on POSIX;
 * a mode with them gives nobody anything. */
int32_t cplat_fchmod(int32_t fd, uint32_t mode) {
    HANDLE h, w;
    FILE_BASIC_INFO b;
    int32_t r = get_handle(fd, &h);
    if (r) return r;
    if ((mode & 022) == 0 && (r = close_to_others(h))) return r;
    if (!GetFileInformationByHandleEx(h, FileBasicInfo, &b, sizeof b)) return fail();
    if (b.FileAttributes & FILE_ATTRIBUTE_DIRECTORY) return 0;
    DWORD a = (b.FileAttributes & ~(DWORD)FILE_ATTRIBUTE_READONLY) | ((mode & 0200) ? 0 : FILE_ATTRIBUTE_READONLY);
    if (a == b.FileAttributes) return 0;
    if ((w = ReOpenFile(h, FILE_WRITE_ATTRIBUTES, SHARE_ALL, 0)) == INVALID_HANDLE_VALUE) return fail();
    b = (FILE_BASIC_INFO){.FileAttributes = a ? a : FILE_ATTRIBUTE_NORMAL};   /* zero times: unchanged */
    r = SetFileInformationByHandle(w, FileBasicInfo, &b, sizeof b) ? 0 : fail();
    CloseHandle(w);
    return r;
}

int32_t cplat_touchat(int32_t dirfd, const char *name) {
    HANDLE h;
    FILETIME now;
    int32_t r = open_at(dirfd, name, FILE_WRITE_ATTRIBUTES, 0, &h);
    if (r) return r;
    GetSystemTimePreciseAsFileTime(&now);
    r = SetFileTime(h, NULL, &now, &now) ? 0 : fail();
    CloseHandle(h);
    return r;
}

/* Asks the DACL by opening with the rights the mode names (read data, write data or add a file,
 * execute or traverse), for this process's token: the effective ids, as AT_EACCESS. A file open
 * elsewhere without sharing reads as EBUSY, not as accessible (issue 26 may use AccessCheck). */
int32_t cplat_faccessat(int32_t dirfd, const char *name, int32_t mode, int32_t flags) {
    HANDLE h;
    DWORD access = FILE_READ_ATTRIBUTES | ((mode & CPLAT_R_OK) ? GENERIC_READ : 0)
                 | ((mode & CPLAT_W_OK) ? GENERIC_WRITE : 0) | ((mode & CPLAT_X_OK) ? GENERIC_EXECUTE : 0);
    int32_t r = open_at(dirfd, name, access, !(flags & CPLAT_AT_SYMLINK_NOFOLLOW), &h);
    if (r) return r;
    CloseHandle(h);
    return 0;
}

/* FlushFileBuffers needs write access; a descriptor opened for reading (a directory, always) is
 * flushed through a second handle opened for writing. */
int32_t cplat_fsync(int32_t fd) {
    HANDLE h, w;
    int32_t r = get_handle(fd, &h);
    if (r) return r;
    if (FlushFileBuffers(h)) return 0;
    if (GetLastError() != ERROR_ACCESS_DENIED) return fail();
    if ((w = ReOpenFile(h, GENERIC_WRITE, SHARE_ALL, FILE_FLAG_BACKUP_SEMANTICS)) == INVALID_HANDLE_VALUE)
        return fail();
    r = FlushFileBuffers(w) ? 0 : fail();
    CloseHandle(w);
    return r;
}

/* Flushing a volume needs administrator rights (a handle on \\.\C:): issue 26 flushes each
 * extracted file and directory (FlushFileBuffers) instead. */
int32_t cplat_syncfs(int32_t fd) {
    (void)fd;
    return -CPLAT_ENOSYS;
}

/* The header's "elsewhere a no-op": Windows has no call that starts writeback without waiting. */
int32_t cplat_start_writeback(int32_t fd) {
    (void)fd;
    return 0;
}

/* flock on the whole file. Windows byte-range locks are mandatory (they block other handles'
 * reads and writes), which is why the cache locks dedicated lock files only. A lock is changed
 * as flock changes it: the old one is released first (flock's conversion is not atomic
 * either), because Windows would stack a second lock rather than convert the first. Nothing to
 * release is ERROR_NOT_LOCKED on Windows, ERROR_LOCK_VIOLATION under wine 10. */
int32_t cplat_flock(int32_t fd, int32_t operation) {
    HANDLE h;
    OVERLAPPED o = {0};
    int32_t r = get_handle(fd, &h);
    if (r) return r;
    if (!UnlockFileEx(h, 0, MAXDWORD, MAXDWORD, &o)) {
        DWORD e = GetLastError();
        if (e != ERROR_NOT_LOCKED && e != ERROR_LOCK_VIOLATION) return -win_code(e);
    }
    if (operation & CPLAT_LOCK_UN) return 0;
    DWORD f = ((operation & CPLAT_LOCK_EX) ? LOCKFILE_EXCLUSIVE_LOCK : 0)
            | ((operation & CPLAT_LOCK_NB) ? LOCKFILE_FAIL_IMMEDIATELY : 0);
    o = (OVERLAPPED){0};
    if (LockFileEx(h, f, 0, MAXDWORD, MAXDWORD, &o)) return 0;
    DWORD e = GetLastError();
    return e == ERROR_LOCK_VIOLATION ? -CPLAT_EWOULDBLOCK : -win_code(e);
}

/* The view keeps the mapping alive, so the mapping handle is closed at once. A mapped file cannot
 * be truncated or deleted on Windows (issue 26: gc must expect it). */
int32_t cplat_map_readonly(int32_t fd, size_t size, void **base) {
    HANDLE h, m;
    int32_t r = get_handle(fd, &h);
    if (r) return r;
    if (size == 0) return -CPLAT_EINVAL;
    if (!(m = CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL))) return fail();
    void *p = MapViewOfFile(m, FILE_MAP_READ, 0, 0, size);
    r = p ? 0 : fail();
    CloseHandle(m);
    if (p) *base = p;
    return r;
}

int32_t cplat_unmap(void *base, size_t size) {
    (void)size;
    return UnmapViewOfFile(base) ? 0 : fail();
}

/* Asked again if the directory changed to a longer one between the size and the copy. */
int32_t cplat_getcwd(char *buf, size_t size) {
    for (;;) {
        DWORD n = GetCurrentDirectoryW(0, NULL);
        if (n == 0) return fail();
        WCHAR *w = malloc(n * sizeof *w);
        if (!w) return -CPLAT_ENOMEM;
        DWORD len = GetCurrentDirectoryW(n, w);
        int64_t r = len == 0 ? fail() : len >= n ? 1 : to_utf8(w, (int)len, buf, size);
        free(w);
        if (r <= 0) return (int32_t)r;
        if (len < n) return 0;
    }
}

/* ---- directories ---- */

/* Listed by handle (GetFileInformationByHandleEx), not by path: the descriptor names the
 * directory, as with fdopendir, even if its path changes meanwhile. The listing goes through a
 * handle of its own (ReOpenFile: a new open file), made again by rewinddir. Wine 10 keeps the
 * first listing of an open file, shared by its duplicated handles, and a restart missed a name
 * added since; and no position is shared with the caller's descriptor. */
struct dir {
    int32_t fd;                 /* taken over from the caller, closed by closedir */
    HANDLE h;                   /* the listing's own handle */
    int restart;                /* the next query starts from the first entry */
    unsigned char *next;        /* the next entry in buf, NULL when buf is used up */
    char name[1024];            /* the current name in UTF-8 (255 UTF-16 units at most) */
    union { FILE_ID_BOTH_DIR_INFO first; unsigned char bytes[64 * 1024]; } buf;
};

static HANDLE list_handle(HANDLE h) {
    return ReOpenFile(h, FILE_LIST_DIRECTORY | SYNCHRONIZE, SHARE_ALL, FILE_FLAG_BACKUP_SEMANTICS);
}

int32_t cplat_fdopendir(int32_t fd, void **dir) {
    HANDLE h, l;
    int32_t r = get_handle(fd, &h);
    if (r) return r;
    if (!is_directory(h)) return -CPLAT_ENOTDIR;
    if ((l = list_handle(h)) == INVALID_HANDLE_VALUE) return fail();
    struct dir *d = malloc(sizeof *d);
    if (!d) { CloseHandle(l); return -CPLAT_ENOMEM; }
    *d = (struct dir){.fd = fd, .h = l, .restart = 1};
    *dir = d;
    return 0;
}

/* Should no new handle be had, the old one restarts (what Windows itself does right). */
void cplat_rewinddir(void *dir) {
    struct dir *d = dir;
    HANDLE l = list_handle(d->h);
    if (l != INVALID_HANDLE_VALUE) { CloseHandle(d->h); d->h = l; }
    d->restart = 1;
    d->next = NULL;
}

int32_t cplat_readdir(void *dir, const char **name, uint8_t *type) {
    struct dir *d = dir;
    if (!d->next) {
        FILE_INFO_BY_HANDLE_CLASS c = d->restart ? FileIdBothDirectoryRestartInfo : FileIdBothDirectoryInfo;
        if (!GetFileInformationByHandleEx(d->h, c, &d->buf, sizeof d->buf))
            return GetLastError() == ERROR_NO_MORE_FILES ? 0 : fail();
        d->restart = 0;
        d->next = d->buf.bytes;
    }
    FILE_ID_BOTH_DIR_INFO *e = (FILE_ID_BOTH_DIR_INFO *)(void *)d->next;
    d->next = e->NextEntryOffset ? d->next + e->NextEntryOffset : NULL;
    int64_t n = to_utf8(e->FileName, (int)(e->FileNameLength / sizeof(WCHAR)), d->name, sizeof d->name);
    if (n < 0) return (int32_t)n;
    /* for a reparse point, EaSize holds its tag (MS-FSCC) */
    int link = (e->FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) && IsReparseTagNameSurrogate(e->EaSize);
    *name = d->name;
    *type = link ? DT_LNK : (e->FileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? DT_DIR : DT_REG;
    return 1;
}

void cplat_closedir(void *dir) {
    struct dir *d = dir;
    CloseHandle(d->h);
    _close(d->fd);
    free(d);
}

/* ---- processes and the environment ---- */

/* There is no exec on Windows: Handoff.run (built with DGMO_HANDOFF_SPAWN) calls
 * cplat_spawn_wait / cplat_spawnp_wait instead, waits holding the locks, and exits with the
 * child's status. */
int32_t cplat_execve(const char *path, char *const argv[], char *const envp[]) {
    (void)path; (void)argv; (void)envp;
    return -CPLAT_ENOSYS;
}
int32_t cplat_execvpe(const char *file, char *const argv[], char *const envp[]) {
    (void)file; (void)argv; (void)envp;
    return -CPLAT_ENOSYS;
}

/* ---- the spawn hand-off ---- */

/* The longest command line CreateProcessW takes, in UTF-16 units with its NUL. */
#define COMMAND_LINE_MAX 32767

/* Appends argument a (UTF-8) to the command line at out+*n (out NULL: counts only), quoted by the
 * rules both CommandLineToArgvW and the UCRT's argument parser undo: an argument that is empty or
 * holds a space, tab, newline, vertical tab or `"` is quoted; inside the quotes a run of
 * backslashes is literal unless a `"` follows it (the argument's own, written `\"`, or the closing
 * one), where it is doubled. The quoting characters are ASCII, so quoting the UTF-8 form and
 * converting the whole line gives the UTF-16 line quoted the same way. */
static void quote_argument(const char *a, char *out, size_t *n) {
#define PUT(c) do { char c_ = (c); if (out) out[*n] = c_; (*n)++; } while (0)
    if (*a && !strpbrk(a, " \t\n\v\"")) {
        while (*a) PUT(*a++);
        return;
    }
    PUT('"');
    for (;;) {
        size_t slashes = 0;
        while (*a == '\\') { a++; slashes++; }
        if (*a == 0) { for (size_t i = 0; i < 2 * slashes; i++) PUT('\\'); break; }
        if (*a == '"') { for (size_t i = 0; i < 2 * slashes + 1; i++) PUT('\\'); }
        else { for (size_t i = 0; i < slashes; i++) PUT('\\'); }
        PUT(*a++);
    }
    PUT('"');
#undef PUT
}

/* The command line of argv as UTF-16 (malloc'd). argv[0] is read by other rules than the rest
 * (both parsers take a quoted program name up to the next `"`, backslashes and all), so it is
 * always quoted and may not hold a `"`. */
static int32_t command_line(char *const argv[], WCHAR **out) {
    if (!argv || !argv[0] || strchr(argv[0], '"')) return -CPLAT_EINVAL;
    size_t n = strlen(argv[0]) + 2;
    for (size_t i = 1; argv[i]; i++) { n++; quote_argument(argv[i], NULL, &n); }
    /* UTF-8 is never shorter than UTF-16 in units, so a byte count this size fails anyway */
    if (n > (size_t)INT_MAX / 4) return -CPLAT_E2BIG;
    char *line = malloc(n + 1);
    if (!line) return -CPLAT_ENOMEM;
    size_t k = 0;
    line[k++] = '"';
    memcpy(line + k, argv[0], strlen(argv[0]));
    k += strlen(argv[0]);
    line[k++] = '"';
    for (size_t i = 1; argv[i]; i++) { line[k++] = ' '; quote_argument(argv[i], line, &k); }
    line[k] = 0;
    int w = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, line, -1, NULL, 0);
    int32_t r = w <= 0 ? -CPLAT_EINVAL : w > COMMAND_LINE_MAX ? -CPLAT_E2BIG : to_wide(line, out);
    free(line);
    return r;
}

/* The environment block of envp: each `NAME=value` in UTF-16 with its NUL, in the given order,
 * then one more NUL. CreateProcessW does not need it sorted. A name may start with `=` (the
 * hidden per-drive directories, `=C:=C:\dir`, kept so the child's relative drive paths resolve
 * as the launcher's did), so the `=` is looked for from the second byte; an entry without one
 * (an empty entry would end the block early) is refused. */
static int32_t environment_block(char *const envp[], WCHAR **out) {
    size_t total = 1;
    for (size_t i = 0; envp && envp[i]; i++) {
        if (!envp[i][0] || !strchr(envp[i] + 1, '=')) return -CPLAT_EINVAL;
        int w = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, envp[i], -1, NULL, 0);
        if (w <= 0) return -CPLAT_EINVAL;
        total += (size_t)w;
    }
    WCHAR *block = malloc((total + 1) * sizeof *block), *p = block;
    if (!block) return -CPLAT_ENOMEM;
    for (size_t i = 0; envp && envp[i]; i++)
        p += MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, envp[i], -1, p, (int)(total - (size_t)(p - block)));
    p[0] = 0;
    p[1] = 0;   /* an empty environment is two NULs */
    *out = block;
    return 0;
}

/* The program's path for lpApplicationName: made absolute against the working directory; a
 * path shorter than MAX_PATH is passed plain (the form every Windows program is started by),
 * a longer one in \\?\ form (a plain one that long depends on the system's long-path opt-in). */
static int32_t program_path(const char *path, WCHAR **out) {
    WCHAR *full;
    DWORD len;
    int verbatim;
    int32_t r = absolute_path(path, &full, &len, &verbatim);
    if (r) return r;
    if (verbatim || len < MAX_PATH) { *out = full; return 0; }
    return long_path(full, out);
}

/* Whether p ends in `.ext` (ASCII case ignored), trailing dots and spaces not counted (Windows
 * drops them from a name: `x.bat.` is x.bat). */
static int has_extension(const WCHAR *p, const WCHAR *ext) {
    size_t n = wcslen(p), e = wcslen(ext);
    while (n && (p[n - 1] == L'.' || p[n - 1] == L' ')) n--;
    return n > e && _wcsnicmp(p + n - e, ext, e) == 0;
}

/* Ctrl+C and Ctrl+Break, once the child runs: the launcher stays (it must hold the locks and
 * report the child's status) and the child, on the same console, gets the event itself.
 * SetConsoleCtrlHandler(NULL, TRUE) would be inherited by the child as "ignore Ctrl+C"; a
 * handler routine is not inherited. Other events (closing the console, logoff) end the
 * launcher, and the job object ends the child with it. */
static BOOL WINAPI ignore_interrupt(DWORD event) {
    return event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT;
}

/* The job the child runs in: closing its one handle (the launcher exiting, or being killed)
 * kills every process in it. A process in it may still start one outside it on purpose
 * (CREATE_BREAKAWAY_FROM_JOB), as a daemon must. */
static int32_t make_job(HANDLE *job) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = {0};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK;
    HANDLE j = CreateJobObjectW(NULL, NULL);
    if (!j) return fail();
    if (!SetInformationJobObject(j, JobObjectExtendedLimitInformation, &limits, sizeof limits)) {
        int32_t r = fail();
        CloseHandle(j);
        return r;
    }
    *job = j;
    return 0;
}

/* Runs program (an absolute path, lpApplicationName) and waits for it. The child inherits the
 * three standard handles and nothing else: inheritable copies of them are made and named in a
 * PROC_THREAD_ATTRIBUTE_HANDLE_LIST, so the launcher's other inheritable handles (the cache's lock
 * files, opened without O_CLOEXEC for POSIX's exec) stay the launcher's. It starts suspended, is
 * put in the job, then resumed, so not one of its instructions runs outside the job. */
static int32_t spawn_wait(const WCHAR *program, WCHAR *line, WCHAR *env, uint32_t *exit_code) {
    static const DWORD ids[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    HANDLE std[3] = {NULL, NULL, NULL}, list[3], job = NULL, self = GetCurrentProcess();
    DWORD count = 0;
    SIZE_T size = 0;
    STARTUPINFOEXW si = {0};
    PROCESS_INFORMATION pi = {0};
    int32_t r = 0;
    for (int i = 0; i < 3 && !r; i++) {
        HANDLE h = GetStdHandle(ids[i]);
        if (h == NULL || h == INVALID_HANDLE_VALUE) continue;   /* none: the child has none either */
        if (!DuplicateHandle(self, h, self, &std[i], 0, TRUE, DUPLICATE_SAME_ACCESS)) { r = fail(); break; }
        list[count++] = std[i];
    }
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = std[0];
    si.StartupInfo.hStdOutput = std[1];
    si.StartupInfo.hStdError = std[2];
    if (!r && count) {
        InitializeProcThreadAttributeList(NULL, 1, 0, &size);
        si.lpAttributeList = malloc(size);
        if (!si.lpAttributeList) r = -CPLAT_ENOMEM;
        else if (!InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &size)) {
            r = fail();
            free(si.lpAttributeList);
            si.lpAttributeList = NULL;
        } else if (!UpdateProcThreadAttribute(si.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
                                              count * sizeof *list, NULL, NULL)) r = fail();
    }
    if (!r) r = make_job(&job);
    if (!r) SetConsoleCtrlHandler(ignore_interrupt, TRUE);
    if (!r && !CreateProcessW(program, line, NULL, NULL, count ? TRUE : FALSE,
                              CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED | EXTENDED_STARTUPINFO_PRESENT,
                              env, NULL, &si.StartupInfo, &pi)) r = fail();
    if (si.lpAttributeList) { DeleteProcThreadAttributeList(si.lpAttributeList); free(si.lpAttributeList); }
    for (int i = 0; i < 3; i++) if (std[i]) CloseHandle(std[i]);
    if (!r && !AssignProcessToJobObject(job, pi.hProcess)) {
        /* no child may run outside the job: it has not run an instruction yet */
        r = fail();
        TerminateProcess(pi.hProcess, 1);
    }
    if (!r && ResumeThread(pi.hThread) == (DWORD)-1) { r = fail(); TerminateProcess(pi.hProcess, 1); }
    if (pi.hThread) CloseHandle(pi.hThread);
    DWORD code = 0;
    if (!r && WaitForSingleObject(pi.hProcess, INFINITE) == WAIT_FAILED) r = fail();
    if (!r && !GetExitCodeProcess(pi.hProcess, &code)) r = fail();
    if (!r) *exit_code = code;
    if (pi.hProcess) CloseHandle(pi.hProcess);
    /* the child is gone: closing the job ends what it left in it, as its dying would on Linux
     * only for a process group; a detached process it wanted had to break away */
    if (job) CloseHandle(job);
    return r;
}

/* Checks what both spawn calls check, then runs program (taken over). */
static int32_t spawn_program(WCHAR *program, char *const argv[], char *const envp[], uint32_t *exit_code) {
    WCHAR *line = NULL, *env = NULL;
    int32_t r = 0;
    /* cmd.exe reads a batch file's command line by its own rules (`%`, `^`, `&`), not ours */
    if (has_extension(program, L".bat") || has_extension(program, L".cmd")) r = -CPLAT_EINVAL;
    if (!r) r = command_line(argv, &line);
    if (!r) r = environment_block(envp, &env);
    if (!r) r = spawn_wait(program, line, env, exit_code);
    free(program);
    free(line);
    free(env);
    return r;
}

int32_t cplat_spawn_wait(const char *path, char *const argv[], char *const envp[], uint32_t *exit_code) {
    WCHAR *program;
    int32_t r = program_path(path, &program);
    return r ? r : spawn_program(program, argv, envp, exit_code);
}

/* Whether p names an existing file that is not a directory. */
static int is_file(const WCHAR *p) {
    DWORD a = GetFileAttributesW(p);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

/* A bare name is looked for in each entry of the launcher's PATH in turn (`;`-separated, an
 * entry may be in `"`s; an empty entry is skipped), as `dir\name.exe` when the name has no
 * extension and then as `dir\name`; the first existing file is run, and what running it gives is
 * the answer. Not SearchPathW, and not CreateProcessW's own search: both look in the launcher's
 * directory and the working directory first, so a file dropped there would be run. The working
 * directory is searched only where PATH names it (`.`). */
int32_t cplat_spawnp_wait(const char *file, char *const argv[], char *const envp[], uint32_t *exit_code) {
    if (strpbrk(file, "/\\:")) return cplat_spawn_wait(file, argv, envp, exit_code);
    if (!*file) return -CPLAT_ENOENT;
    const char *path = cplat_getenv("PATH");
    WCHAR *name, *dirs;
    int32_t r = to_wide(file, &name);
    if (r) return r;
    if ((r = to_wide(path ? path : "", &dirs))) { free(name); return r; }
    const WCHAR *dot = wcsrchr(name, L'.');
    int bare = !dot;
    size_t nlen = wcslen(name);
    r = -CPLAT_ENOENT;
    for (WCHAR *p = dirs; *p;) {
        WCHAR *end = wcschr(p, L';');
        size_t dlen = end ? (size_t)(end - p) : wcslen(p);
        WCHAR *next = end ? end + 1 : p + dlen;
        if (dlen >= 2 && p[0] == L'"' && p[dlen - 1] == L'"') { p++; dlen -= 2; }
        if (dlen == 0) { p = next; continue; }
        WCHAR *candidate = malloc((dlen + 1 + nlen + 5) * sizeof *candidate);
        if (!candidate) { r = -CPLAT_ENOMEM; break; }
        memcpy(candidate, p, dlen * sizeof *candidate);
        size_t k = dlen;
        if (candidate[k - 1] != L'\\' && candidate[k - 1] != L'/') candidate[k++] = L'\\';
        memcpy(candidate + k, name, (nlen + 1) * sizeof *candidate);
        int found = 0;
        if (bare) {
            wcscpy(candidate + k + nlen, L".exe");
            found = is_file(candidate);
            if (!found) candidate[k + nlen] = 0;
        }
        if (!found) found = is_file(candidate);
        if (found) {
            char *utf8 = NULL;
            int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, candidate, -1, NULL, 0, NULL, NULL);
            if (n > 0 && (utf8 = malloc((size_t)n)))
                WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, candidate, -1, utf8, n, NULL, NULL);
            free(candidate);
            r = n <= 0 ? fail() : !utf8 ? -CPLAT_ENOMEM : cplat_spawn_wait(utf8, argv, envp, exit_code);
            free(utf8);
            break;
        }
        free(candidate);
        p = next;
    }
    free(name);
    free(dirs);
    return r;
}

/* The environment in UTF-8, read once (GetEnvironmentStringsW) at the first use: the CRT's
 * narrow environ is in the ANSI code page, which cannot hold every name. The launcher changes
 * no variable of its own, so the snapshot stays true. An invalid UTF-16 value is replaced (U+FFFD). */
static char **env_utf8;
static INIT_ONCE env_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK env_read(PINIT_ONCE once, PVOID param, PVOID *ctx) {
    (void)once; (void)param; (void)ctx;
    WCHAR *block = GetEnvironmentStringsW();
    size_t count = 0;
    for (WCHAR *p = block; p && *p; p += wcslen(p) + 1) count++;
    char **list = malloc((count + 1) * sizeof *list);
    size_t i = 0;
    for (WCHAR *p = block; list && p && *p; p += wcslen(p) + 1) {
        int n = WideCharToMultiByte(CP_UTF8, 0, p, -1, NULL, 0, NULL, NULL);
        char *s = n > 0 ? malloc((size_t)n) : NULL;
        if (s && WideCharToMultiByte(CP_UTF8, 0, p, -1, s, n, NULL, NULL) > 0) list[i++] = s;
        else free(s);
    }
    if (list) list[i] = NULL;
    env_utf8 = list;
    if (block) FreeEnvironmentStringsW(block);
    return TRUE;
}

char **cplat_environ(void) {
    static char *empty[1];
    InitOnceExecuteOnce(&env_once, env_read, NULL, NULL);
    return env_utf8 ? env_utf8 : empty;
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/* Names are compared ignoring ASCII case, as Windows does; a name may begin with `=` (the
 * hidden per-drive directories, "=C:=C:\x"), so its `=` is searched from the second byte. */
const char *cplat_getenv(const char *name) {
    size_t n = strlen(name);
    for (char **e = cplat_environ(); *e; e++) {
        const char *eq = (*e)[0] ? strchr(*e + 1, '=') : NULL;
        if (!eq || (size_t)(eq - *e) != n) continue;
        size_t i = 0;
        while (i < n && lower((*e)[i]) == lower(name[i])) i++;
        if (i == n) return eq + 1;
    }
    return NULL;
}

int32_t cplat_getpid(void) { return (int32_t)GetCurrentProcessId(); }
int32_t cplat_detach(int32_t keep) { (void)keep; return -1; }
/* The token user, whatever its SID: fstat reports what it owns with this uid ("owners", above). */
uint32_t cplat_getuid(void) { return USER_UID; }
uint32_t cplat_geteuid(void) { return USER_UID; }
uint32_t cplat_getgid(void) { return USER_UID; }

/* Signal 0 only (is the process there): there are no signals to send (issue 26 ends a child
 * through its job object). A process that exited with status 259 (STILL_ACTIVE) reads as alive;
 * one we may not open is someone else's and alive (EPERM, as kill says). */
int64_t cplat_process_start_ns(int32_t pid) {
    if (pid <= 0) return -CPLAT_EINVAL;
    HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!p) {
        DWORD e = GetLastError();
        return e == ERROR_INVALID_PARAMETER ? -CPLAT_ESRCH : e == ERROR_ACCESS_DENIED ? -CPLAT_EPERM : -win_code(e);
    }
    FILETIME created, exited, kernel, user;
    BOOL ok = GetProcessTimes(p, &created, &exited, &kernel, &user);
    int64_t r = ok ? 0 : fail();
    CloseHandle(p);
    if (!ok) return r;
    /* FILETIME: 100 ns units since 1601. */
    uint64_t t = ((uint64_t)created.dwHighDateTime << 32) | created.dwLowDateTime;
    return (int64_t)(t - 116444736000000000ull) * 100;
}

int32_t cplat_kill(int32_t pid, int32_t signal) {
    if (signal != 0) return -CPLAT_ENOSYS;
    if (pid <= 0) return -CPLAT_EINVAL;
    HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!p) {
        DWORD e = GetLastError();
        return e == ERROR_INVALID_PARAMETER ? -CPLAT_ESRCH : e == ERROR_ACCESS_DENIED ? -CPLAT_EPERM : -win_code(e);
    }
    DWORD code;
    int32_t r = GetExitCodeProcess(p, &code) ? (code == STILL_ACTIVE ? 0 : -CPLAT_ESRCH) : fail();
    CloseHandle(p);
    return r;
}

/* Windows has no SIGXFSZ: a write past a quota fails with an error, which the launcher reports. */
void cplat_ignore_file_size_signal(void) {}
void cplat_restore_file_size_signal(void) {}

/* A console, not any character device: _isatty is also true of NUL. */
int32_t cplat_isatty(int32_t fd) {
    HANDLE h;
    DWORD mode;
    return get_handle(fd, &h) == 0 && GetConsoleMode(h, &mode) ? 1 : 0;
}

void cplat_flush_stdio(void) { fflush(NULL); }
void cplat_exit(int32_t status) { exit(status); }

/* ---- threads ---- */

/* _beginthreadex (not CreateThread) so the CRT is set up for the thread; the trampoline adapts
 * our void *(*)(void *) to its unsigned (__stdcall *)(void *). */
struct start { void *(*fn)(void *); void *ctx; };

static unsigned __stdcall thread_main(void *arg) {
    struct start s = *(struct start *)arg;
    free(arg);
    s.fn(s.ctx);
    return 0;
}

int32_t cplat_thread_start(void *(*fn)(void *), void *ctx, void **thread) {
    struct start *s = malloc(sizeof *s);
    if (!s) return -CPLAT_ENOMEM;
    *s = (struct start){fn, ctx};
    uintptr_t h = _beginthreadex(NULL, 0, thread_main, s, 0, NULL);
    if (h == 0) { int32_t r = crt_fail(); free(s); return r; }
    *thread = (void *)h;
    return 0;
}

void cplat_thread_join(void *thread) { WaitForSingleObject(thread, INFINITE); CloseHandle(thread); }
void *cplat_mutex_new(void) { SRWLOCK *m = malloc(sizeof *m); if (m) InitializeSRWLock(m); return m; }
void cplat_mutex_lock(void *mutex) { AcquireSRWLockExclusive(mutex); }
void cplat_mutex_unlock(void *mutex) { ReleaseSRWLockExclusive(mutex); }
void cplat_mutex_free(void *mutex) { free(mutex); }
void *cplat_cond_new(void) { CONDITION_VARIABLE *c = malloc(sizeof *c); if (c) InitializeConditionVariable(c); return c; }
void cplat_cond_wait(void *cond, void *mutex) { SleepConditionVariableSRW(cond, mutex, INFINITE, 0); }
void cplat_cond_broadcast(void *cond) { WakeAllConditionVariable(cond); }
void cplat_cond_free(void *cond) { free(cond); }
int32_t cplat_processor_count(void) {
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n > 0 ? (int32_t)n : 1;
}

/* ---- time and randomness ---- */

int64_t cplat_time_now(void) {
    FILETIME f;
    int64_t sec, nsec;
    GetSystemTimePreciseAsFileTime(&f);
    unix_time(f, &sec, &nsec);
    return sec;
}

int64_t cplat_monotonic_ns(void) {
    LARGE_INTEGER c, f;
    QueryPerformanceCounter(&c);
    QueryPerformanceFrequency(&f);
    return (c.QuadPart / f.QuadPart) * 1000000000 + (c.QuadPart % f.QuadPart) * 1000000000 / f.QuadPart;
}

/* The system RNG: RtlGenRandom (advapi32's SystemFunction036, as libsodium uses), not
 * BCryptGenRandom: bcrypt.dll is not a KnownDLL, so a static import of it would be looked for in
 * the executable's own directory first, where a downloaded launcher may have a planted bcrypt.dll
 * beside it (docs/security.md, "Windows"); advapi32 is a KnownDLL, always system32's. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
int64_t cplat_getrandom(void *buf, size_t len) {
    for (size_t done = 0; done < len;) {
        ULONG n = chunk(len - done);
        if (!SystemFunction036((PUCHAR)buf + done, n)) return -CPLAT_EIO;
        done += n;
    }
    return (int64_t)len;
}

/* ---- the running executable ---- */

int64_t cplat_self_path(char *buf, size_t size) {
    enum { longest = 32768 };   /* the longest path Windows has, in UTF-16 units */
    WCHAR *w = malloc(longest * sizeof *w);
    if (!w) return -CPLAT_ENOMEM;
    DWORD n = GetModuleFileNameW(NULL, w, longest);
    int64_t r = n == 0 ? fail() : n >= longest ? -CPLAT_ENAMETOOLONG : to_utf8(w, (int)n, buf, size);
    free(w);
    return r;
}

#endif /* _WIN32 */
