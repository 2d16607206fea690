#pragma once
// The system calls behind media_store, each through the fault seam (faults/: an injected failure
// looks exactly like the kernel's), and the small file steps it builds batches from. Internal to
// storage/; media_store.cpp is the only user.
#include "storage/errc.hpp"

#include <cstddef>
#include <filesystem>
#include <string_view>

#include <unistd.h>

namespace mediaspool::storage::media_ops {

/// Temp files end in this; media_store never accepts it at the end of a final name.
inline constexpr std::string_view temp_suffix = ".tmp";

int checked_syncfs(int fd);
int checked_rename(const char* from, const char* to);
/// The two ways to name an O_TMPFILE file: by its descriptor (AT_EMPTY_PATH; Linux 6.10+
/// without CAP_DAC_READ_SEARCH) or through /proc/self/fd (any Linux with /proc).
enum class link_way { empty_path, proc };
/// linkat of `fd` to `to` the given way; -1 and errno on failure. No fault seam.
int link_fd_via(int fd, const char* to, link_way way);
/// Gives an O_TMPFILE file the name `to`, the cheaper way where the kernel allows it.
int checked_link_fd(int fd, const char* to);

/// Evicts a file's pages from the page cache once its data is durable (clean pages go at once).
/// Advisory: an error changes nothing but the cache.
void drop_cached_pages(int fd);

/// "<what> <path>: <strerror>", errc from errno.
status errno_status(int err, std::string_view what, const std::filesystem::path& path);

/// Closes the descriptor on every path out of a function.
class unique_fd {
public:
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  ~unique_fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  int get() const noexcept { return fd_; }
  /// Closes now, so a deferred write error reported by close() is not lost.
  int close() noexcept {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

private:
  int fd_;
};

status fsync_dir(const std::filesystem::path& dir);

/// mkdir that tolerates an existing folder; `created` tells the caller to fsync the parent so
/// the new entry itself survives a power loss.
status ensure_dir(const std::filesystem::path& dir, bool& created);

/// A fresh temp name beside `final_path`: unique among threads (a counter) and processes (the pid).
std::filesystem::path temp_path_for(const std::filesystem::path& final_path);

/// Writes `tmp` (O_EXCL) and, if `sync`, fdatasyncs it. `created`: `tmp` is ours to unlink;
/// `taken`: the name already existed, so another may be tried.
status write_temp(const std::filesystem::path& tmp, const char* data, size_t size, bool& created, bool& taken,
                  bool sync = true);

/// Writes one file of a batch without publishing it: unnamed (O_TMPFILE) when `try_unnamed`,
/// else (or when that is refused) under a fresh temp name beside `final_path`. On success exactly
/// one of `fd` (>= 0) and `temp` (not empty) is set. `unsupported`: the filesystem has no
/// O_TMPFILE. `no_folder`: the folder does not exist (the caller creates it and calls again).
status write_unpublished(const std::filesystem::path& final_path, const char* data, size_t size, bool try_unnamed,
                         bool& unsupported, bool& no_folder, int& fd, std::filesystem::path& temp);

} // namespace mediaspool::storage::media_ops
