#define _GNU_SOURCE
#include <unistd.h>
#include <sys/random.h>
#include <sys/file.h>
#include "CLinux.h"

int clinux_syncfs(int fd) { return syncfs(fd); }
ssize_t clinux_getrandom(void *buf, size_t len) { return getrandom(buf, len, 0); }
int clinux_execvpe(const char *file, char *const argv[], char *const envp[]) { return execvpe(file, argv, envp); }
int clinux_flock(int fd, int operation) { return flock(fd, operation); }
