#pragma once
// JSON-lines log output for log shippers (log.format = "json"): one object per line with ts,
// level, component, msg, and sid / actor when the text line carries them ("session#12: sid=<uuid>
// ..."). The text lines themselves stay as they are; this only re-encodes them.
#include <spdlog/formatter.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace mediaspool::log {

/// One JSON object (no newline) for a line of `component` at `level` logged at `ts`.
std::string json_line(std::chrono::system_clock::time_point ts, std::string_view level, std::string_view component,
                      std::string_view msg);

class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

} // namespace mediaspool::log
