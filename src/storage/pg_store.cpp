#include "storage/pg_store.hpp"

#include "storage/pg_item_rows.hpp"
#include "storage/pg_run.hpp"

#include "faults/faults.hpp"
#include "storage/schema_sql.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <utility>

namespace mediaspool::storage {

namespace {

// Key of the transaction-scoped advisory lock that serialises migrations ("mspool" in ASCII):
// two nodes starting together would otherwise race on CREATE TABLE IF NOT EXISTS (which can
// fail with a unique violation on pg_type) and on ADD COLUMN.
constexpr int64_t migrate_lock_key = 0x6d73706f6f6c;

// The hash is a uint64 (XXH3-64) but PostgreSQL has no unsigned type: it is stored in a BIGINT
// bit for bit (pg_item_rows.cpp writes it so). static_cast between int64_t and uint64_t is a
// modular conversion, so the round trip is exact (values >= 2^63 read back as negative BIGINTs).
uint64_t from_bigint(int64_t x) noexcept { return static_cast<uint64_t>(x); }

// -- statements ---------------------------------------------------------------------------------

// One of a session's derived arrays: which items it holds and where it lives in the row.
struct array_spec {
  char kind;
  const char* column;
  const char* total; // nullptr: the array has no total column
};

constexpr array_spec arrays[] = {
  {'a', "audio_chunks", "total_chunks"},
  {'f', "video_frames", "total_frames"},
  {'r', "responses", nullptr},
};
constexpr unsigned all_arrays = 7;

constexpr const char* sessions_sql =
  "INSERT INTO media_sessions (session_id, interview_session_id, user_id, storage_path) "
  "SELECT x.session_id, x.interview_session_id, x.user_id, x.storage_path "
  "FROM jsonb_to_recordset($1::jsonb) AS x(session_id text, interview_session_id integer, "
  "user_id integer, storage_path text) "
  "ORDER BY x.session_id "
  "ON CONFLICT (session_id) DO NOTHING";

// Rows are inserted in key order so that concurrent writers take row locks in one order.
constexpr const char* items_select =
  "INSERT INTO media_items (session_id, kind, idx, hash, size, element) "
  "SELECT x.session_id, x.kind, x.idx, x.hash, x.size, x.element "
  "FROM jsonb_to_recordset($1::jsonb) AS x(session_id text, kind text, idx bigint, "
  "hash bigint, size bigint, element jsonb) "
  "ORDER BY x.session_id, x.kind, x.idx ";

// Media: a replay (or a resent item) inserts nothing; the stored element stays.
const std::string media_sql = std::string{items_select}
                              + "ON CONFLICT (session_id, kind, idx) DO NOTHING";

// Responses: the newest element wins. An identical replay updates nothing (no dead tuple).
const std::string responses_sql =
  std::string{items_select}
  + "ON CONFLICT (session_id, kind, idx) DO UPDATE "
    "SET element = EXCLUDED.element, hash = EXCLUDED.hash, size = EXCLUDED.size "
    "WHERE (media_items.element, media_items.hash, media_items.size) "
    "IS DISTINCT FROM (EXCLUDED.element, EXCLUDED.hash, EXCLUDED.size)";

constexpr const char* session_insert_sql =
  "INSERT INTO media_sessions (session_id, interview_session_id, user_id, storage_path, node_id) "
  "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO NOTHING RETURNING id";
constexpr const char* session_touch_sql =
  "UPDATE media_sessions SET last_activity = now(), node_id = COALESCE($2, node_id) WHERE session_id = $1 "
  "RETURNING user_id";
constexpr const char* session_node_sql = "SELECT coalesce(node_id, '') FROM media_sessions WHERE session_id = $1";
// Runs of consecutive indexes ("gaps and islands": within a run, idx minus its rank is constant),
// so a session 30 minutes old answers with one row per kind instead of ~1,080.
constexpr const char* held_ranges_sql =
  "SELECT kind, min(idx), max(idx) FROM (SELECT kind, idx, idx - row_number() OVER (PARTITION BY kind ORDER BY idx) "
  "AS run FROM media_items WHERE session_id = $1 AND kind IN ('a', 'f')) AS r GROUP BY kind, run ORDER BY kind, 2";
constexpr const char* find_item_sql =
  "SELECT hash, size FROM media_items WHERE session_id = $1 AND kind = $2 AND idx = $3";
// Marks sessions (a JSON array of ids) whose arrays now lag their rows: a batch's sessions that
// its refreshes do not catch up, and those of merged transcripts (pg_queries.cpp). Written only
// when the mark changes, so once per rebuild cycle, not per batch; the = ANY scan takes the row
// locks in index order, as the refreshes do.
constexpr const char* mark_stale_sql =
  "UPDATE media_sessions SET arrays_stale = true "
  "WHERE session_id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb))) AND NOT arrays_stale";
constexpr const char* stale_sessions_sql = "SELECT session_id FROM media_sessions WHERE arrays_stale";
constexpr const char* lengths_sql =
  "SELECT COALESCE(jsonb_array_length(audio_chunks), 0), "
  "COALESCE(jsonb_array_length(video_frames), 0) FROM media_sessions WHERE session_id = $1";

// Rebuilds the arrays whose bit is set in `mask` (bit i = arrays[i]) from media_items, sorted by
// index, with each total computed from the same rows as its array (so they cannot disagree).
// Arrays not named are not assigned at all: rewriting an unchanged TOASTed array would cost its
// full size in WAL. SQL is assembled from the constants above only, never from data.
std::string refresh_sql(unsigned mask, bool finalize, bool complete) {
  std::string set = "last_activity = now()";
  std::string from;
  for (unsigned i = 0; i < 3; ++i) {
    if ((mask & (1u << i)) == 0)
      continue;
    const auto& a = arrays[i];
    const std::string alias = std::string{"agg_"} + a.kind;
    set += std::string{", "} + a.column + " = " + alias + ".arr";
    if (a.total != nullptr)
      set += std::string{", "} + a.total + " = " + alias + ".n";
    from += from.empty() ? " FROM " : ", ";
    // to_jsonb(array_agg(...)) builds the same array as jsonb_agg(...) in about half the time
    // (2,000 frame elements: 2.9 against 5.2 ms; README, "flat cost"): jsonb_agg re-parses each
    // element into its builder, array_agg only collects the datums.
    from += std::string{"(SELECT COALESCE(to_jsonb(array_agg(element ORDER BY idx)), '[]'::jsonb) AS arr, "
                        "count(*)::integer AS n FROM media_items "
                        "WHERE session_id = $1 AND kind = '"}
            + a.kind + "') AS " + alias;
  }
  // A finalize rebuilds every array; a refresh says whether others still lag ($2).
  set += finalize ? ", arrays_stale = false" : ", arrays_stale = $2";
  if (complete)
    set += ", status = 'completed', completed_at = COALESCE(s.completed_at, now())";
  std::string sql = "UPDATE media_sessions AS s SET " + set + from + " WHERE s.session_id = $1";
  if (finalize) {
    sql += " RETURNING s.total_chunks, s.total_frames";
  } else if (!from.empty()) {
    // The lengths written, in array order, so the refresh policy measures from them.
    std::string lengths;
    for (unsigned i = 0; i < 3; ++i)
      if ((mask & (1u << i)) != 0)
        lengths += std::string{lengths.empty() ? "" : ", "} + "agg_" + arrays[i].kind + ".n";
    sql += " RETURNING " + lengths;
  }
  return sql;
}

// One refresh's RETURNING row: a column per array of `mask`, in array order (refresh_sql).
pg_rebuilt rebuilt_lengths(const std::string& session_id, unsigned mask, const pqxx::row& row) {
  pg_rebuilt out{session_id, std::nullopt, std::nullopt, std::nullopt};
  std::optional<uint64_t>* slots[3] = {&out.audio, &out.frames, &out.responses};
  pqxx::row::size_type col = 0;
  for (unsigned i = 0; i < 3; ++i)
    if ((mask & (1u << i)) != 0)
      *slots[i] = static_cast<uint64_t>(row[col++].as<int64_t>(0));
  return out;
}

std::string refresh_name(unsigned mask) { return "ms_refresh_" + std::to_string(mask); }
constexpr const char* finalize_name = "ms_finalize";
constexpr const char* finalize_complete_name = "ms_finalize_complete";

void prepare_all(pqxx::connection& c) {
  c.prepare("ms_sessions", sessions_sql);
  c.prepare("ms_media", media_sql);
  c.prepare("ms_responses", responses_sql);
  c.prepare("ms_session_insert", session_insert_sql);
  c.prepare("ms_session_touch", session_touch_sql);
  c.prepare("ms_held_ranges", held_ranges_sql);
  c.prepare("ms_find_item", find_item_sql);
  c.prepare("ms_session_node", session_node_sql);
  c.prepare("ms_lengths", lengths_sql);
  c.prepare("ms_mark_stale", mark_stale_sql);
  for (unsigned mask = 0; mask <= all_arrays; ++mask)
    c.prepare(refresh_name(mask), refresh_sql(mask, false, false));
  c.prepare(finalize_name, refresh_sql(all_arrays, true, false));
  c.prepare(finalize_complete_name, refresh_sql(all_arrays, true, true));
}

} // namespace

// -- pg_store -----------------------------------------------------------------------------------

pg_store::pg_store(std::string url) : url_(std::move(url)) {}

pg_store::~pg_store() = default;

status pg_store::connect() {
  if (conn_ && conn_->c.is_open())
    return status::success();
  conn_.reset();
  try {
    auto c = std::make_unique<connection>(url_);
    // Lazy in libpqxx 6.4: registered with the server on first use, once per connection.
    prepare_all(c->c);
    conn_ = std::move(c);
    return status::success();
  } catch (const std::exception& e) {
    return {errc::db_unavailable, std::string{"connect: "} + e.what()};
  }
}

status pg_store::migrate() {
  return run("migrate", [](pqxx::connection& c) {
    pqxx::work w{c};
    w.exec_params("SELECT pg_advisory_xact_lock($1)", migrate_lock_key);
    w.exec(schema_sql);
    w.commit();
  });
}

status pg_store::ensure_session(const pg_session& s, bool& existed, std::optional<int64_t>* owner) {
  std::vector<pg_ensured> out;
  auto st = ensure_sessions({s}, out);
  if (st.ok()) {
    existed = out[0].existed;
    if (owner)
      *owner = out[0].owner;
  }
  return st;
}

status pg_store::ensure_sessions(const std::vector<pg_session>& sessions, std::vector<pg_ensured>& out) {
  std::vector<size_t> order(sessions.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sessions[a].session_id < sessions[b].session_id; });
  return run("ensure_sessions", [&](pqxx::connection& c) {
    std::vector<pg_ensured> found(sessions.size());
    pqxx::work w{c};
    for (auto i : order) {
      const auto& s = sessions[i];
      auto r = w.exec_prepared("ms_session_insert", s.session_id, s.interview_session_id, s.user_id, s.storage_path,
                               s.node_id);
      found[i].existed = r.empty();
      found[i].owner = s.user_id;
      if (found[i].existed) {
        auto t = w.exec_prepared("ms_session_touch", s.session_id, s.node_id);
        found[i].owner.reset();
        if (!t.empty() && !t[0][0].is_null())
          found[i].owner = t[0][0].as<int64_t>();
      }
    }
    w.commit();
    out = std::move(found);
  });
}

