#pragma once
// Named loggers of the actors layer (Redpanda's per-module loggers). Lines carry the actor id and
// the session id where there is one, so one grep of a session id tells its story.
#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <string>

namespace mediaspool::log {

/// How the process logs (config [log]): a global level, per-component levels, text or JSON lines.
struct settings {
  std::string level = "info";                ///< trace, debug, info, warn, error, critical, off
  std::string format = "text";               ///< "text" (terminals) or "json" (one object per line)
  std::map<std::string, std::string> levels; ///< component -> level; empty value = the global level
};

/// Applies `s` to every logger, existing and future; call once in main before the actors start.
/// Returns false (and changes nothing) if a level or the format is not known.
bool configure(const settings& s);

/// Changes one component's level while the process runs ("all": every logger and the global
/// level). False (nothing changed) if the component or the level is not known.
bool set_level(const std::string& component, const std::string& level);

/// The current level of every component, plus "all" (the global level).
std::map<std::string, std::string> levels();

/// The components (named loggers).
inline const char* const components[] = {"session", "spool", "files", "db", "net", "asr"};

/// Returns the named logger, created on first use with the process-wide sinks and level.
std::shared_ptr<spdlog::logger> get(const char* name);

inline spdlog::logger& session() { static auto l = get("session"); return *l; }
inline spdlog::logger& spool() { static auto l = get("spool"); return *l; }
inline spdlog::logger& files() { static auto l = get("files"); return *l; }
inline spdlog::logger& db() { static auto l = get("db"); return *l; }
inline spdlog::logger& net() { static auto l = get("net"); return *l; }
inline spdlog::logger& asr() { static auto l = get("asr"); return *l; }

} // namespace mediaspool::log
