#include "support/server_process.hpp"

#include "support/child_process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <thread>

namespace mediaspool::test {

namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

// Deadline polls re-check a state every few ms: short enough to keep tests fast, long enough not
// to spin a shared 2-core machine.
constexpr auto poll_interval = 5ms;

std::optional<uint16_t> read_port(const fs::path& file) {
  std::ifstream in{file};
  unsigned port = 0;
  if (in >> port && port > 0 && port < 65536)
    return static_cast<uint16_t>(port);
  return std::nullopt;
}

} // namespace

server_process::server_process(std::string db_url, std::vector<std::string> extra_args)
  : db_url_(std::move(db_url)), extra_args_(std::move(extra_args)) {
  const char* bin = std::getenv("MEDIASPOOL_BIN");
  if (bin == nullptr || *bin == '\0')
    FAIL("MEDIASPOOL_BIN is not set: export MEDIASPOOL_BIN=<build>/src/mediaspool (scripts/test.sh does)");
  bin_ = bin;
  if (!fs::exists(bin_))
    FAIL("MEDIASPOOL_BIN names no file: " << bin_);
  std::function<void(std::ostream*)> show = [this](std::ostream* s) {
    *s << "server log " << log_path().string() << " (last lines):\n" << log_tail();
  };
  log_scope_ = std::make_unique<doctest::detail::ContextScope<std::function<void(std::ostream*)>>>(std::move(show));
  start();
}

server_process::~server_process() {
  if (running())
    stop(5s);
}

void server_process::start() {
  const fs::path port_file = dir_ / "port";
  std::error_code ignored;
  fs::remove(port_file, ignored);

  std::vector<std::string> args{bin_,
                                "--server.port=0",
                                "--server.port-file=" + port_file.string(),
                                "--spool.path=" + spool_path().string(),
                                "--media.root=" + media_root().string(),
                                "--db.url=" + db_url_};
  if (std::none_of(extra_args_.begin(), extra_args_.end(), [](const std::string& a) { return a.rfind("--asr.", 0) == 0; }))
    args.push_back("--asr.enabled=false");
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  {
    std::ofstream(log_path(), std::ios::app) << "==== test harness: starting " << bin_ << " ====\n";
  }
  // MEDIASPOOL_DB_URL would override --db.url and point the server away from the test's schema.
  pid_ = spawn_child(args, log_path(), {"MEDIASPOOL_DB_URL"});

  // Migration retries while PostgreSQL starts up, so allow a generous deadline; an early exit
  // (bad flag, no database) fails at once with the log shown.
  const auto deadline = clock::now() + 30s;
  for (;;) {
    if (auto p = read_port(port_file)) {
      port_ = *p;
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("the server exited before listening (status " << status << ")");
    }
    if (clock::now() > deadline) {
      kill9();
      FAIL("the server did not write its port file within 30 s");
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

std::optional<int> server_process::reap(std::chrono::milliseconds timeout) {
  auto status = reap_child(pid_, timeout);
  if (status)
    pid_ = -1;
  return status;
}

void server_process::kill9() {
  if (!running())
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  port_ = 0;
}

void server_process::signal(int sig) {
  if (running())
    ::kill(pid_, sig);
}

bool server_process::stop(std::chrono::milliseconds timeout) {
  if (!running())
    return false;
  ::kill(pid_, SIGTERM);
  port_ = 0;
  if (auto status = reap(timeout)) {
    bool clean = WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
    if (!clean)
      MESSAGE("the server's exit after SIGTERM: " << (WIFEXITED(*status) ? "status " : "signal ")
                                                    << (WIFEXITED(*status) ? WEXITSTATUS(*status) : WTERMSIG(*status)));
    return clean;
  }
  MESSAGE("the server ignored SIGTERM for " << timeout.count() << " ms; sending SIGKILL");
  kill9();
  return false;
}

void server_process::restart() {
  if (running())
    stop();
  start();
}

void server_process::restart(std::vector<std::string> extra_args) {
  if (running())
    stop();
  extra_args_ = std::move(extra_args);
  start();
}

std::optional<int> server_process::wait_exit(std::chrono::milliseconds timeout) {
  if (!running())
    return 0;
  auto status = reap(timeout);
  if (!status)
    return std::nullopt;
  port_ = 0;
  return WIFSIGNALED(*status) ? WTERMSIG(*status) : 0;
}

uint64_t server_process::rss_bytes() const {
  if (!running())
    return 0;
  std::ifstream in{"/proc/" + std::to_string(pid_) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024; // "VmRSS:   12345 kB"
  return 0;
}

std::string server_process::log_tail(size_t lines) const {
  std::ifstream in{log_path()};
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines)
      last.pop_front();
  }
  std::ostringstream out;
  for (auto& l : last)
    out << "  | " << l << '\n';
  return out.str();
}

std::string server_process::wait_for_log(const std::function<bool(const std::string&)>& done,
                                         std::chrono::milliseconds timeout) const {
  std::string log;
  for (auto deadline = std::chrono::steady_clock::now() + timeout;; std::this_thread::sleep_for(50ms)) { // poll
    std::ifstream in{log_path()};
    log.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
    if (done(log) || std::chrono::steady_clock::now() >= deadline)
      return log;
  }
}

std::string server_process::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const {
  return wait_for_log([&](const std::string& log) { return log.find(text) != std::string::npos; }, timeout);
}

} // namespace mediaspool::test
