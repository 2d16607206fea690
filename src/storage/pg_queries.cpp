// pg_store's queries for the review API and the transcriber (the ingest path and the schema
// live in pg_store.cpp).
#include "storage/pg_run.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

// -- review queries -----------------------------------------------------------------------------

namespace mediaspool::storage {

namespace {

// Counts and duration come from media_items (the record of truth), so a list taken while a
// session records does not wait for the next refresh of the row's arrays.
constexpr const char* list_sql =
  "SELECT s.id, jsonb_build_object('id', s.id, 'session_id', s.session_id, 'user_id', s.user_id, "
  "'interview_session_id', s.interview_session_id, 'status', s.status, 'created_at', s.created_at, "
  "'last_activity', s.last_activity, 'completed_at', s.completed_at, 'total_chunks', i.a, "
  "'total_frames', i.f, 'duration_ms', i.d)::text "
  "FROM media_sessions s LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE kind = 'a') AS a, "
  "count(*) FILTER (WHERE kind = 'f') AS f, "
  "COALESCE(sum((element->>'duration_ms')::bigint) FILTER (WHERE kind = 'a'), 0) AS d "
  "FROM media_items m WHERE m.session_id = s.session_id) i ON true "
  "WHERE ($1::bigint IS NULL OR s.user_id = $1) AND ($2::text IS NULL OR s.status = $2) "
  "AND ($3::bigint IS NULL OR s.id < $3) ORDER BY s.id DESC LIMIT $4";

// to_jsonb(array_agg(...)): the faster equivalent of jsonb_agg (pg_store.cpp, refresh_sql).
constexpr const char* detail_sql =
  "WITH it AS (SELECT kind, COALESCE(to_jsonb(array_agg(element ORDER BY idx)), '[]'::jsonb) AS arr, "
  "count(*) AS n, COALESCE(sum((element->>'duration_ms')::bigint), 0) AS d "
  "FROM media_items WHERE session_id = $1 GROUP BY kind) "
  "SELECT jsonb_build_object('id', s.id, 'session_id', s.session_id, 'user_id', s.user_id, "
  "'interview_session_id', s.interview_session_id, 'status', s.status, "
  "'storage_path', s.storage_path, 'created_at', s.created_at, 'last_activity', s.last_activity, "
  "'completed_at', s.completed_at, "
  "'audio_chunks', COALESCE((SELECT arr FROM it WHERE kind = 'a'), '[]'::jsonb), "
  "'video_frames', COALESCE((SELECT arr FROM it WHERE kind = 'f'), '[]'::jsonb), "
  "'responses', COALESCE((SELECT arr FROM it WHERE kind = 'r'), '[]'::jsonb), "
  "'total_chunks', COALESCE((SELECT n FROM it WHERE kind = 'a'), 0), "
  "'total_frames', COALESCE((SELECT n FROM it WHERE kind = 'f'), 0), "
  "'duration_ms', COALESCE((SELECT d FROM it WHERE kind = 'a'), 0))::text "
  "FROM media_sessions s WHERE s.session_id = $1";

// A start_timestamp that is not a date-time (it never is, the codec checks them; rows copied from
// the original design could hold anything) is NULL rather than an error for the whole query.
constexpr const char* audio_chunks_sql =
  "SELECT m.idx, COALESCE(m.element->>'mime_type', 'audio/webm'), m.size, "
  "CASE WHEN m.element->>'start_timestamp' ~ '^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}(:?\\d{2})?)?$' "
  "THEN (extract(epoch FROM (m.element->>'start_timestamp')::timestamptz) * 1000000)::bigint END "
  "FROM media_sessions s LEFT JOIN media_items m ON m.session_id = s.session_id AND m.kind = 'a' "
  "WHERE s.session_id = $1 ORDER BY m.idx";

} // namespace

std::string pg_store::list_sessions(const pg_session_filter& f, status& st) {
  std::string body;
  st = run("list_sessions", [&](pqxx::connection& c) {
    pqxx::nontransaction n{c};
    const int64_t limit = std::clamp<int64_t>(f.limit, 1, 500);
    // One row more than asked: its presence says whether there is a next page.
    auto r = n.exec_params(list_sql, f.user_id, f.status, f.cursor, limit + 1);
    auto rows = nlohmann::json::array();
    nlohmann::json next = nullptr;
    for (pqxx::result::size_type i = 0; i < r.size(); ++i) {
      if (static_cast<int64_t>(i) == limit) {
        next = r[i - 1][0].as<int64_t>();
        break;
      }
      rows.push_back(nlohmann::json::parse(r[i][1].as<std::string>()));
    }
    body = nlohmann::json{{"sessions", std::move(rows)}, {"next_cursor", std::move(next)}}.dump();
  });
  return st.ok() ? body : std::string{};
}

std::optional<std::string> pg_store::session_json(const std::string& session_id, status& st) {
  std::optional<std::string> out;
  st = run("session_json", [&](pqxx::connection& c) {
    pqxx::nontransaction n{c};
    auto r = n.exec_params(detail_sql, session_id);
    out.reset();
    if (!r.empty())
      out = r[0][0].as<std::string>();
  });
  return st.ok() ? out : std::nullopt;
}

std::optional<std::vector<pg_audio_chunk>> pg_store::audio_chunks(const std::string& session_id, status& st) {
  std::optional<std::vector<pg_audio_chunk>> out;
  st = run("audio_chunks", [&](pqxx::connection& c) {
    pqxx::nontransaction n{c};
    auto r = n.exec_params(audio_chunks_sql, session_id);
    out.reset();
    if (r.empty())
      return;
    out.emplace();
    for (const auto& row : r) {
      if (row[0].is_null())
        continue; // the session exists but has no audio (the LEFT JOIN's empty side)
      pg_audio_chunk ch;
      ch.index = static_cast<uint32_t>(row[0].as<int64_t>());
      ch.mime_type = row[1].as<std::string>();
      ch.size = static_cast<uint64_t>(row[2].as<int64_t>());
      if (!row[3].is_null())
        ch.start_us = row[3].as<int64_t>();
      out->push_back(std::move(ch));
    }
  });
  return st.ok() ? out : std::nullopt;
}

pg_owner pg_store::session_owner(const std::string& session_id, status& st) {
  pg_owner out;
  st = run("session_owner", [&](pqxx::connection& c) {
    pqxx::nontransaction n{c};
    auto r = n.exec_params("SELECT user_id FROM media_sessions WHERE session_id = $1", session_id);
    out = {};
    if (r.empty())
      return;
    out.exists = true;
    if (!r[0][0].is_null())
      out.user_id = r[0][0].as<int64_t>();
  });
  return out;
}

// -- transcription (issue 5) -------------------------------------------------------------------

namespace {

// Matches the partial index media_items_audio_todo of config/schema.sql. Chunks another node
// holds a live claim on are left out, then the rest are claimed: when two nodes pick the same
// chunk at once, the second one's INSERT meets the first one's claim, its ON CONFLICT condition
// is false on the committed row, and RETURNING leaves the chunk out of its answer. A node renews
// its own claims (a retry), and takes over claims that expired. Every chunk looked at comes back,
// with whether this node got it, so the caller knows whether the limit cut the list short.
constexpr const char* unprocessed_audio_sql =
  "WITH todo AS ("
  " SELECT m.session_id, m.idx, COALESCE(m.element->>'file_path', '') AS file_path, "
  " COALESCE(m.element->>'mime_type', 'audio/webm') AS mime, "
  " COALESCE(extract(epoch FROM now() - m.created_at), 0)::float8 AS age, m.created_at FROM media_items m "
  " WHERE m.kind = 'a' AND (m.element->>'processed') IS DISTINCT FROM 'true' "
  " AND (m.session_id || '/' || m.idx::text) NOT IN (SELECT jsonb_array_elements_text($2::jsonb)) "
  " AND NOT EXISTS (SELECT 1 FROM asr_claims c WHERE c.session_id = m.session_id AND c.idx = m.idx "
  "  AND c.node_id <> $3 AND c.until > now()) "
  " ORDER BY m.created_at, m.session_id, m.idx LIMIT $1), "
  "claimed AS ("
  " INSERT INTO asr_claims AS c (session_id, idx, node_id, until) "
  " SELECT session_id, idx, $3, now() + make_interval(secs => $4) FROM todo ORDER BY session_id, idx "
  " ON CONFLICT (session_id, idx) DO UPDATE SET node_id = EXCLUDED.node_id, until = EXCLUDED.until "
  " WHERE c.node_id = EXCLUDED.node_id OR c.until <= now() "
  " RETURNING c.session_id, c.idx) "
  "SELECT t.session_id, t.idx, t.file_path, t.mime, t.age, c.idx IS NOT NULL FROM todo t "
  "LEFT JOIN claimed c USING (session_id, idx) ORDER BY t.created_at, t.session_id, t.idx";
constexpr const char* count_unprocessed_sql =
  "SELECT count(*) FROM media_items WHERE kind = 'a' AND (element->>'processed') IS DISTINCT FROM 'true'";
// The chunk is done: its claim goes with the same statement.
constexpr const char* write_transcripts_sql =
  "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(session_id text, idx bigint, patch jsonb)), "
  "released AS (DELETE FROM asr_claims c USING x WHERE c.session_id = x.session_id AND c.idx = x.idx) "
  "UPDATE media_items AS m SET element = m.element || x.patch FROM x "
  "WHERE m.session_id = x.session_id AND m.kind = 'a' AND m.idx = x.idx";

} // namespace

std::vector<pg_audio_todo> pg_store::unprocessed_audio(size_t limit, const std::vector<std::string>& skip,
                                                       const asr_claim& claim, status& st, size_t* considered) {
  std::vector<pg_audio_todo> out;
  size_t seen = 0;
  const std::string skip_json = nlohmann::json(skip).dump();
  const double lease_s = std::chrono::duration<double>(claim.lease).count();
  st = run("unprocessed_audio", [&](pqxx::connection& c) {
    out.clear();
    pqxx::work n{c};
    auto r = n.exec_params(unprocessed_audio_sql, static_cast<int64_t>(limit), skip_json, claim.node_id, lease_s);
    n.commit();
    seen = r.size();
    for (const auto& row : r)
      if (row[5].as<bool>())
        out.push_back({row[0].as<std::string>(), static_cast<uint32_t>(row[1].as<int64_t>()),
                       row[2].as<std::string>(), row[3].as<std::string>(), row[4].as<double>()});
  });
  if (!st.ok()) {
    out.clear();
    seen = 0;
  }
  if (considered)
    *considered = seen;
  return out;
}

status pg_store::count_unprocessed_audio(uint64_t& count) {
  return run("count_unprocessed_audio", [&](pqxx::connection& c) {
    pqxx::nontransaction n{c};
    count = static_cast<uint64_t>(n.exec(count_unprocessed_sql)[0][0].as<int64_t>());
  });
}

status pg_store::write_transcripts(const std::vector<pg_transcript>& results) {
  if (results.empty())
    return status::success();
  std::string payload, sessions;
  try {
    auto rows = nlohmann::json::array();
    std::set<std::string> ids;
    for (const auto& t : results) {
      auto patch = nlohmann::json::parse(t.patch, nullptr, false);
      if (!patch.is_object())
        return {errc::invalid_argument, "transcript patch of " + t.session_id + "/" + std::to_string(t.index)
                                          + " is not a JSON object"};
      rows.push_back({{"session_id", t.session_id}, {"idx", t.index}, {"patch", std::move(patch)}});
      ids.insert(t.session_id);
    }
    payload = rows.dump();
    sessions = nlohmann::json(ids).dump();
  } catch (const std::exception& e) {
    return {errc::invalid_argument, std::string{"write_transcripts: "} + e.what()};
  }
  return run("write_transcripts", [&](pqxx::connection& c) {
    pqxx::work w{c};
    w.exec_params(write_transcripts_sql, payload);
    w.exec_prepared("ms_mark_stale", sessions); // their audio arrays now lag the rows
    w.commit();
  });
}

} // namespace mediaspool::storage
