// What HeraldTesting's ChildProcess needs from the C library beyond what Swift's Glibc module shows:
// the GNU extensions (`pipe2`, `posix_spawn_file_actions_addclosefrom_np`) and the wait-status macros.
#ifndef C_HERALD_SPAWN_H
#define C_HERALD_SPAWN_H

#include <spawn.h>

/// A pipe whose two ends are close-on-exec from the start, so no child spawned meanwhile inherits them.
/// Returns 0, or -1 with errno set.
int herald_pipe_cloexec(int descriptors[2]);

/// Makes `attributes` start the child with no signal blocked and every signal at its default disposition,
/// whatever the spawning thread blocks or the parent ignores (and, on Apple systems, with no descriptor
/// inherited but those the file actions set up). Returns 0 or an error number.
int herald_spawnattr_clean(posix_spawnattr_t *attributes);

/// Adds to `actions` the closing of every descriptor from `lowest` up, so the child inherits only what the
/// actions before it set up. Returns 0 or an error number.
int herald_spawn_file_actions_close_from(posix_spawn_file_actions_t *actions, int lowest);

/// Decodes a `waitpid` status: 1 and the exit code in `value` if the child exited, 0 and the signal's number
/// if a signal ended it.
int herald_wait_status_exited(int status, int *value);

#endif
