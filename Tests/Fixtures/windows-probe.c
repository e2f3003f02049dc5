/* The payload of the Windows end-to-end tests (Tests/EndToEndTests/WindowsTests.swift), built with
 * `zig cc -target x86_64-windows-gnu -municode`: prints what it was started with, so the tests can
 * check arguments, environment and exit status exactly under wine.
 *
 *   pid=N, argc=N     its Windows process id (GetCurrentProcessId), its argument count
 *   arg[A]            each argument after the program's name, as UTF-8
 *   NAME=VALUE        PROBE_HOME and the launcher's PROBE_BUNDLE_* variables ("<unset>" if absent)
 *
 * Options, read anywhere among the arguments (and printed like the others):
 *   --exit N          exit with N, read as an unsigned 32-bit number (3221225477 is 0xC0000005)
 *   --sleep MS        sleep MS milliseconds before exiting
 *   --argv-hex        print each argument as hex[HEX] of its UTF-8 bytes instead of arg[...]
 *   --spawn CMDLINE   (first argument only) run CMDLINE with CreateProcessW, standard handles
 *                     inherited, wait for it and print exit=N, its whole 32-bit exit code, as
 *                     GetExitCodeProcess tells it: the tests' Windows-side view of an exit status
 *                     (a Linux parent of wine sees only wine's unix status, see WindowsTests)
 * PROBE_TOUCH=PATH creates the file PATH first (the tests' proof that the payload ran).
 *
 * wmain: the arguments arrive as the C runtime splits the UTF-16 command line, and are converted
 * here to UTF-8 with WideCharToMultiByte, so non-ASCII arrives exactly (no ANSI code page between). */
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static char *utf8(const wchar_t *w) {
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = malloc(n > 0 ? n : 1);
    if (n <= 0) { s[0] = 0; return s; }
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

/* Writes bytes to stdout as they are (no text-mode translation, no code page). */
static void out(const char *s, size_t n) { fwrite(s, 1, n, stdout); }
static void outs(const char *s) { out(s, strlen(s)); }

static int spawn(wchar_t *cmdline) {
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessW(NULL, cmdline, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "probe: CreateProcessW failed: error %lu\n", (unsigned long)GetLastError());
        return 2;
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code = 0;
    GetExitCodeProcess(pi.hProcess, &code);
    fflush(stdout);
    char line[64];
    snprintf(line, sizeof line, "exit=%lu\n", (unsigned long)code);
    outs(line);
    fflush(stdout);
    return 0;
}

int wmain(int argc, wchar_t **argv) {
    /* "\n" stays "\n" (text mode would write "\r\n"), so the tests compare lines as on Linux. */
    _setmode(_fileno(stdout), _O_BINARY);
    if (argc == 3 && wcscmp(argv[1], L"--spawn") == 0) return spawn(argv[2]);
    const wchar_t *touch = _wgetenv(L"PROBE_TOUCH");
    if (touch) {
        HANDLE h = CreateFileW(touch, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
    }
    int hex = 0;
    unsigned long long code = 0;
    unsigned long sleep_ms = 0;
    for (int i = 1; i < argc; i++) {
        if (wcscmp(argv[i], L"--argv-hex") == 0) hex = 1;
        else if (wcscmp(argv[i], L"--exit") == 0 && i + 1 < argc) code = wcstoull(argv[i + 1], NULL, 10);
        else if (wcscmp(argv[i], L"--sleep") == 0 && i + 1 < argc) sleep_ms = wcstoul(argv[i + 1], NULL, 10);
    }
    char line[64];
    snprintf(line, sizeof line, "pid=%lu\nargc=%d\n", (unsigned long)GetCurrentProcessId(), argc);
    outs(line);
    for (int i = 1; i < argc; i++) {
        char *a = utf8(argv[i]);
        if (hex) {
            outs("hex[");
            for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
                char h[3];
                snprintf(h, sizeof h, "%02x", *p);
                out(h, 2);
            }
            outs("]\n");
        } else {
            outs("arg[");
            outs(a);
            outs("]\n");
        }
        free(a);
    }
    /* A spec-built bundle's names (env-prefix PROBE_LAUNCHER), then a code-built one's. */
    static const wchar_t *names[] = {L"PROBE_HOME", L"PROBE_LAUNCHER_BUNDLE_EXE", L"PROBE_LAUNCHER_BUNDLE_VERSION",
                                     L"PROBE_LAUNCHER_BUNDLE_ENTRY", L"PROBE_LAUNCHER_BUNDLE_CACHE", L"PROBE_BUNDLE_EXE",
                                     L"PROBE_BUNDLE_VERSION", L"PROBE_BUNDLE_ENTRY", L"PROBE_BUNDLE_CACHE", NULL};
    for (int i = 0; names[i]; i++) {
        const wchar_t *v = _wgetenv(names[i]);
        char *n = utf8(names[i]);
        char *s = v ? utf8(v) : NULL;
        outs(n);
        outs("=");
        outs(s ? s : "<unset>");
        outs("\n");
        free(n);
        free(s);
    }
    fflush(stdout);
    if (sleep_ms) Sleep(sleep_ms);
    ExitProcess((UINT)code);
}