std::optional<std::string> pg_store::session_node(const std::string& session_id, status& st) {
  std::optional<std::string> node;
  st = run("session_node", [&](pqxx::connection& c) {
    pqxx::nontransaction n{c};
    auto r = n.exec_prepared("ms_session_node", session_id);
    node.reset();
    if (!r.empty())
      node = r[0][0].as<std::string>();
  });
  return st.ok() ? node : std::nullopt;
}

std::vector<held_range> pg_store::held_ranges(const std::string& session_id, status& st) {
  std::vector<held_range> out;
  st = run("held_ranges", [&](pqxx::connection& c) {
    out.clear();
    pqxx::nontransaction n{c};
    auto r = n.exec_prepared("ms_held_ranges", session_id);
    out.reserve(r.size());
    for (const auto& row : r)
      out.push_back({row[0].as<std::string>().at(0), static_cast<uint32_t>(row[1].as<int64_t>()),
                     static_cast<uint32_t>(row[2].as<int64_t>())});
  });
  if (!st.ok())
    out.clear();
  return out;
}

std::optional<held_item> pg_store::find_item(const item_key& key, status& st) {
  std::optional<held_item> out;
  st = run("find_item", [&](pqxx::connection& c) {
    out.reset();
    pqxx::nontransaction n{c};
    auto r = n.exec_prepared("ms_find_item", key.session_id, std::string(1, key.kind), int64_t{key.index});
    if (!r.empty())
      out = held_item{key.kind, key.index, from_bigint(r[0][0].as<int64_t>()), from_bigint(r[0][1].as<int64_t>())};
  });
  if (!st.ok())
    out.reset();
  return out;
}

