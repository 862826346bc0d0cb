// GNU extensions live behind _GNU_SOURCE, which Swift's Glibc module is not built with.
#define _GNU_SOURCE
#include "CHeraldSpawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int herald_pipe_cloexec(int descriptors[2]) {
#if defined(__linux__)
    return pipe2(descriptors, O_CLOEXEC);
#else
    // No pipe2 here: the ends are open without close-on-exec for a moment; the close-from action in every
    // spawn of ChildProcess keeps its own children from inheriting them.
    if (pipe(descriptors) != 0) return -1;
    fcntl(descriptors[0], F_SETFD, FD_CLOEXEC);
    fcntl(descriptors[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

int herald_spawnattr_clean(posix_spawnattr_t *attributes) {
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    // SIGKILL and SIGSTOP cannot be changed; naming them only draws an error.
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    int result = posix_spawnattr_setsigmask(attributes, &none);
    if (result == 0) result = posix_spawnattr_setsigdefault(attributes, &all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
#if defined(__APPLE__)
    flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#endif
    if (result == 0) result = posix_spawnattr_setflags(attributes, flags);
    return result;
}

int herald_spawn_file_actions_close_from(posix_spawn_file_actions_t *actions, int lowest) {
#if defined(__GLIBC__)
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
#else
    // Apple's POSIX_SPAWN_CLOEXEC_DEFAULT (set by herald_spawnattr_clean) closes them instead.
    (void)actions;
    (void)lowest;
    return 0;
#endif
}

int herald_wait_status_exited(int status, int *value) {
    if (WIFEXITED(status)) {
        *value = WEXITSTATUS(status);
        return 1;
    }
    *value = WTERMSIG(status);
    return 0;
}
