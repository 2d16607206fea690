#pragma once
// Starting and reaping a test's child processes (the server, the load generator) by their PIDs:
// tests share this machine with other servers and must never signal a process they did not start.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mediaspool::test {

/// fork + execve of `args[0]` with `args`: stdin from /dev/null, stdout and stderr appended to
/// `log`, no descriptor of the test past 2, SIGKILL when the test's main thread dies, and the
/// test's environment without the variables named in `drop_env`. Fails the test if it cannot
/// fork; an execve failure shows in `log` and as exit status 127.
pid_t spawn_child(const std::vector<std::string>& args, const std::filesystem::path& log,
                  const std::vector<std::string>& drop_env = {});

/// Waits up to `timeout` for `pid` (> 0) to exit and reaps it. Returns its wait status (see
/// WIFEXITED; exit status 255 if it was reaped elsewhere), or nullopt if it still runs.
std::optional<int> reap_child(pid_t pid, std::chrono::milliseconds timeout);

} // namespace mediaspool::test
