#pragma once
// Named loggers of the actors layer (Redpanda's per-module loggers). Lines carry the actor id and
// the session id where there is one, so one grep of a session id tells its story.
#include <spdlog/spdlog.h>

#include <memory>

namespace mediaspool::log {

/// Returns the named logger, created on first use with the process-wide sinks and level.
std::shared_ptr<spdlog::logger> get(const char* name);

inline spdlog::logger& session() { static auto l = get("session"); return *l; }
inline spdlog::logger& spool() { static auto l = get("spool"); return *l; }
inline spdlog::logger& files() { static auto l = get("files"); return *l; }
inline spdlog::logger& db() { static auto l = get("db"); return *l; }
inline spdlog::logger& net() { static auto l = get("net"); return *l; }

} // namespace mediaspool::log
