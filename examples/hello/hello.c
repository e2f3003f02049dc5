/* A small static C program: prints its arguments and the launcher's variables.
 * Linux: gcc -static. Windows: zig cc -target x86_64-windows-gnu -municode (wmain, so the
 * arguments and variables arrive as UTF-16 and are printed as UTF-8, whatever the code page). */
#include <stdio.h>
#include <stdlib.h>

#ifdef _WIN32
#include <windows.h>

static char *utf8(const wchar_t *w) {
    if (!w) return NULL;
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = malloc(n > 0 ? n : 1);
    s[0] = 0;
    if (n > 0) WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

int wmain(int argc, wchar_t **wargv) {
    char **argv = malloc(sizeof(char *) * (argc + 1));
    for (int i = 0; i < argc; i++) argv[i] = utf8(wargv[i]);
    argv[argc] = NULL;
    const char *home = utf8(_wgetenv(L"HELLO_HOME")), *ver = utf8(_wgetenv(L"HELLO_LAUNCHER_BUNDLE_VERSION"));
#else
int main(int argc, char **argv) {
    const char *home = getenv("HELLO_HOME"), *ver = getenv("HELLO_LAUNCHER_BUNDLE_VERSION");
#endif
    printf("hello from a bundled static C program (%d argument%s)\n", argc - 1, argc == 2 ? "" : "s");
    for (int i = 1; i < argc; i++) printf("  argv[%d] = [%s]\n", i, argv[i]);
    printf("HELLO_HOME=%s\nHELLO_LAUNCHER_BUNDLE_VERSION=%s\n", home ? home : "(unset)", ver ? ver : "(unset)");
    return 0;
}
