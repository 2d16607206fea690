#pragma once
// Media files under <root>/<session_id>/{audio,frames}/<name>, written atomically.
// Thread-safety: stateless apart from the root; any thread may call any method. Methods block
// (fsync): call them from detached actors only.
#include "storage/errc.hpp"

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mediaspool::storage {

/// One file of a batch (see media_store::write_batch). Views and data are borrowed for the call.
struct media_write {
  std::string_view session_id;
  std::string_view folder;
  std::string_view name;
  const char* data = nullptr;
  size_t size = 0;
};

class media_store {
public:
  /// `root` is created if missing.
  explicit media_store(std::filesystem::path root);

  /// The file's path, or nullopt if `session_id` is not a UUID, `folder` is not "audio",
  /// "frames" or "cache" (files derived from the others, such as the assembled recording), or
  /// `name` is not a plain file name ([A-Za-z0-9_.-], at most 128 bytes, not "."
  /// or "..", not ending in ".tmp", which is reserved for temp files that sweep_temp_files
  /// deletes). No path built here can leave the session folder.
  std::optional<std::filesystem::path> path_of(std::string_view session_id, std::string_view folder,
                                               std::string_view name) const;

  /// Writes the file atomically: a temp file in the same folder, write, fsync, rename over the
  /// final name, fsync of the folder (and of the session folder when it was created).
  /// When this returns ok the file is durable with exactly these bytes; on failure the final
  /// name is untouched (an earlier version, if any, stays) and the temp file is removed.
  status write_atomic(std::string_view session_id, std::string_view folder, std::string_view name,
                      const char* data, size_t size) const;

  /// Writes several files with write_atomic's guarantees (a reader sees the old file or the
  /// complete new one, never a torn one, even after a power loss) but two filesystem syncs for
  /// each part of up to 256 files instead of two fsyncs per file: all files are written unnamed
  /// (O_TMPFILE; named temp files where the filesystem lacks it or descriptors run out), one
  /// syncfs() makes their bytes durable, each gets its final name (linkat, or a temp link renamed
  /// over an existing file), a second syncfs() makes the names durable.
  /// Returns one status per file, in order; ok means durable under its final name.
  std::vector<status> write_batch(const std::vector<media_write>& files) const;

  /// Deletes the temp files (names ending in ".tmp") a crash left in the audio and frames
  /// folders of `session_ids`, if last written before `older_than`; stops early once `stop` is
  /// set. Returns how many. A temp file exists only while its item's write is in flight, and an
  /// item leaves the spool only after its file has its final name, so the sessions still in the
  /// spool are the only places to look: never the whole root, which holds every recording ever
  /// made (walking it kept a restarted node from listening for minutes) and, when shared, other
  /// nodes' files in flight (younger than `older_than`, this process's start).
  size_t sweep_temp_files(const std::vector<std::string>& session_ids, std::filesystem::file_time_type older_than,
                          const std::atomic<bool>* stop = nullptr) const;

  const std::filesystem::path& root() const noexcept { return root_; }

private:
  /// write_batch for at most max_open_tmpfiles files.
  std::vector<status> write_part(const std::vector<media_write>& files) const;

  std::filesystem::path root_;
  /// Set once the filesystem refuses O_TMPFILE: named temp files from then on.
  mutable std::atomic<bool> no_tmpfile_{false};
};

} // namespace mediaspool::storage
