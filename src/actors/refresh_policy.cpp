#include "actors/refresh_policy.hpp"

#include <algorithm>
#include <cmath>

namespace mediaspool {

double refresh_policy::spread_of(const std::string& session_id) const {
  if (cfg_.jitter <= 0)
    return 1.0;
  // FNV-1a, then splitmix64's finaliser so the last characters move the high bits too: stable
  // across runs and builds, unlike std::hash.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : session_id)
    h = (h ^ c) * 1099511628211ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  double unit = static_cast<double>(h >> 11) / static_cast<double>(1ull << 53); // [0, 1)
  double jitter = std::min(cfg_.jitter, 0.9); // a fraction must stay above 0
  return 1.0 - jitter + 2.0 * jitter * unit;
}

double refresh_policy::fraction_of(const std::string& session_id) const {
  return cfg_.fraction * spread_of(session_id);
}

std::chrono::milliseconds refresh_policy::interval_of(const std::string& session_id) const {
  return std::chrono::milliseconds{static_cast<int64_t>(
      std::llround(static_cast<double>(cfg_.min_interval.count()) * spread_of(session_id)))};
}

refresh_policy::session_state& refresh_policy::state_of(const std::string& session_id) {
  auto [it, inserted] = sessions_.try_emplace(session_id);
  if (inserted) {
    it->second.fraction = fraction_of(session_id);
    it->second.interval = interval_of(session_id);
  }
  return it->second;
}

void refresh_policy::added(const std::string& session_id, char kind, uint64_t count,
                           clock::time_point now) {
  auto& s = state_of(session_id);
  auto& a = kind == 'a' ? s.audio : kind == 'f' ? s.frames : s.responses;
  a.pending += count;
  a.last_added = now;
}

void refresh_policy::updated(const std::string& session_id, char kind, uint64_t count,
                             clock::time_point now) {
  added(session_id, kind, count, now);
  // `refreshed` adds pending to length; take the changed rows off first so the length stays.
  auto& s = state_of(session_id);
  auto& a = kind == 'a' ? s.audio : kind == 'f' ? s.frames : s.responses;
  a.length = a.length >= count ? a.length - count : 0;
}

bool refresh_policy::is_due(const array_state& a, const session_state& s, clock::time_point now) const {
  if (a.pending == 0)
    return false;
  if (now - a.last_added >= cfg_.idle_refresh)
    return true;
  auto threshold = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(s.fraction * static_cast<double>(a.length))));
  return a.pending >= threshold && (!a.last_refresh || now - *a.last_refresh >= s.interval);
}

std::optional<storage::pg_refresh> refresh_policy::due_of(const std::string& session_id, const session_state& s,
                                                          clock::time_point now) const {
  storage::pg_refresh r{session_id, is_due(s.audio, s, now), is_due(s.frames, s, now),
                        is_due(s.responses, s, now)};
  r.stale_after = (!r.audio && s.audio.pending > 0) || (!r.frames && s.frames.pending > 0)
                  || (!r.responses && s.responses.pending > 0);
  if (r.audio || r.frames || r.responses)
    return r;
  return std::nullopt;
}

std::vector<storage::pg_refresh> refresh_policy::due(clock::time_point now) const {
  std::vector<storage::pg_refresh> out;
  for (auto& [sid, s] : sessions_)
    if (auto r = due_of(sid, s, now))
      out.push_back(std::move(*r));
  return out;
}

std::vector<storage::pg_refresh> refresh_policy::due_among(const std::vector<std::string>& session_ids,
                                                           clock::time_point now) const {
  std::vector<storage::pg_refresh> out;
  for (auto& sid : session_ids)
    if (auto it = sessions_.find(sid); it != sessions_.end())
      if (auto r = due_of(sid, it->second, now))
        out.push_back(std::move(*r));
  return out;
}

refresh_policy::saved_state refresh_policy::save(const std::vector<std::string>& session_ids) const {
  saved_state saved;
  saved.sessions_.reserve(session_ids.size());
  for (auto& sid : session_ids) {
    auto it = sessions_.find(sid);
    saved.sessions_.emplace_back(sid, it == sessions_.end() ? std::nullopt : std::optional<session_state>{it->second});
  }
  return saved;
}

void refresh_policy::restore(saved_state&& saved) {
  for (auto& [sid, state] : saved.sessions_) {
    if (state)
      sessions_[sid] = *state;
    else
      sessions_.erase(sid);
  }
}

void refresh_policy::refreshed(const std::vector<storage::pg_refresh>& done, clock::time_point now,
                               const std::vector<storage::pg_rebuilt>& lengths) {
  for (auto& r : done) {
    auto it = sessions_.find(r.session_id);
    if (it == sessions_.end())
      continue;
    auto apply = [now](bool flag, array_state& a) {
      if (!flag)
        return;
      a.length += a.pending;
      a.pending = 0;
      a.last_refresh = now;
    };
    apply(r.audio, it->second.audio);
    apply(r.frames, it->second.frames);
    apply(r.responses, it->second.responses);
  }
  for (auto& l : lengths) {
    auto it = sessions_.find(l.session_id);
    if (it == sessions_.end())
      continue;
    auto measured = [](const std::optional<uint64_t>& n, array_state& a) {
      if (n)
        a.length = *n;
    };
    measured(l.audio, it->second.audio);
    measured(l.frames, it->second.frames);
    measured(l.responses, it->second.responses);
  }
}

} // namespace mediaspool