status pg_store::write_batch(const std::vector<pg_session>& sessions,
                             const std::vector<pg_item>& items,
                             const std::vector<pg_refresh>& refresh, std::vector<pg_rebuilt>* rebuilt) {
  if (sessions.empty() && items.empty() && refresh.empty())
    return status::success();
  const auto masks = merge_refresh(refresh);
  batch_payload payload;
  try {
    if (auto st = build_payload(sessions, items, masks, payload); !st.ok())
      return st;
  } catch (const std::exception& e) {
    return {errc::invalid_argument, std::string{"write_batch: "} + e.what()};
  }
  return run("write_batch", [&](pqxx::connection& c) {
    pqxx::work w{c};
    if (!payload.sessions.empty())
      w.exec_prepared("ms_sessions", payload.sessions);
    if (!payload.media.empty())
      w.exec_prepared("ms_media", payload.media);
    if (!payload.responses.empty())
      w.exec_prepared("ms_responses", payload.responses);
    if (!payload.stale.empty())
      w.exec_prepared("ms_mark_stale", payload.stale);
    std::vector<pg_rebuilt> lengths;
    for (const auto& [sid, m] : masks) {
      auto r = w.exec_prepared(refresh_name(m.mask), sid, m.stale_after);
      if (rebuilt != nullptr && !r.empty())
        lengths.push_back(rebuilt_lengths(sid, m.mask, r[0]));
    }
    // A named crash point for the kill -9 tests: the rows are written, not committed.
    if (!items.empty())
      faults::reach("mid-batch");
    w.commit();
    if (rebuilt != nullptr)
      *rebuilt = std::move(lengths);
  });
}

