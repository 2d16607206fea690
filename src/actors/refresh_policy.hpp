#pragma once
// When to rebuild a session's JSONB arrays from media_items while it records.
//
// Why: a JSONB array is rewritten whole on every change (STACK.md: 18 ms and 445 KB of WAL per
// append at 5,000 elements), so appending each item as it arrives costs O(length) per item.
// Items are instead inserted into media_items (flat ~0.5 KB WAL per row, the record of truth)
// and an array is rebuilt only when the items not yet in it reach `fraction` of its length, and
// at most once per `min_interval`. A rebuild of L elements then serves >= fraction*L new items,
// so the rebuild cost per item stays constant (about 1/fraction element writes) however long
// the session grows. Arrays are exact at session_end (finalize), and a session that stops
// receiving items gets one catch-up rebuild after `idle_refresh`.
// Each session's fraction and minimum interval are spread by `jitter` (one fixed factor in
// [1-jitter, 1+jitter] from a hash of its id): sessions that start together would otherwise
// rebuild at the same lengths, or (at full pace, where the interval decides) at the same
// moments, and PostgreSQL would take their rebuilds as one burst.
// Pure logic, no CAF and no I/O: time is passed in.
#include "storage/pg_store.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace mediaspool {

struct refresh_config {
  double fraction = 0.25;
  std::chrono::milliseconds min_interval{2000};
  std::chrono::milliseconds idle_refresh{30000};
  double jitter = 0.0; ///< 0: every session uses `fraction` exactly
};

class refresh_policy {
public:
  using clock = std::chrono::steady_clock;

  explicit refresh_policy(refresh_config cfg) : cfg_(cfg) {}

  /// `count` new rows of `kind` ('a', 'f', 'r') for a session were written.
  void added(const std::string& session_id, char kind, uint64_t count, clock::time_point now);

  /// `count` existing rows of `kind` were changed in place (e.g. a transcription merged into a
  /// chunk): the array is stale like after `added`, but its length does not grow.
  void updated(const std::string& session_id, char kind, uint64_t count, clock::time_point now);

  /// The arrays to rebuild now. Call `refreshed` with them once the rebuild committed.
  std::vector<storage::pg_refresh> due(clock::time_point now) const;

  /// Like `due`, among these sessions only: what a batch's own rows made due, in O(batch)
  /// instead of O(tracked sessions) (at 10,000 sessions the full scan was most of the batcher's
  /// time). Arrays that become due by time alone are left to a full `due`.
  std::vector<storage::pg_refresh> due_among(const std::vector<std::string>& session_ids,
                                             clock::time_point now) const;

  /// These sessions' state, for `restore` if the write of the rows `added` for them fails.
  class saved_state;
  saved_state save(const std::vector<std::string>& session_ids) const;
  void restore(saved_state&& saved);

  /// The rebuild of these arrays committed at `now`; `lengths`, where given, are what it wrote
  /// (a node that did not write a session's earlier rows has only its own rows to count).
  void refreshed(const std::vector<storage::pg_refresh>& done, clock::time_point now,
                 const std::vector<storage::pg_rebuilt>& lengths = {});

  /// The session was finalized: its arrays are exact, stop tracking it.
  void forget(const std::string& session_id) { sessions_.erase(session_id); }

  size_t tracked_sessions() const noexcept { return sessions_.size(); }

  /// The fraction `session_id` rebuilds at: cfg.fraction spread by cfg.jitter, fixed per id.
  double fraction_of(const std::string& session_id) const;

  /// The minimum interval between `session_id`'s rebuilds, spread by the same factor.
  std::chrono::milliseconds interval_of(const std::string& session_id) const;

private:
  struct array_state {
    uint64_t length = 0;   ///< elements in the array after the last rebuild (estimate)
    uint64_t pending = 0;  ///< rows written since
    std::optional<clock::time_point> last_refresh; ///< none yet: the first rebuild is not rate-limited
    clock::time_point last_added{};
  };
  struct session_state {
    array_state audio, frames, responses;
    double fraction = 0; ///< this session's, set when it is first seen
    std::chrono::milliseconds interval{0}; ///< likewise
  };

  std::optional<storage::pg_refresh> due_of(const std::string& session_id, const session_state& s,
                                            clock::time_point now) const;
  double spread_of(const std::string& session_id) const;
  bool is_due(const array_state& a, const session_state& s, clock::time_point now) const;
  session_state& state_of(const std::string& session_id);

  refresh_config cfg_;
  std::unordered_map<std::string, session_state> sessions_;
};

class refresh_policy::saved_state {
  friend class refresh_policy;
  /// Each session's state before, or nothing if it was not tracked.
  std::vector<std::pair<std::string, std::optional<session_state>>> sessions_;
};

} // namespace mediaspool
