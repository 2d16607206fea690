#include "support/child_process.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace mediaspool::test {

using namespace std::chrono_literals;

pid_t spawn_child(const std::vector<std::string>& args, const std::filesystem::path& log,
                  const std::vector<std::string>& drop_env) {
  REQUIRE(!args.empty());
  // Everything the child needs is built before fork(): after it, only async-signal-safe calls.
  std::vector<std::string> owned = args;
  std::vector<char*> argv;
  for (auto& a : owned)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    bool drop = false;
    for (auto& name : drop_env)
      drop = drop || (std::strncmp(*e, name.c_str(), name.size()) == 0 && (*e)[name.size()] == '=');
    if (!drop)
      envp.push_back(*e);
  }
  envp.push_back(nullptr);
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE_MESSAGE(log_fd >= 0, "cannot open " << log.string() << ": " << std::strerror(errno));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    const int err = errno;
    ::close(log_fd);
    FAIL("cannot open /dev/null: " << std::strerror(err));
  }

  pid_t pid = ::fork();
  if (pid == 0) {
    // A test binary killed by ctest's timeout must not leave children behind. (PDEATHSIG follows
    // the forking thread, which is the test's main thread here.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    // The test's own sockets (clients of an earlier server) must not live on in the child.
    ::close_range(3, ~0U, 0);
    ::execve(argv[0], argv.data(), envp.data());
    // strerror is not async-signal-safe: report the errno number digit by digit.
    char msg[] = "test harness: execve failed, errno 000\n";
    const int err = errno;
    msg[sizeof msg - 5] = static_cast<char>('0' + err / 100 % 10);
    msg[sizeof msg - 4] = static_cast<char>('0' + err / 10 % 10);
    msg[sizeof msg - 3] = static_cast<char>('0' + err % 10);
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  ::close(null_fd);
  REQUIRE_MESSAGE(pid > 0, "fork failed: " << std::strerror(fork_errno));
  return pid;
}

std::optional<int> reap_child(pid_t pid, std::chrono::milliseconds timeout) {
  REQUIRE(pid > 0); // waitpid(-1 or 0) would reap any child of the test
  // Re-check every few ms: short enough to keep tests fast, long enough not to spin a shared
  // 2-core machine.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r < 0 && errno == ECHILD)
      return 255 << 8; // gone, reaped elsewhere: "exit status 255", never mistaken for success
    if (std::chrono::steady_clock::now() > deadline)
      return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

} // namespace mediaspool::test