status pg_store::finalize(const std::string& session_id, bool complete, pg_totals& totals) {
  bool found = false;
  auto st = run("finalize", [&](pqxx::connection& c) {
    pqxx::work w{c};
    auto r = w.exec_prepared(complete ? finalize_complete_name : finalize_name, session_id);
    w.commit();
    found = !r.empty();
    if (found) {
      totals.chunks = static_cast<uint64_t>(r[0][0].as<int64_t>(0));
      totals.frames = static_cast<uint64_t>(r[0][1].as<int64_t>(0));
    }
  });
  if (st.ok() && !found)
    return {errc::invalid_argument, "finalize: no session row for " + session_id};
  return st;
}

status pg_store::stale_sessions(std::vector<std::string>& out) {
  return run("stale_sessions", [&](pqxx::connection& c) {
    pqxx::nontransaction n{c};
    auto r = n.exec(stale_sessions_sql);
    out.clear();
    out.reserve(r.size());
    for (const auto& row : r)
      out.push_back(row[0].as<std::string>());
  });
}

status pg_store::array_lengths(const std::string& session_id, pg_totals& totals) {
  return run("array_lengths", [&](pqxx::connection& c) {
    pqxx::nontransaction n{c};
    auto r = n.exec_prepared("ms_lengths", session_id);
    totals = {};
    if (!r.empty()) {
      totals.chunks = static_cast<uint64_t>(r[0][0].as<int64_t>());
      totals.frames = static_cast<uint64_t>(r[0][1].as<int64_t>());
    }
  });
}

status pg_store::ping() {
  return run("ping", [](pqxx::connection& c) {
    pqxx::nontransaction n{c};
    n.exec("SELECT 1");
  });
}

} // namespace mediaspool::storage
