/* The payload of the end-to-end tests: prints what it was started with, so tests can
 * check argv, environment, PID and exit status exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>

int main(int argc, char **argv) {
    const char *touch = getenv("PROBE_TOUCH");
    if (touch) { FILE *f = fopen(touch, "w"); if (f) fclose(f); }
    printf("pid=%d\n", (int)getpid());
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("arg[%s]\n", argv[i]);
    /* The launcher's variables as a spec-built bundle names them (env-prefix PROBE_LAUNCHER), and the
     * app-named ones a bundle without that property uses (built in code), which a spec-built bundle
     * must leave unset: they are the app's. */
    const char *names[] = {"PROBE_HOME", "PROBE_LAUNCHER_BUNDLE_EXE", "PROBE_LAUNCHER_BUNDLE_VERSION",
                           "PROBE_LAUNCHER_BUNDLE_ENTRY", "PROBE_LAUNCHER_ENTRY", "PROBE_BUNDLE_EXE",
                           "PROBE_BUNDLE_VERSION", "PROBE_BUNDLE_ENTRY", "PROBE_ENTRY", 0};
    for (int i = 0; names[i]; i++) { const char *v = getenv(names[i]); printf("%s=%s\n", names[i], v ? v : "<unset>"); }
    fflush(stdout);
    const char *sig = getenv("PROBE_SIGNAL");
    if (sig) raise(atoi(sig));
    const char *code = getenv("PROBE_EXIT");
    return code ? atoi(code) : 0;
}
