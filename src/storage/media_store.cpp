#include "storage/media_store.hpp"

#include "storage/media_file_ops.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mediaspool::storage {

namespace fs = std::filesystem;

using namespace media_ops;

namespace {

constexpr size_t max_name_bytes = 128;

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_here ? s[i] != '-' : !is_hex(s[i]))
      return false;
  }
  return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_plain_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_bytes || name == "." || name == "..")
    return false;
  // A final name ending in ".tmp" would be deleted by sweep_temp_files at the next start.
  if (ends_with(name, temp_suffix))
    return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '_' || c == '.' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

// At most this many O_TMPFILE descriptors stay open per batch (they are held from write to
// link), so a huge batch cannot exhaust descriptors: larger batches are written in parts of
// this size, each with its own two syncs. (Past it the rest of a batch used to go to named temp
// files: at figure 1's load batches reached ~700 files and 40 % of them took that slower path.)
constexpr size_t max_open_tmpfiles = 256;

} // namespace

media_store::media_store(fs::path root) : root_(std::move(root)) {
  // A failure here surfaces, with its reason, from the first write_atomic.
  std::error_code ec;
  fs::create_directories(root_, ec);
}

std::optional<fs::path> media_store::path_of(std::string_view session_id, std::string_view folder,
                                             std::string_view name) const {
  if (!is_uuid(session_id) || (folder != "audio" && folder != "frames" && folder != "cache") || !is_plain_name(name))
    return std::nullopt;
  return root_ / fs::path{session_id} / fs::path{folder} / fs::path{name};
}

status media_store::write_atomic(std::string_view session_id, std::string_view folder,
                                 std::string_view name, const char* data, size_t size) const {
  auto path = path_of(session_id, folder, name);
  if (!path)
    return {errc::invalid_argument, "media path not allowed: session " + std::string{session_id}
                                        + ", folder " + std::string{folder} + ", name "
                                        + std::string{name}};
  if (data == nullptr && size > 0)
    return {errc::invalid_argument, "no data for " + path->string()};
  auto dir = path->parent_path();
  auto session_dir = dir.parent_path();
  bool created = false;
  if (auto st = ensure_dir(root_, created); !st.ok())
    return st;
  if (created)
    if (auto st = fsync_dir(root_.parent_path().empty() ? fs::path{"."} : root_.parent_path());
        !st.ok())
      return st;
  if (auto st = ensure_dir(session_dir, created); !st.ok())
    return st;
  if (created)
    if (auto st = fsync_dir(root_); !st.ok())
      return st;
  if (auto st = ensure_dir(dir, created); !st.ok())
    return st;
  if (created)
    if (auto st = fsync_dir(session_dir); !st.ok())
      return st;

  fs::path tmp;
  status st;
  bool tmp_created = false;
  bool name_taken = true;
  for (int attempt = 0; attempt < 4 && name_taken; ++attempt) {
    tmp = temp_path_for(*path);
    st = write_temp(tmp, data, size, tmp_created, name_taken);
  }
  if (!st.ok()) {
    if (tmp_created)
      ::unlink(tmp.c_str());
    return st;
  }
  if (checked_rename(tmp.c_str(), path->c_str()) != 0) {
    auto failed = errno_status(errno, "renaming temp file to", *path);
    ::unlink(tmp.c_str());
    return failed;
  }
  // If this fails the new bytes are already under the final name but not known to be durable;
  // the caller must treat the write as failed and may simply write again.
  return fsync_dir(dir);
}

std::vector<status> media_store::write_batch(const std::vector<media_write>& files) const {
  if (files.size() <= max_open_tmpfiles)
    return write_part(files);
  std::vector<status> out;
  out.reserve(files.size());
  for (size_t at = 0; at < files.size(); at += max_open_tmpfiles) {
    const auto end = files.begin() + static_cast<std::ptrdiff_t>(std::min(files.size(), at + max_open_tmpfiles));
    auto part = write_part({files.begin() + static_cast<std::ptrdiff_t>(at), end});
    std::move(part.begin(), part.end(), std::back_inserter(out));
  }
  return out;
}

