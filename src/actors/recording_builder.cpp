#include "actors/recording_builder.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"
#include "audio/recording_assembler.hpp"

#include <xxhash.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace mediaspool {

namespace fs = std::filesystem;

namespace {

// Bumped when the assembler's output changes, so cached files built by an older one are rebuilt.
constexpr const char* assembler_version = "opus48k-mono-v1";

constexpr auto stale_temp_age = std::chrono::hours(1);

// Removes older recordings of the session and temp files of builds that died long ago (a build
// in progress on another node sharing the media root is younger than that).
void prune_cache(const fs::path& dir, const std::string& keep) {
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}; !ec && it != fs::directory_iterator{}; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name == keep || name.rfind("recording-", 0) != 0)
      continue;
    std::error_code e;
    bool is_temp = name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
    if (is_temp) {
      auto age = fs::file_time_type::clock::now() - fs::last_write_time(it->path(), e);
      if (e || age < stale_temp_age)
        continue;
    }
    fs::remove(it->path(), e);
  }
}

} // namespace

std::string recording_cache_name(const std::vector<storage::pg_audio_chunk>& chunks) {
  std::string key = assembler_version;
  for (const auto& c : chunks) {
    key += '|' + std::to_string(c.index) + ':' + std::to_string(c.size) + ':' + c.mime_type + ':'
           + (c.start_us ? std::to_string(*c.start_us) : "-");
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(key.data(), key.size())));
  return std::string{"recording-"} + hex + ".webm";
}

caf::result<recording_file> recording_builder_state::serve(const std::string& sid) {
  storage::status st;
  auto chunks = pg->audio_chunks(sid, st);
  if (!st.ok()) {
    log::db().warn("recording: listing the chunks of {} failed: {}", sid, st.message);
    return make_error(st.code == storage::errc::db_unavailable ? ec::overloaded : ec::internal);
  }
  recording_file out;
  if (!chunks) {
    out.missing = recording_file::problem::no_session;
    out.message = "no such session";
    return out;
  }
  if (chunks->empty()) {
    out.missing = recording_file::problem::no_audio;
    out.message = "the session has no audio chunks yet";
    return out;
  }
  auto file_name = recording_cache_name(*chunks);
  auto path = media->path_of(sid, "cache", file_name);
  if (!path)
    return make_error(ec::internal);
  out.etag = file_name.substr(10, 16);
  std::error_code fec;
  if (fs::is_regular_file(*path, fec)) {
    out.path = path->string();
    return out;
  }

  std::vector<audio::recording_chunk> list;
  list.reserve(chunks->size());
  for (const auto& c : *chunks) {
    auto file = media->path_of(sid, "audio",
                               "chunk_" + std::to_string(c.index) + (c.mime_type == "audio/mp4" ? ".mp4" : ".webm"));
    if (file)
      list.push_back({c.index, file->string(), c.mime_type, c.start_us});
  }
  fs::create_directories(path->parent_path(), fec);
  if (fec) {
    log::files().error("recording: cannot create {}: {}", path->parent_path().string(), fec.message());
    return make_error(ec::internal);
  }
  // The temp name is unique per process: nodes sharing a media root never write one file.
  auto temp = path->string() + "." + std::to_string(::getpid()) + ".tmp";
  auto t0 = std::chrono::steady_clock::now();
  auto report = audio::assemble_recording(list, temp);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& s : report.skipped)
    log::files().info("recording: sid={} skipped {}", sid, s);
  if (!report.ok()) {
    if (report.chunks_used == 0 && report.skipped.size() == list.size()) {
      out.missing = recording_file::problem::no_audio;
      out.message = "no audio chunk of the session could be decoded";
      return out;
    }
    log::files().error("recording: sid={} build failed: {}", sid, report.error);
    return make_error(ec::internal);
  }
  if (::rename(temp.c_str(), path->c_str()) != 0) {
    log::files().error("recording: sid={} rename failed: {}", sid, std::strerror(errno));
    ::unlink(temp.c_str());
    return make_error(ec::internal);
  }
  prune_cache(path->parent_path(), file_name);
  log::files().info("recording: sid={} built {} of {} chunks, {:.1f} s ({:.1f} s of gaps filled) in {} ms", sid,
                    report.chunks_used, list.size(), report.seconds, report.silence_seconds, ms);
  out.path = path->string();
  return out;
}

recording_actor::behavior_type recording_builder(recording_actor::stateful_pointer<recording_builder_state> self,
                                                 std::string db_url,
                                                 std::shared_ptr<const storage::media_store> media) {
  name_this_thread("ms.recording");
  self->state.pg = std::make_unique<storage::pg_store>(std::move(db_url));
  self->state.media = std::move(media);
  return {
    [=](atom::recording, const std::string& sid) -> caf::result<recording_file> { return self->state.serve(sid); },
  };
}

} // namespace mediaspool
