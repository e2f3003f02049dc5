#pragma once
/* Linux calls that Glibc's Swift module does not expose (they need _GNU_SOURCE or
 * headers it does not include, or Swift sees a same-named type first: flock). Thin wrappers, nothing else. */
#include <stddef.h>
#include <sys/types.h>

int clinux_syncfs(int fd);
ssize_t clinux_getrandom(void *buf, size_t len);
int clinux_execvpe(const char *file, char *const argv[], char *const envp[]);
int clinux_flock(int fd, int operation);
