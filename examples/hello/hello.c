/* A small static C program: prints its arguments and the launcher's variables. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    printf("hello from a bundled static C program (%d argument%s)\n", argc - 1, argc == 2 ? "" : "s");
    for (int i = 1; i < argc; i++) printf("  argv[%d] = [%s]\n", i, argv[i]);
    const char *home = getenv("HELLO_HOME"), *ver = getenv("HELLO_BUNDLE_VERSION");
    printf("HELLO_HOME=%s\nHELLO_BUNDLE_VERSION=%s\n", home ? home : "(unset)", ver ? ver : "(unset)");
    return 0;
}
