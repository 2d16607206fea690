#include "faults/faults.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <mutex>
#include <thread>

#include <unistd.h>

namespace mediaspool::faults {

namespace {

struct armed_rule {
  io_fault fault;
  uint64_t calls = 0; ///< matching calls seen since it was armed
};

struct registry {
  std::mutex mutex;
  std::vector<armed_rule> rules;
  std::optional<crash_point> crash;
  uint64_t crash_passages = 0;
};

registry& state() {
  static registry r;
  return r;
}

// The fast path: nothing armed means no lock.
std::atomic<bool> io_armed{false};
std::atomic<bool> crash_armed{false};
std::atomic<uint64_t> injected{0};

constexpr std::string_view crash_names[] = {"after-spool-sync", "after-file-before-db", "mid-batch"};

const char* name_of(io_scope s) { return s == io_scope::spool ? "spool" : "media"; }

const char* name_of(io_op op) {
  switch (op) {
    case io_op::write: return "write";
    case io_op::sync: return "sync";
    default: return "rename";
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// "<head>@N": splits off N (default 1); false on a bad or zero N.
bool split_count(std::string_view& head, uint64_t& nth) {
  nth = 1;
  auto at = head.find('@');
  if (at == std::string_view::npos)
    return true;
  auto digits = head.substr(at + 1);
  head = head.substr(0, at);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), nth);
  return ec == std::errc{} && end == digits.data() + digits.size() && nth > 0;
}

std::optional<io_fault> parse_one(std::string_view spec, std::string& error) {
  io_fault f;
  std::vector<std::string_view> parts;
  for (size_t pos = 0;;) {
    auto colon = spec.find(':', pos);
    parts.push_back(trim(spec.substr(pos, colon == std::string_view::npos ? colon : colon - pos)));
    if (colon == std::string_view::npos)
      break;
    pos = colon + 1;
  }
  auto head = parts[0];
  if (!split_count(head, f.nth)) {
    error = "bad call count in '" + std::string{spec} + "' (want @N with N >= 1)";
    return std::nullopt;
  }
  auto dot = head.find('.');
  auto scope = head.substr(0, dot);
  auto op = dot == std::string_view::npos ? std::string_view{} : head.substr(dot + 1);
  if (scope == "spool")
    f.scope = io_scope::spool;
  else if (scope == "media")
    f.scope = io_scope::media;
  else {
    error = "unknown scope in '" + std::string{spec} + "' (want spool or media)";
    return std::nullopt;
  }
  if (op == "write")
    f.op = io_op::write;
  else if (op == "sync")
    f.op = io_op::sync;
  else if (op == "rename")
    f.op = io_op::rename;
  else {
    error = "unknown operation in '" + std::string{spec} + "' (want write, sync or rename)";
    return std::nullopt;
  }
  bool named_error = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i] == "persistent")
      f.persistent = true;
    else if (parts[i] == "once")
      f.persistent = false;
    else if (parts[i] == "EIO" || parts[i] == "ENOSPC") {
      f.error = parts[i] == "EIO" ? EIO : ENOSPC;
      named_error = true;
    } else if (parts[i].substr(0, 5) == "slow=") {
      auto ms = parts[i].substr(5);
      auto [end, ec] = std::from_chars(ms.data(), ms.data() + ms.size(), f.slow_ms);
      if (ec != std::errc{} || end != ms.data() + ms.size() || f.slow_ms < 1 || f.slow_ms > 60000) {
        error = "bad delay in '" + std::string{spec} + "' (want slow=MS with MS from 1 to 60000)";
        return std::nullopt;
      }
    } else {
      error = "unknown option '" + std::string{parts[i]} + "' (want persistent, once, EIO, ENOSPC or slow=MS)";
      return std::nullopt;
    }
  }
  if (f.slow_ms > 0 && !named_error)
    f.error = 0;
  return f;
}

} // namespace

