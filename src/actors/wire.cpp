#include "actors/wire.hpp"

#include <algorithm>
#include <cctype>

namespace mediaspool {

const char* to_string(ec code) noexcept {
  switch (code) {
    case ec::none: return "none";
    case ec::bad_json: return "bad_json";
    case ec::bad_message: return "bad_message";
    case ec::not_initialized: return "not_initialized";
    case ec::session_mismatch: return "session_mismatch";
    case ec::too_large: return "too_large";
    case ec::size_mismatch: return "size_mismatch";
    case ec::conflict: return "conflict";
    case ec::orphan_expired: return "orphan_expired";
    case ec::unauthorized: return "unauthorized";
    case ec::forbidden: return "forbidden";
    case ec::rate_limited: return "rate_limited";
    case ec::overloaded: return "overloaded";
    case ec::internal: return "internal";
  }
  return "internal";
}

index_ranges to_ranges(std::vector<uint32_t> indexes) {
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
  index_ranges out;
  for (auto i : indexes) {
    if (!out.empty() && out.back().second + 1 == i)
      out.back().second = i;
    else
      out.emplace_back(i, i);
  }
  return out;
}

bool is_uuid(const std::string& s) noexcept {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i])))
      return false;
  }
  return true;
}

} // namespace mediaspool
