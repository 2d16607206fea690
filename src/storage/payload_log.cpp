#include "storage/payload_log.hpp"

#include "faults/faults.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include <cstdlib>
#include <fcntl.h>
#include <climits>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace mediaspool::storage {

namespace fs = std::filesystem;

struct payload_log::segment_file {
  int fd = -1;
  bool direct = false; ///< opened for O_DIRECT writes (the appending descriptor only)
  ~segment_file() {
    if (fd >= 0)
      ::close(fd);
  }
};

void payload_log::stage_deleter::operator()(char* p) const noexcept { std::free(p); }

namespace {

// Injected failures (faults/) look like the kernel's: the call is skipped and errno set.
bool injected(faults::io_op op) { return faults::fail_call(faults::io_scope::spool, op); }

// The id in "seg-<16 hex digits>.<ext>" (ext "dat": a segment, "free": one kept for reuse).
std::optional<uint64_t> segment_id(const std::string& name, const char* ext = "dat") {
  unsigned long long id = 0;
  char tail[8] = {};
  if (name.size() != 21 + std::strlen(ext) || std::sscanf(name.c_str(), "seg-%16llx.%7s", &id, tail) != 2
      || std::strcmp(tail, ext) != 0)
    return std::nullopt;
  return static_cast<uint64_t>(id);
}

// The name segment_id() reads back.
std::string segment_name(uint64_t id, const char* ext) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%016" PRIx64 ".%s", id, ext);
  return name;
}

// Only a segment that was filled is worth keeping: appends past its end would grow it again.
bool is_full(const fs::path& path, uint64_t segment_bytes) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) >= segment_bytes;
}

status sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno_status(errno, "opening " + dir.string());
  int rc = injected(faults::io_op::sync) ? -1 : ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? status::success() : errno_status(err, "fsync of " + dir.string());
}

} // namespace

payload_log::payload_log(fs::path dir, uint64_t segment_bytes) : dir_(std::move(dir)), segment_bytes_(segment_bytes) {
  std::error_code ec;
  fs::create_directories(dir_, ec); // a failure surfaces from the first append
  for (auto& e : fs::directory_iterator{dir_, ec}) {
    const auto name = e.path().filename().string();
    if (auto id = segment_id(name)) {
      refs_.emplace(*id, 0);
      next_id_ = std::max(next_id_, *id + 1);
    } else if (auto kept = segment_id(name, "free")) {
      next_id_ = std::max(next_id_, *kept + 1); // a later segment freed under this id must not collide
      if (free_.size() < max_free)
        free_.push_back(*kept);
      else
        ::unlink(e.path().c_str());
    }
  }
}

payload_log::~payload_log() = default;

fs::path payload_log::path_of(uint64_t id) const { return dir_ / segment_name(id, "dat"); }

fs::path payload_log::free_path_of(uint64_t id) const { return dir_ / segment_name(id, "free"); }

std::shared_ptr<payload_log::segment_file> payload_log::open_segment(uint64_t id) const {
  if (auto it = open_.find(id); it != open_.end())
    return it->second;
  auto f = std::make_shared<segment_file>();
  f->fd = ::open(path_of(id).c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd < 0)
    return nullptr;
  open_.emplace(id, f);
  return f;
}

