#include "actors/storage_health.hpp"

namespace mediaspool {

void storage_health::report(store s, const storage::status& st) {
  if (st.ok()) {
    if (failing_[s].load(std::memory_order_acquire)) {
      failing_[s].store(false, std::memory_order_release);
      full_[s].store(false, std::memory_order_release);
    }
    return;
  }
  failures_[s].fetch_add(1, std::memory_order_relaxed);
  if (counters_[s])
    counters_[s]->inc();
  {
    std::lock_guard<std::mutex> guard{mutex_};
    last_error_[s] = st.message;
  }
  full_[s].store(st.code == storage::errc::no_space, std::memory_order_release);
  failing_[s].store(true, std::memory_order_release);
}

std::vector<std::string> storage_health::problems() const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto s : {spool, media})
    if (failing(s))
      out.push_back(std::string{s == spool ? "spool" : "media"} + ": writes failing: " + last_error_[s]);
  return out;
}

} // namespace mediaspool
