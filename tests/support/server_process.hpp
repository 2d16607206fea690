#pragma once
// The real mediaspool binary as a child process of one test: fresh spool and media folders in a
// temp folder, the test's PostgreSQL URL, an OS-chosen port read back from --server.port-file.
//
// Only the PID this object spawned is ever signalled (fork/exec, then kill(pid, ...)), so tests
// running next to other servers on the same machine cannot hit them.
//
// The server's stdout and stderr (spdlog writes to stdout) go to <temp>/server.log, appended to
// across restarts. While the object lives, a doctest context scope prints the log's last lines
// next to every failed assertion of the test thread, so a failing test shows what the server saw.
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mediaspool::test {

using namespace std::chrono_literals;

class server_process {
public:
  /// Starts the binary named by env MEDIASPOOL_BIN (the test fails if unset) against `db_url`
  /// with `extra_args` (e.g. "--limits.init-timeout=1s") and waits until it listens.
  /// Transcription is off unless an extra argument sets an `--asr.` option: the tests' random
  /// audio would only load the recogniser's ~140 MB model to fail, on a machine shared by two tests.
  explicit server_process(std::string db_url, std::vector<std::string> extra_args = {});

  /// Stops the server if it still runs (SIGTERM, then SIGKILL) and removes its folders.
  ~server_process();

  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  /// The port it listens on (changes across restarts: every start binds port 0).
  uint16_t port() const noexcept { return port_; }
  std::filesystem::path media_root() const { return dir_ / "media"; }
  std::filesystem::path spool_path() const { return dir_ / "spool"; }
  std::filesystem::path log_path() const { return dir_ / "server.log"; }
  bool running() const noexcept { return pid_ > 0; }
  /// The server's PID while running (for reading /proc), -1 otherwise.
  pid_t pid() const noexcept { return pid_; }

  /// Resident memory of the server in bytes (VmRSS of /proc/<pid>/status); 0 if not running.
  uint64_t rss_bytes() const;

  /// SIGKILL to the spawned PID and reap it: a crash with no chance to clean up.
  void kill9();

  /// Sends `sig` to the spawned PID and returns at once (reap with wait_exit or stop).
  void signal(int sig);

  /// SIGTERM and wait up to `timeout` for the exit; SIGKILL if it is still there. Returns true
  /// if the server exited by itself with status 0 (a clean shutdown).
  bool stop(std::chrono::milliseconds timeout = 10s);

  /// stop() if running, then start again with the same folders, database and arguments.
  void restart();

  /// Like restart(), with `extra_args` replacing the arguments given so far.
  void restart(std::vector<std::string> extra_args);

  /// Waits up to `timeout` for the server to exit by itself (e.g. at an armed crash point) and
  /// reaps it. Returns the signal that ended it (0 for a normal exit), nullopt if still running.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  /// The last `lines` lines of the server's log.
  std::string log_tail(size_t lines = 40) const;

  /// The server's whole log, read again every 50 ms until `done` accepts it or `timeout` has
  /// passed; the caller checks what it returns.
  std::string wait_for_log(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds timeout) const;
  /// wait_for_log until the log contains `text`.
  std::string wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const;

private:
  void start();
  std::optional<int> reap(std::chrono::milliseconds timeout); // exit status, nullopt if alive

  temp_dir dir_; // first: destroyed after the process is gone
  std::string bin_;
  std::string db_url_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::unique_ptr<doctest::IContextScope> log_scope_; // last: reads the log before dir_ goes
};

} // namespace mediaspool::test
