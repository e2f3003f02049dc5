/* The child of Tests/Fixtures/spawn-probe.c (Windows only; scripts/platform-compile-check.sh
 * builds it with -municode). Prints the arguments it received, each as the hex of its UTF-8, one
 * per line: first as CommandLineToArgvW splits GetCommandLineW(), then as the C runtime gave them
 * to wmain, so the probe checks that both parsers read the command line cplat_spawn_wait wrote.
 * The environment steers the rest, so that argv holds nothing but the arguments under test:
 *   ECHO_VARS=A,B   also prints "var <hex of A's value>" per name ("var -" when unset);
 *   ECHO_HANDLE=N   also prints "handle -" when handle value N is not open here, else
 *                   "handle <hex of its path>" (an inherited handle the child should not have);
 *   ECHO_SLEEP=F    writes its process id to file F and sleeps 60 s (the job object test);
 *   ECHO_EXIT=N     exits with N (decimal, any 32-bit value), after printing. */
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static void hex(const WCHAR *w, int len) {
    if (len == 0) { printf("\n"); return; }
    int n = WideCharToMultiByte(CP_UTF8, 0, w, len, NULL, 0, NULL, NULL);
    char *s = malloc((size_t)n + 1);
    WideCharToMultiByte(CP_UTF8, 0, w, len, s, n, NULL, NULL);
    for (int i = 0; i < n; i++) printf("%02x", (unsigned char)s[i]);
    printf("\n");
    free(s);
}

static const WCHAR *env(const WCHAR *name) {
    static WCHAR value[4096];
    DWORD n = GetEnvironmentVariableW(name, value, 4096);
    return n > 0 && n < 4096 ? value : NULL;
}

int wmain(int argc, wchar_t **argv) {
    int count;
    WCHAR **split = CommandLineToArgvW(GetCommandLineW(), &count);
    printf("split %d\n", count);
    for (int i = 0; i < count; i++) hex(split[i], (int)wcslen(split[i]));
    printf("crt %d\n", argc);
    for (int i = 0; i < argc; i++) hex(argv[i], (int)wcslen(argv[i]));
    const WCHAR *vars = env(L"ECHO_VARS");
    if (vars) {
        WCHAR list[4096], *save = NULL;
        wcscpy(list, vars);
        for (WCHAR *name = wcstok(list, L",", &save); name; name = wcstok(NULL, L",", &save)) {
            const WCHAR *v = env(name);
            printf("var ");
            if (v) hex(v, (int)wcslen(v)); else printf("-\n");
        }
    }
    const WCHAR *h = env(L"ECHO_HANDLE");
    if (h) {
        HANDLE handle = (HANDLE)(uintptr_t)wcstoull(h, NULL, 10);
        DWORD flags;
        WCHAR path[1024];
        DWORD n = GetHandleInformation(handle, &flags) ? GetFinalPathNameByHandleW(handle, path, 1024, 0) : 0;
        printf("handle ");
        if (n > 0 && n < 1024) hex(path, (int)n); else printf("-\n");
    }
    fflush(stdout);
    const WCHAR *sleep = env(L"ECHO_SLEEP");
    if (sleep) {
        FILE *f = _wfopen(sleep, L"w");
        if (f) { fprintf(f, "%lu\n", GetCurrentProcessId()); fclose(f); }
        Sleep(60000);
    }
    const WCHAR *code = env(L"ECHO_EXIT");
    ExitProcess(code ? (UINT)wcstoul(code, NULL, 10) : 0);
}
#endif
