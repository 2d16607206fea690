#include "actors/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace mediaspool::log {

std::shared_ptr<spdlog::logger> get(const char* name) {
  static std::mutex mtx;
  std::lock_guard<std::mutex> guard{mtx};
  if (auto existing = spdlog::get(name))
    return existing;
  auto l = spdlog::stderr_color_mt(name);
  l->set_level(spdlog::get_level());
  return l;
}

} // namespace mediaspool::log
