#include "asr/command_engine.hpp"

#include "audio/audio_decoder.hpp"
#include "asr/wav.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

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

// Runs `cmd` with /bin/sh and collects its stdout; returns an error text or "". Unlike popen,
// the child gets only stdin (/dev/null), stdout (the pipe) and stderr: the server's sockets and
// files are not close-on-exec (Asio opens sockets without it), and a command holding them would
// keep closed client connections and the listening port alive for as long as it runs.
std::string run_capturing(const std::string& cmd, std::string& out) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return std::string{"cannot create a pipe for the asr command: "} + std::strerror(errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = -1;
  int spawn_err = ::posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawn_err != 0) {
    ::close(pipe_fds[0]);
    return std::string{"cannot run the asr command: "} + std::strerror(spawn_err);
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n > 0)
      out.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR)
      break;
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return std::string{"cannot wait for the asr command: "} + std::strerror(errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "asr command failed (" + (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                                       : "signal " + std::to_string(WTERMSIG(status))) + ")";
  return {};
}

} // namespace

command_engine::command_engine(std::string command, std::string temp_dir)
  : command_(std::move(command)), temp_dir_(std::move(temp_dir)) {}

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
  if (auto err = run_capturing(cmd, out); !err.empty())
    r.error = err;
  ::unlink(path.c_str());
  if (r.ok())
    r.text = collapse_whitespace(out);
  return r;
}

} // namespace mediaspool::asr
