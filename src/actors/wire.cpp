#include "actors/wire.hpp"

#include <algorithm>
#include <iterator>
#include <utility>
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
  std::sort(indexes.begin(), indexes.end()); // ascending: each add extends or appends in O(1)
  index_ranges out;
  for (auto i : indexes)
    add_range(out, i, i);
  return out;
}

void add_range(index_ranges& ranges, uint32_t first, uint32_t last) {
  if (first > last)
    std::swap(first, last);
  // Touching means overlapping or adjacent (x.second + 1 == first, without overflowing at max).
  auto touches = [](const std::pair<uint32_t, uint32_t>& x, uint32_t f) { return x.second >= f || x.second + 1 == f; };
  if (ranges.empty() || ranges.back().first <= first) {
    if (!ranges.empty() && touches(ranges.back(), first)) {
      ranges.back().second = std::max(ranges.back().second, last);
      return;
    }
    ranges.emplace_back(first, last);
    return;
  }
  // The first range that starts after `first`; the one before it may touch the new one.
  auto it = std::upper_bound(ranges.begin(), ranges.end(), first,
                             [](uint32_t f, const std::pair<uint32_t, uint32_t>& r) { return f < r.first; });
  if (it != ranges.begin() && touches(*std::prev(it), first)) {
    --it;
    it->second = std::max(it->second, last);
  } else {
    it = ranges.insert(it, {first, last});
  }
  // Swallow the ranges the grown one now reaches.
  auto next = std::next(it);
  while (next != ranges.end() && touches(*it, next->first)) {
    it->second = std::max(it->second, next->second);
    ++next;
  }
  ranges.erase(std::next(it), next);
}

bool in_ranges(const index_ranges& ranges, uint32_t index) noexcept {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), index,
                             [](uint32_t i, const std::pair<uint32_t, uint32_t>& r) { return i < r.first; });
  return it != ranges.begin() && std::prev(it)->second >= index;
}

uint64_t range_count(const index_ranges& ranges) noexcept {
  uint64_t n = 0;
  for (const auto& [first, last] : ranges)
    n += uint64_t{last} - first + 1;
  return n;
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
