#include "storage/pg_item_rows.hpp"

#include "json/json_text.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>

namespace mediaspool::storage {

namespace {

std::string name_of(const item_key& k) {
  return k.session_id + "/" + std::string(1, k.kind) + "/" + std::to_string(k.index);
}

} // namespace

status item_rows_json(const std::vector<const pg_item*>& items, std::string& out) {
  out.clear();
  size_t bytes = 2;
  for (const auto* it : items)
    bytes += it->element.size() + it->key.session_id.size() + 96;
  out.reserve(bytes);
  out += '[';
  for (const auto* it : items) {
    // accept() checks syntax and UTF-8 without building values: the element is inserted as it is.
    if (!nlohmann::json::accept(it->element))
      return {errc::invalid_argument, "element of " + name_of(it->key) + " is not JSON"};
    if (!json_text::valid_utf8(it->key.session_id))
      return {errc::invalid_argument, "session id of " + name_of(it->key) + " is not UTF-8"};
    if (out.size() > 1)
      out += ',';
    json_text::object{out}
      .string("session_id", it->key.session_id)
      .string("kind", std::string_view{&it->key.kind, 1})
      .number("idx", it->key.index)
      .number("hash", static_cast<int64_t>(it->hash)) // a BIGINT bit for bit: PostgreSQL has no unsigned type
      .number("size", static_cast<int64_t>(it->size))
      .raw("element", it->element)
      .close();
  }
  out += ']';
  return status::success();
}

std::map<std::string, merged_refresh> merge_refresh(const std::vector<pg_refresh>& refresh) {
  std::map<std::string, merged_refresh> out;
  for (const auto& r : refresh) {
    auto& m = out[r.session_id];
    m.mask |= (r.audio ? 1u : 0u) | (r.frames ? 2u : 0u) | (r.responses ? 4u : 0u);
    m.stale_after = m.stale_after && r.stale_after;
  }
  return out;
}

status build_payload(const std::vector<pg_session>& sessions, const std::vector<pg_item>& items,
                     const std::map<std::string, merged_refresh>& refresh, batch_payload& out) {
  auto rows = nlohmann::json::array();
  for (const auto& s : sessions) {
    rows.push_back({{"session_id", s.session_id},
                    {"interview_session_id", s.interview_session_id
                                               ? nlohmann::json(*s.interview_session_id)
                                               : nlohmann::json(nullptr)},
                    {"user_id", s.user_id ? nlohmann::json(*s.user_id) : nlohmann::json(nullptr)},
                    {"storage_path", s.storage_path}});
  }
  std::vector<const pg_item*> media;
  media.reserve(items.size());
  // A key may repeat in one batch (a replay coalesced with the original). ON CONFLICT DO UPDATE
  // rejects a row touched twice by one command, so responses are deduplicated here, newest last.
  std::map<item_key, const pg_item*> responses;
  for (const auto& it : items) {
    switch (it.key.kind) {
      case 'a':
      case 'f': media.push_back(&it); break;
      case 'r': responses.insert_or_assign(it.key, &it); break;
      default:
        return {errc::invalid_argument, "unknown item kind '" + std::string(1, it.key.kind) + "'"};
    }
  }
  std::vector<const pg_item*> response_rows;
  for (auto& [key, item] : responses)
    response_rows.push_back(item);
  // dump() throws on invalid UTF-8; the caller's try turns that into invalid_argument.
  if (!rows.empty())
    out.sessions = rows.dump();
  if (!media.empty())
    if (auto st = item_rows_json(media, out.media); !st.ok())
      return st;
  if (!response_rows.empty())
    if (auto st = item_rows_json(response_rows, out.responses); !st.ok())
      return st;
  // The sessions that get rows and are not caught up by this batch's refreshes.
  std::set<std::string> stale;
  for (const auto& it : items)
    if (auto m = refresh.find(it.key.session_id); m == refresh.end() || m->second.stale_after)
      stale.insert(it.key.session_id);
  if (!stale.empty())
    out.stale = nlohmann::json(stale).dump();
  return status::success();
}

} // namespace mediaspool::storage