// A kept segment is renamed to the new id and overwritten from its start; without one, a new file.
status payload_log::open_new_segment(uint64_t id, int& fd) {
  const auto path = path_of(id);
  while (!free_.empty()) {
    const auto kept = free_path_of(free_.back());
    free_.pop_back();
    if (::rename(kept.c_str(), path.c_str()) == 0) {
      if ((fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC)) >= 0)
        return status::success();
      ::unlink(path.c_str());
    } else {
      ::unlink(kept.c_str());
    }
  }
  if ((fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
    return errno_status(errno, "creating " + path.string());
  return status::success();
}

status payload_log::start_segment() {
  const uint64_t id = next_id_++;
  auto path = path_of(id);
  auto f = std::make_shared<segment_file>();
  if (auto st = open_new_segment(id, f->fd); !st.ok())
    return st;
  // Direct I/O where the filesystem has it: the bytes go from one reused buffer to the disk
  // instead of into fresh page-cache pages that writeback then copies out again.
  if (stage_ && ::fcntl(f->fd, F_SETFL, O_DIRECT) == 0)
    f->direct = true;
  // The new name must survive a power loss before any record points into it.
  if (auto st = sync_dir(dir_); !st.ok()) {
    ::unlink(path.c_str());
    return st;
  }
  refs_.emplace(id, 0);
  active_ = f; // reads open their own (buffered) descriptor
  active_id_ = id;
  active_size_ = 0;
  return status::success();
}

uint64_t payload_checksum(const char* data, size_t size) noexcept {
  return XXH3_64bits(data, size);
}

status payload_log::append(const std::vector<payload_piece>& payloads,
                           std::vector<payload_locator>& out) {
  out.assign(payloads.size(), payload_locator{});
  uint64_t total = 0;
  for (auto& p : payloads)
    total += p.size;
  if (total == 0)
    return status::success();
  std::lock_guard<std::mutex> guard{mutex_};
  if (!stage_) {
    void* p = nullptr;
    if (::posix_memalign(&p, direct_align, stage_bytes) == 0)
      stage_.reset(static_cast<char*>(p));
  }
  if (!active_ || active_size_ >= segment_bytes_)
    if (auto st = start_segment(); !st.ok())
      return st;
  // Back to back from the segment's end, whichever way they are written.
  uint64_t offset = active_size_;
  for (size_t i = 0; i < payloads.size(); ++i)
    if (const auto& p = payloads[i]; p.size > 0) {
      out[i] = payload_locator{active_id_, offset, p.size, p.checksum};
      offset += p.size;
    }
  if (active_->direct)
    return append_direct(payloads);
  std::vector<iovec> iov;
  iov.reserve(payloads.size());
  for (const auto& p : payloads)
    if (p.size > 0)
      iov.push_back(iovec{const_cast<char*>(p.data), p.size});
  // pwritev may write less than asked (a signal, a nearly full disk): continue where it stopped.
  uint64_t at = active_size_;
  size_t first = 0;
  while (first < iov.size()) {
    const int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = injected(faults::io_op::write) ? -1 : ::pwritev(active_->fd, iov.data() + first, count, static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto st = errno_status(errno, "writing payloads to " + path_of(active_id_).string());
      broken(); // never append after a failed write: its tail is unknown
      return st;
    }
    at += static_cast<uint64_t>(n);
    for (auto left = static_cast<size_t>(n); left > 0 && first < iov.size();) {
      if (left >= iov[first].iov_len) {
        left -= iov[first].iov_len;
        ++first;
      } else {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
        left = 0;
      }
    }
  }
  return sync_active(at);
}

status payload_log::sync_active(uint64_t new_size) {
  if (injected(faults::io_op::sync) || ::fdatasync(active_->fd) != 0) {
    auto st = errno_status(errno, "fdatasync of " + path_of(active_id_).string());
    broken(); // a failed sync is never retried and trusted: the next append starts a new segment
    return st;
  }
  active_size_ = new_size;
  return status::success();
}

// The payloads are copied, back to back, through the aligned stage and written at the segment's
// end, which is always a whole block: each append pads its last block with zeros (so a later
// append never rewrites a block that holds durable bytes; a torn write cannot touch them).
status payload_log::append_direct(const std::vector<payload_piece>& payloads) {
  uint64_t at = active_size_; // a multiple of direct_align
  size_t filled = 0;
  auto flush = [&](bool last) -> status {
    size_t len = filled;
    if (last) {
      len = (filled + direct_align - 1) / direct_align * direct_align;
      std::memset(stage_.get() + filled, 0, len - filled);
    }
    for (size_t done = 0; done < len;) {
      ssize_t n = injected(faults::io_op::write)
                    ? -1
                    : ::pwrite(active_->fd, stage_.get() + done, len - done, static_cast<off_t>(at + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || static_cast<size_t>(n) % direct_align != 0) { // a short direct write cannot go on aligned
        auto st = n < 0 ? errno_status(errno, "writing payloads to " + path_of(active_id_).string())
                        : status{errc::io_error, "short direct write to " + path_of(active_id_).string()};
        broken(); // never append after a failed write: its tail is unknown
        return st;
      }
      done += static_cast<size_t>(n);
    }
    at += len;
    filled = 0;
    return status::success();
  };
  for (const auto& [data, size, checksum] : payloads) {
    for (size_t copied = 0; copied < size;) {
      const size_t n = std::min(size - copied, stage_bytes - filled);
      std::memcpy(stage_.get() + filled, data + copied, n);
      filled += n;
      copied += n;
      if (filled == stage_bytes)
        if (auto st = flush(false); !st.ok())
          return st;
    }
  }
  if (filled > 0)
    if (auto st = flush(true); !st.ok())
      return st;
  return sync_active(at);
}

status payload_log::read(const payload_locator& loc, std::string& out) const {
  out.clear();
  if (loc.length == 0)
    return status::success();
  std::shared_ptr<segment_file> f;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    f = open_segment(loc.segment);
  }
  if (!f)
    return {errc::corruption, "payload segment " + path_of(loc.segment).string() + " is missing"};
  out.resize(loc.length);
  uint64_t done = 0;
  while (done < loc.length) {
    ssize_t n = ::pread(f->fd, out.data() + done, loc.length - done, static_cast<off_t>(loc.offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno_status(errno, "reading " + path_of(loc.segment).string());
    if (n == 0)
      return {errc::corruption, "payload at " + std::to_string(loc.offset) + " of " + path_of(loc.segment).string()
                                  + " is cut short"};
    done += static_cast<uint64_t>(n);
  }
  if (payload_checksum(out.data(), out.size()) != loc.checksum)
    return {errc::corruption, "payload at " + std::to_string(loc.offset) + " of " + path_of(loc.segment).string()
                                + " fails its checksum"};
  return status::success();
}

void payload_log::add_refs(const std::vector<payload_locator>& locs) {
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& l : locs)
    if (l.length > 0)
      ++refs_[l.segment];
}

std::vector<uint64_t> payload_log::release(const std::vector<payload_locator>& locs) {
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& l : locs)
    if (l.length > 0)
      if (auto it = refs_.find(l.segment); it != refs_.end() && it->second > 0)
        --it->second;
  return take_unreferenced();
}

std::vector<uint64_t> payload_log::take_unreferenced() {
  std::vector<uint64_t> out;
  for (auto it = refs_.begin(); it != refs_.end();) {
    if (it->second == 0 && !(active_ && it->first == active_id_)) {
      out.push_back(it->first);
      open_.erase(it->first);
      it = refs_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void payload_log::broken() {
  broken_.insert(active_id_);
  active_.reset();
}

// Renaming is a quick metadata change, done under the lock so that start_segment never takes a
// kept segment whose rename has not happened; unlinking (freeing the extents) is not.
void payload_log::delete_segments(const std::vector<uint64_t>& segments) {
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto id : segments) {
      const bool was_broken = broken_.erase(id) > 0;
      if (!was_broken && free_.size() < max_free && is_full(path_of(id), segment_bytes_)
          && ::rename(path_of(id).c_str(), free_path_of(id).c_str()) == 0)
        free_.push_back(id);
      else
        doomed.push_back(id);
    }
  }
  for (auto id : doomed)
    ::unlink(path_of(id).c_str());
}

size_t payload_log::recount(const std::vector<payload_locator>& locs) {
  std::vector<uint64_t> ids;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& [id, n] : refs_)
      n = 0;
    for (auto& l : locs)
      if (l.length > 0)
        ++refs_[l.segment];
    ids = take_unreferenced();
  }
  delete_segments(ids);
  return ids.size();
}

bool payload_log::direct_io() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return active_ && active_->direct;
}

size_t payload_log::free_count() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return free_.size();
}

size_t payload_log::segment_count() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return refs_.size();
}

} // namespace mediaspool::storage
