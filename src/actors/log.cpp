#include "actors/log.hpp"

#include "actors/json_log_formatter.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <iterator>
#include <mutex>

namespace mediaspool::log {

namespace {

std::mutex& mtx() {
  static std::mutex m;
  return m;
}

// Per-component levels from configure(); loggers created later pick theirs up in get().
std::map<std::string, spdlog::level::level_enum>& overrides() {
  static std::map<std::string, spdlog::level::level_enum> m;
  return m;
}

bool parse_level(const std::string& text, spdlog::level::level_enum& out) {
  auto lvl = spdlog::level::from_str(text);
  if (lvl == spdlog::level::off && text != "off")
    return false;
  out = lvl;
  return true;
}

} // namespace

std::shared_ptr<spdlog::logger> get(const char* name) {
  std::lock_guard<std::mutex> guard{mtx()};
  if (auto existing = spdlog::get(name))
    return existing;
  auto l = spdlog::stderr_color_mt(name);
  auto o = overrides().find(name);
  l->set_level(o != overrides().end() ? o->second : spdlog::get_level());
  return l;
}

bool configure(const settings& s) {
  spdlog::level::level_enum global;
  if (!parse_level(s.level, global) || (s.format != "text" && s.format != "json"))
    return false;
  std::map<std::string, spdlog::level::level_enum> levels;
  for (auto& [component, text] : s.levels) {
    if (text.empty())
      continue;
    if (!parse_level(text, levels[component]))
      return false;
  }
  std::lock_guard<std::mutex> guard{mtx()};
  spdlog::set_level(global);
  if (s.format == "json")
    spdlog::set_formatter(std::make_unique<json_formatter>());
  overrides() = levels;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    auto o = levels.find(l->name());
    if (o != levels.end())
      l->set_level(o->second);
  });
  return true;
}

bool set_level(const std::string& component, const std::string& level) {
  spdlog::level::level_enum lvl;
  if (!parse_level(level, lvl))
    return false;
  if (component == "all") {
    std::lock_guard<std::mutex> guard{mtx()};
    overrides().clear();
    spdlog::set_level(lvl); // every registered logger
    return true;
  }
  if (std::find(std::begin(components), std::end(components), component) == std::end(components))
    return false;
  auto l = get(component.c_str());
  std::lock_guard<std::mutex> guard{mtx()};
  overrides()[component] = lvl;
  l->set_level(lvl);
  return true;
}

std::map<std::string, std::string> levels() {
  std::map<std::string, std::string> out;
  for (const char* c : components) {
    auto view = spdlog::level::to_string_view(get(c)->level());
    out[c] = std::string(view.data(), view.size());
  }
  auto g = spdlog::level::to_string_view(spdlog::get_level());
  out["all"] = std::string(g.data(), g.size());
  return out;
}

} // namespace mediaspool::log