std::vector<status> media_store::write_part(const std::vector<media_write>& files) const {
  std::vector<status> out(files.size());
  std::vector<fs::path> finals(files.size()), temps(files.size());
  // Files are written unnamed (O_TMPFILE) where the filesystem allows it and linked under their
  // final name after the data sync: a crash leaves nothing to sweep, and no temp name is added to
  // and removed from a folder holding thousands of names (ext4 scans a directory block for each:
  // 47 -> 35 us of kernel time per 1 KiB file, measured with 600 files per folder).
  std::vector<int> unnamed(files.size(), -1);
  struct close_all {
    std::vector<int>& fds;
    ~close_all() {
      for (int& fd : fds)
        if (fd >= 0)
          ::close(std::exchange(fd, -1));
    }
  } closer{unnamed};
  std::vector<bool> pending(files.size(), false); ///< written, waiting for the sync and its name
  size_t open_unnamed = 0;
  bool created = false;
  if (auto st = ensure_dir(root_, created); !st.ok())
    return std::vector<status>(files.size(), st);
  // Opened before the first write: syncfs reports the writeback errors recorded on the
  // filesystem since its descriptor was opened (Linux 5.8+), so a descriptor opened after the
  // writes would miss a failed background writeback of these very files, and call them durable.
  unique_fd root_fd{::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  const int root_errno = root_fd.get() < 0 ? errno : 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    auto path = path_of(f.session_id, f.folder, f.name);
    if (!path || (f.data == nullptr && f.size > 0)) {
      out[i] = {errc::invalid_argument, "media path not allowed: session " + std::string{f.session_id}
                                          + ", folder " + std::string{f.folder} + ", name " + std::string{f.name}};
      continue;
    }
    bool unsupported = false, no_folder = false;
    const bool try_unnamed = !no_tmpfile_.load(std::memory_order_relaxed) && open_unnamed < max_open_tmpfiles;
    out[i] = write_unpublished(*path, f.data, f.size, try_unnamed, unsupported, no_folder, unnamed[i], temps[i]);
    // Folders are made only when missing (a session's first file, or removed since): checking
    // them for every file cost two mkdir and two stat calls per item. New folders need no fsync
    // of their parents here: the syncfs below covers their entries.
    if (no_folder) {
      auto dir = path->parent_path();
      if (auto st = ensure_dir(dir.parent_path(), created); !st.ok()) {
        out[i] = st;
        continue;
      }
      if (auto st = ensure_dir(dir, created); !st.ok()) {
        out[i] = st;
        continue;
      }
      out[i] = write_unpublished(*path, f.data, f.size, try_unnamed, unsupported, no_folder, unnamed[i], temps[i]);
    }
    if (unsupported)
      no_tmpfile_.store(true, std::memory_order_relaxed);
    if (unnamed[i] >= 0)
      ++open_unnamed;
    if (!out[i].ok())
      continue;
    finals[i] = std::move(*path);
    pending[i] = true;
  }
  if (std::find(pending.begin(), pending.end(), true) == pending.end())
    return out;
  auto sync_all = [&](const char* step) {
    if (root_fd.get() < 0)
      return errno_status(root_errno, "opening the media root for", root_);
    if (checked_syncfs(root_fd.get()) == 0)
      return status::success();
    return errno_status(errno, step, root_);
  };
  auto fail_pending = [&](const status& st, bool unlink_temps) {
    for (size_t i = 0; i < files.size(); ++i)
      if (pending[i]) {
        out[i] = st;
        if (unlink_temps && !temps[i].empty())
          ::unlink(temps[i].c_str());
      }
    return out;
  };
  if (auto st = sync_all("syncfs (file data) under"); !st.ok())
    return fail_pending(st, true);
  // Media is written once and read rarely (review, one transcription pass): kept in the page
  // cache it would evict what is read again (PostgreSQL's pages, the spool's index), and every
  // file would take fresh pages. Dropped once durable, its pages are reused by the next batch
  // while still hot: 4x less kernel time per 64 KiB file here, where the VM hands free memory
  // back to the host and each fresh page faults in from there (README "What bounds figures 1
  // and 2"). Named temp files (filesystems without O_TMPFILE) are closed already and keep theirs.
  for (size_t i = 0; i < files.size(); ++i)
    if (pending[i] && unnamed[i] >= 0)
      drop_cached_pages(unnamed[i]);
  for (size_t i = 0; i < files.size(); ++i) {
    if (!pending[i])
      continue;
    if (unnamed[i] >= 0) {
      int fd = std::exchange(unnamed[i], -1);
      if (checked_link_fd(fd, finals[i].c_str()) == 0) {
        ::close(fd);
        continue;
      }
      // EEXIST: the item is stored already (a replay). Its name must get exactly these bytes,
      // atomically: link them under a temp name and rename that over it.
      int err = errno;
      for (int attempt = 0; attempt < 4 && err == EEXIST; ++attempt) {
        temps[i] = temp_path_for(finals[i]);
        err = checked_link_fd(fd, temps[i].c_str()) == 0 ? 0 : errno;
      }
      ::close(fd);
      if (err != 0) {
        out[i] = errno_status(err, "linking the new file as", temps[i].empty() ? finals[i] : temps[i]);
        temps[i].clear();
        pending[i] = false;
        continue;
      }
    }
    if (checked_rename(temps[i].c_str(), finals[i].c_str()) != 0) {
      out[i] = errno_status(errno, "renaming temp file to", finals[i]);
      ::unlink(temps[i].c_str());
      temps[i].clear();
      pending[i] = false;
    }
  }
  // If this fails the new bytes are under their final names but not known to be durable: the
  // caller treats them as failed and writes again.
  if (auto st = sync_all("syncfs (names) under"); !st.ok())
    return fail_pending(st, false);
  return out;
}

size_t media_store::sweep_temp_files(const std::vector<std::string>& session_ids, fs::file_time_type older_than,
                                     const std::atomic<bool>* stop) const {
  size_t removed = 0;
  for (const auto& sid : session_ids) {
    for (auto folder : {"audio", "frames"}) {
      if (stop && stop->load(std::memory_order_relaxed))
        return removed;
      if (!is_uuid(sid))
        break;
      // Best effort: a folder missing or vanishing mid-walk ends its listing, and anything
      // missed is swept at the next start if its item is still in the spool then.
      std::error_code ec;
      for (fs::directory_iterator it{root_ / sid / folder, ec}; !ec && it != fs::directory_iterator{};
           it.increment(ec)) {
        if (!ends_with(it->path().filename().native(), temp_suffix))
          continue;
        std::error_code entry_ec;
        auto st = it->symlink_status(entry_ec);
        if (entry_ec || !fs::is_regular_file(st))
          continue;
        auto written = fs::last_write_time(it->path(), entry_ec);
        if (entry_ec || written >= older_than)
          continue;
        if (fs::remove(it->path(), entry_ec) && !entry_ec)
          ++removed;
      }
    }
  }
  return removed;
}

} // namespace mediaspool::storage
