#include "asr/command_engine.hpp"

#include "audio/audio_decoder.hpp"
#include "asr/wav.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace mediaspool::asr {

namespace {

std::string collapse_whitespace(const std::string& s) {
  std::istringstream in{s};
  std::string word, out;
  while (in >> word) {
    if (!out.empty())
      out += ' ';
    out += word;
  }
  return out;
}

// Single-quoted for /bin/sh.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

constexpr size_t max_output_bytes = 1u << 20;

// Runs `cmd` with /bin/sh and collects its stdout; returns an error text or "". Unlike popen,
// the child gets only stdin (/dev/null), stdout (the pipe) and stderr: the server's sockets and
// files are not close-on-exec (Asio opens sockets without it), and a command holding them would
// keep closed client connections and the listening port alive for as long as it runs. The child
// leads its own process group, so a timeout kills whatever the shell started too (a grandchild
// holding the pipe would otherwise keep the read going).
std::string run_capturing(const std::string& cmd, std::chrono::milliseconds timeout, std::string& out) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return std::string{"cannot create a pipe for the asr command: "} + std::strerror(errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = -1;
  int spawn_err = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawn_err != 0) {
    ::close(pipe_fds[0]);
    return std::string{"cannot run the asr command: "} + std::strerror(spawn_err);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string cut; // why the run was stopped, if it was
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      cut = "asr command timed out after " + std::to_string(timeout.count()) + " ms (asr.command-timeout); killed";
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR)
      break;
    if (ready <= 0)
      continue;
    ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > max_output_bytes) {
        cut = "asr command printed more than " + std::to_string(max_output_bytes) + " bytes; killed";
        break;
      }
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(pipe_fds[0]);
  if (!cut.empty())
    ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return std::string{"cannot wait for the asr command: "} + std::strerror(errno);
  }
  if (!cut.empty())
    return cut;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "asr command failed (" + (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                                       : "signal " + std::to_string(WTERMSIG(status))) + ")";
  return {};
}

} // namespace

command_engine::command_engine(std::string command, std::string temp_dir, std::chrono::milliseconds timeout)
  : command_(std::move(command)), temp_dir_(std::move(temp_dir)), timeout_(timeout) {}

recognition command_engine::recognize(const std::vector<int16_t>& pcm) {
  recognition r;
  if (command_.empty()) {
    r.error = "asr.command is empty";
    return r;
  }
  std::string path = temp_dir_ + "/mediaspool-asr-XXXXXX.wav";
  int fd = mkstemps(path.data(), 4);
  if (fd < 0) {
    r.error = "cannot create a temp WAV in " + temp_dir_;
    return r;
  }
  auto wav = wav_bytes(pcm, audio::pcm_rate);
  bool written = ::write(fd, wav.data(), wav.size()) == static_cast<ssize_t>(wav.size());
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    r.error = "cannot write the temp WAV";
    return r;
  }
  std::string cmd = command_;
  if (auto p = cmd.find("{}"); p != std::string::npos)
    cmd.replace(p, 2, shell_quote(path));
  else
    cmd += " " + shell_quote(path);
  std::string out;
  if (auto err = run_capturing(cmd, timeout_, out); !err.empty())
    r.error = err;
  ::unlink(path.c_str());
  if (r.ok())
    r.text = collapse_whitespace(out);
  return r;
}

} // namespace mediaspool::asr
