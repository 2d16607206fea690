#include "actors/query_actor.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"

#include <system_error>

namespace mediaspool {

namespace {

caf::error store_error(const char* what, const storage::status& st) {
  log::db().warn("query: {} failed: {}", what, st.message);
  return make_error(st.code == storage::errc::db_unavailable ? ec::overloaded : ec::internal);
}

} // namespace

media_file query_state::locate(const media_file_query& q) const {
  struct candidate {
    const char* folder;
    const char* prefix;
    const char* ext;
    const char* mime;
  };
  static constexpr candidate audio[] = {{"audio", "chunk_", ".webm", "audio/webm"},
                                        {"audio", "chunk_", ".mp4", "audio/mp4"}};
  static constexpr candidate frame[] = {{"frames", "frame_", ".jpg", "image/jpeg"}};
  auto try_all = [&](const auto& list) -> media_file {
    for (const auto& c : list) {
      auto p = media->path_of(q.session_id, c.folder, c.prefix + std::to_string(q.index) + c.ext);
      std::error_code ec;
      if (p && std::filesystem::is_regular_file(*p, ec))
        return {p->string(), c.mime};
    }
    return {};
  };
  if (q.kind == 'a')
    return try_all(audio);
  if (q.kind == 'f')
    return try_all(frame);
  return {};
}

query_actor::behavior_type query(query_actor::stateful_pointer<query_state> self,
                                          std::string db_url,
                                          std::shared_ptr<const storage::media_store> media) {
  name_this_thread("ms.query");
  self->state.pg = std::make_unique<storage::pg_store>(std::move(db_url));
  self->state.media = std::move(media);
  return {
    [=](atom::list, const session_query& q) -> caf::result<std::string> {
      storage::status st;
      auto body = self->state.pg->list_sessions({q.user_id, q.status, q.cursor, q.limit}, st);
      if (!st.ok())
        return store_error("list", st);
      return body;
    },
    [=](atom::detail, const std::string& sid) -> caf::result<std::string> {
      storage::status st;
      auto body = self->state.pg->session_json(sid, st);
      if (!st.ok())
        return store_error("detail", st);
      return body.value_or(std::string{});
    },
    [=](atom::mediafile, const media_file_query& q) -> media_file { return self->state.locate(q); },
    [=](atom::owner, const std::string& sid) -> caf::result<storage::pg_owner> {
      storage::status st;
      auto owner = self->state.pg->session_owner(sid, st);
      if (!st.ok())
        return store_error("owner", st);
      return owner;
    },
  };
}

} // namespace mediaspool