std::optional<std::vector<io_fault>> parse_io_faults(std::string_view spec, std::string& error) {
  std::vector<io_fault> out;
  for (size_t pos = 0; pos <= spec.size();) {
    auto comma = spec.find(',', pos);
    auto one = trim(spec.substr(pos, comma == std::string_view::npos ? comma : comma - pos));
    if (!one.empty()) {
      auto f = parse_one(one, error);
      if (!f)
        return std::nullopt;
      out.push_back(*f);
    }
    if (comma == std::string_view::npos)
      break;
    pos = comma + 1;
  }
  return out;
}

void arm_io_faults(std::vector<io_fault> faults) {
  auto& r = state();
  std::lock_guard<std::mutex> guard{r.mutex};
  r.rules.clear();
  for (auto& f : faults)
    r.rules.push_back({f, 0});
  io_armed.store(!r.rules.empty(), std::memory_order_release);
}

int injected_io_error(io_scope scope, io_op op) noexcept {
  if (!io_armed.load(std::memory_order_acquire))
    return 0;
  auto& r = state();
  int error = 0;
  uint32_t slow_ms = 0;
  {
    std::lock_guard<std::mutex> guard{r.mutex};
    for (auto& rule : r.rules) {
      if (rule.fault.scope != scope || rule.fault.op != op)
        continue;
      ++rule.calls;
      if (rule.calls == rule.fault.nth || (rule.fault.persistent && rule.calls > rule.fault.nth)) {
        error = error != 0 ? error : rule.fault.error;
        slow_ms = std::max(slow_ms, rule.fault.slow_ms);
      }
    }
  }
  if (error != 0 || slow_ms > 0)
    injected.fetch_add(1, std::memory_order_relaxed);
  // Outside the lock: other writers' calls are not held behind this one's delay.
  if (slow_ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
  return error;
}

bool fail_call(io_scope scope, io_op op) noexcept {
  if (int e = injected_io_error(scope, op)) {
    errno = e;
    return true;
  }
  return false;
}

std::optional<crash_point> parse_crash_point(std::string_view spec, std::string& error) {
  crash_point p;
  auto head = trim(spec);
  if (!split_count(head, p.nth)) {
    error = "bad passage count in '" + std::string{spec} + "' (want @N with N >= 1)";
    return std::nullopt;
  }
  for (auto name : crash_names)
    if (head == name) {
      p.name = std::string{name};
      return p;
    }
  error = "unknown crash point '" + std::string{head} + "' (want after-spool-sync, after-file-before-db or mid-batch)";
  return std::nullopt;
}

void arm_crash_point(std::optional<crash_point> point) {
  auto& r = state();
  std::lock_guard<std::mutex> guard{r.mutex};
  r.crash = std::move(point);
  r.crash_passages = 0;
  crash_armed.store(r.crash.has_value(), std::memory_order_release);
}

void reach(std::string_view point) noexcept {
  if (!crash_armed.load(std::memory_order_acquire))
    return;
  auto& r = state();
  std::lock_guard<std::mutex> guard{r.mutex};
  if (!r.crash || r.crash->name != point || ++r.crash_passages != r.crash->nth)
    return;
  // What a power cut or the OOM killer does: no destructors, no flushing, no goodbye.
  ::kill(::getpid(), SIGKILL);
  ::_exit(137); // not reached
}

std::string describe() {
  auto& r = state();
  std::lock_guard<std::mutex> guard{r.mutex};
  std::string out = "io-faults=";
  for (size_t i = 0; i < r.rules.size(); ++i) {
    auto& f = r.rules[i].fault;
    out += (i ? "," : "");
    out += std::string{name_of(f.scope)} + "." + name_of(f.op) + "@" + std::to_string(f.nth)
           + (f.persistent ? ":persistent" : ":once") + (f.error == ENOSPC ? ":ENOSPC" : f.error != 0 ? ":EIO" : "")
           + (f.slow_ms > 0 ? ":slow=" + std::to_string(f.slow_ms) : "");
  }
  out += " crash-at=";
  if (r.crash)
    out += r.crash->name + "@" + std::to_string(r.crash->nth);
  out += " injected=" + std::to_string(injected.load(std::memory_order_relaxed));
  return out;
}

uint64_t io_failures_injected() noexcept { return injected.load(std::memory_order_relaxed); }

} // namespace mediaspool::faults
