#include "storage/media_file_ops.hpp"

#include "faults/faults.hpp"

#include <atomic>
#include <cerrno>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mediaspool::storage::media_ops {

namespace fs = std::filesystem;

namespace {

// An injected failure (faults/) looks exactly like the kernel's: the call is skipped, errno set.
bool injected(faults::io_op op) { return faults::fail_call(faults::io_scope::media, op); }

int checked_fsync(int fd) { return injected(faults::io_op::sync) ? -1 : ::fsync(fd); }
int checked_fdatasync(int fd) { return injected(faults::io_op::sync) ? -1 : ::fdatasync(fd); }

// Filesystems without O_TMPFILE (NFS, some FUSE) answer with one of these; the store then uses
// named temp files for good.
bool tmpfile_unsupported(int err) { return err == EOPNOTSUPP || err == EISDIR || err == EINVAL; }

status write_all(int fd, const char* data, size_t size, const fs::path& path) {
  while (size > 0) {
    ssize_t n = injected(faults::io_op::write) ? -1 : ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno_status(errno, "writing", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return status::success();
}

} // namespace

int checked_syncfs(int fd) { return injected(faults::io_op::sync) ? -1 : ::syncfs(fd); }
int checked_rename(const char* from, const char* to) {
  return injected(faults::io_op::rename) ? -1 : ::rename(from, to);
}
int link_fd_via(int fd, const char* to, link_way way) {
  if (way == link_way::empty_path)
    return ::linkat(fd, "", AT_FDCWD, to, AT_EMPTY_PATH);
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  return ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, to, AT_SYMLINK_FOLLOW);
}

// AT_EMPTY_PATH first: resolving /proc/self/fd/N as a path was 16 % of linkat's kernel time at
// figure 2's load. Kernels before 6.10 refuse it without CAP_DAC_READ_SEARCH (ENOENT); ENOENT
// also means a missing folder, so /proc decides which, and the store keeps /proc once it was the
// refusal. Publishing a name is the same step as a rename for the fault seam.
int checked_link_fd(int fd, const char* to) {
  if (injected(faults::io_op::rename))
    return -1;
  static std::atomic<bool> proc_only{false};
  if (proc_only.load(std::memory_order_relaxed))
    return link_fd_via(fd, to, link_way::proc);
  if (link_fd_via(fd, to, link_way::empty_path) == 0)
    return 0;
  if (errno != ENOENT)
    return -1;
  const int rc = link_fd_via(fd, to, link_way::proc);
  if (rc == 0)
    proc_only.store(true, std::memory_order_relaxed);
  return rc;
}

status errno_status(int err, std::string_view what, const fs::path& path) {
  return storage::errno_status(err, std::string{what} + " " + path.string());
}

void drop_cached_pages(int fd) { (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); }

status fsync_dir(const fs::path& dir) {
  unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd.get() < 0)
    return errno_status(errno, "opening folder", dir);
  if (checked_fsync(fd.get()) != 0)
    return errno_status(errno, "fsync of folder", dir);
  return status::success();
}

status ensure_dir(const fs::path& dir, bool& created) {
  created = false;
  if (::mkdir(dir.c_str(), 0755) == 0) {
    created = true;
    return status::success();
  }
  if (errno != EEXIST)
    return errno_status(errno, "creating folder", dir);
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0)
    return errno_status(errno, "checking folder", dir);
  if (!S_ISDIR(st.st_mode))
    return errno_status(ENOTDIR, "checking folder", dir);
  return status::success();
}

// Unique among threads by the counter and among processes by the pid; O_EXCL catches a leftover
// from an earlier process that had the same pid.
fs::path temp_path_for(const fs::path& final_path) {
  static std::atomic<uint64_t> counter{0};
  auto name = final_path.filename().string();
  name.append(".").append(std::to_string(::getpid())).append(".");
  name.append(std::to_string(counter.fetch_add(1, std::memory_order_relaxed)));
  name.append(temp_suffix);
  return final_path.parent_path() / name;
}

status write_temp(const fs::path& tmp, const char* data, size_t size, bool& created, bool& taken,
                  bool sync) {
  unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
  created = fd.get() >= 0;
  taken = !created && errno == EEXIST;
  if (!created)
    return errno_status(errno, "creating", tmp);
  if (auto st = write_all(fd.get(), data, size, tmp); !st.ok())
    return st;
  if (sync && checked_fdatasync(fd.get()) != 0)
    return errno_status(errno, "fdatasync of", tmp);
  if (fd.close() != 0)
    return errno_status(errno, "closing", tmp);
  return status::success();
}

status write_unpublished(const fs::path& final_path, const char* data, size_t size, bool try_unnamed,
                         bool& unsupported, bool& no_folder, int& fd, fs::path& temp) {
  no_folder = false;
  if (try_unnamed) {
    fd = ::open(final_path.parent_path().c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) {
      auto st = write_all(fd, data, size, final_path);
      if (!st.ok())
        ::close(std::exchange(fd, -1));
      return st;
    }
    no_folder = errno == ENOENT;
    if (tmpfile_unsupported(errno))
      unsupported = true;
    else if (errno != EMFILE && errno != ENFILE)
      return errno_status(errno, "creating a new file in", final_path.parent_path());
  }
  status st;
  bool created = false, taken = true;
  for (int attempt = 0; attempt < 4 && taken; ++attempt) {
    temp = temp_path_for(final_path);
    st = write_temp(temp, data, size, created, taken, false);
  }
  if (!created && errno == ENOENT)
    no_folder = true;
  if (!st.ok()) {
    if (created)
      ::unlink(temp.c_str());
    temp.clear();
  }
  return st;
}


} // namespace mediaspool::storage::media_ops
