#include "actors/json_log_formatter.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/common.h>
#include <spdlog/details/log_msg.h>

#include <cctype>
#include <cstdio>
#include <ctime>

namespace mediaspool::log {

namespace {

// 2026-01-02T03:04:05.678Z
std::string iso_utc(std::chrono::system_clock::time_point ts) {
  auto secs = std::chrono::system_clock::to_time_t(ts);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ts.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms < 0 ? ms + 1000 : ms));
  return buf;
}

// "session#12: ..." -> "session#12" (an actor name, '#', digits, ':'), else empty.
std::string_view actor_of(std::string_view msg) {
  auto hash = msg.find('#');
  if (hash == std::string_view::npos || hash == 0)
    return {};
  for (size_t i = 0; i < hash; ++i)
    if (!(std::isalnum(static_cast<unsigned char>(msg[i])) || msg[i] == '_'))
      return {};
  size_t end = hash + 1;
  while (end < msg.size() && std::isdigit(static_cast<unsigned char>(msg[end])))
    ++end;
  if (end == hash + 1 || end >= msg.size() || msg[end] != ':')
    return {};
  return msg.substr(0, end);
}

// The value of the first "sid=" token ("-" means none).
std::string_view sid_of(std::string_view msg) {
  for (size_t pos = msg.find("sid="); pos != std::string_view::npos; pos = msg.find("sid=", pos + 1)) {
    if (pos > 0 && (std::isalnum(static_cast<unsigned char>(msg[pos - 1])) || msg[pos - 1] == '_'))
      continue;
    auto start = pos + 4;
    auto end = start;
    while (end < msg.size() && !std::isspace(static_cast<unsigned char>(msg[end])) && msg[end] != ',' && msg[end] != ')')
      ++end;
    auto v = msg.substr(start, end - start);
    return v == "-" ? std::string_view{} : v;
  }
  return {};
}

} // namespace

std::string json_line(std::chrono::system_clock::time_point ts, std::string_view level, std::string_view component,
                      std::string_view msg) {
  nlohmann::ordered_json j;
  j["ts"] = iso_utc(ts);
  j["level"] = std::string(level);
  j["component"] = std::string(component);
  j["msg"] = std::string(msg);
  if (auto sid = sid_of(msg); !sid.empty())
    j["sid"] = std::string(sid);
  if (auto actor = actor_of(msg); !actor.empty())
    j["actor"] = std::string(actor);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void json_formatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  auto lvl = spdlog::level::to_string_view(msg.level);
  auto line = json_line(msg.time, std::string_view(lvl.data(), lvl.size()),
                        std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                        std::string_view(msg.payload.data(), msg.payload.size()));
  line += '\n';
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> json_formatter::clone() const {
  return std::make_unique<json_formatter>();
}

} // namespace mediaspool::log
