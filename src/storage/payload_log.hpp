#pragma once
// The spool's payload bytes: append-only segment files next to the RocksDB records that point
// into them. RocksDB costs ~2 ns per byte on one thread (three copies and a software CRC32C in
// Debian's portable build, measured), which capped the spool at ~450 MB/s of payload; here the
// payloads of a group commit are copied through one aligned buffer into O_DIRECT writes (page
// cache writes where the filesystem has no direct I/O) and share one fdatasync.
// A RocksDB record is written only after its bytes are synced, so a record never points at
// bytes that are not durable; each locator carries an XXH3-64 of the bytes, checked on read.
// That checksum is the caller's: the session hashes every payload as it pairs it (the identity
// for duplicates), so hashing it again here would cost a second pass over every byte on the
// spool's one thread (~4 % of it at figure 1's load), and the check then covers the bytes from
// the moment they were received.
//
// A segment that saw a failed write or sync is never written again (its unsynced tail cannot be
// trusted); appends go to a fresh segment. A segment is deleted once no record refers to it, or
// kept (up to max_free, renamed *.free) and reused as a later segment: overwriting blocks that
// were written before makes each fdatasync a bare data flush, while appending past a file's end
// (or into fallocate'd space) also commits the ext4 journal for the new size or extents.
// Measured with dd (O_DIRECT + O_DSYNC): 4 MiB commits 319-343 -> 428-471 MB/s, 128 KiB commits
// 227-250 -> 334-368 MB/s (README, "spool").
// Thread-safety: all methods may be called from any thread.
#include "storage/errc.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mediaspool::storage {

/// XXH3-64 of a payload's bytes: the checksum an append is given and a read checks.
uint64_t payload_checksum(const char* data, size_t size) noexcept;

/// One payload to append, borrowed for the call, with payload_checksum() of its bytes.
struct payload_piece {
  const char* data = nullptr;
  size_t size = 0;
  uint64_t checksum = 0;
};

/// Where one payload lives.
struct payload_locator {
  uint64_t segment = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t checksum = 0; ///< XXH3-64 of the bytes
};

class payload_log {
public:
  /// Uses (creating if needed) `dir`; appends start in a new segment after the newest one found.
  payload_log(std::filesystem::path dir, uint64_t segment_bytes);
  ~payload_log();
  payload_log(const payload_log&) = delete;
  payload_log& operator=(const payload_log&) = delete;

  /// Writes every payload and syncs them with one fdatasync. On success `out` holds a locator per
  /// payload (in order), not yet referenced: call add_refs once the records pointing at them are
  /// durable. On failure nothing may be trusted and nothing is referenced. Each piece's checksum
  /// is stored as given: one that is not payload_checksum() of its bytes makes them unreadable.
  status append(const std::vector<payload_piece>& payloads, std::vector<payload_locator>& out);

  /// Reads the bytes at `loc` into `out` and checks their checksum.
  status read(const payload_locator& loc, std::string& out) const;

  /// Counts records that point into segments (after a durable write, and at start-up for the
  /// records found).
  void add_refs(const std::vector<payload_locator>& locs);

  /// Drops references (records removed). Returns the segments that became unreferenced and are
  /// not being appended to; the caller makes the removals durable, then calls delete_segments.
  std::vector<uint64_t> release(const std::vector<payload_locator>& locs);

  /// Unlinks the given segments (each must be unreferenced).
  void delete_segments(const std::vector<uint64_t>& segments);

  /// Replaces every count with those of `locs` (the records found at open or reopen), then
  /// deletes every segment with no reference except the one being appended to. Returns how many.
  size_t recount(const std::vector<payload_locator>& locs);

  /// Segments on disk (for tests and metrics).
  size_t segment_count() const;

  /// Unreferenced segments kept for reuse (for tests and metrics).
  size_t free_count() const;

  /// At most this many unreferenced segments are kept for reuse (the rest are deleted).
  static constexpr size_t max_free = 2;

  /// True if the segment being appended to is written with O_DIRECT (false before the first
  /// append, or on a filesystem without direct I/O).
  bool direct_io() const;

private:
  struct segment_file;
  struct stage_deleter {
    void operator()(char* p) const noexcept;
  };
  /// O_DIRECT wants block-aligned memory, offsets and lengths.
  static constexpr size_t direct_align = 4096;
  /// The aligned buffer direct appends are copied through, in pieces of at most this size.
  static constexpr size_t stage_bytes = 4u << 20;
  std::shared_ptr<segment_file> open_segment(uint64_t id) const; // caller holds mutex_
  status start_segment();                                       // caller holds mutex_
  status append_direct(const std::vector<payload_piece>& payloads); // caller holds mutex_
  status sync_active(uint64_t new_size);                        // caller holds mutex_
  std::vector<uint64_t> take_unreferenced();                    // caller holds mutex_: forgets and returns them
  std::filesystem::path path_of(uint64_t id) const;
  std::filesystem::path free_path_of(uint64_t id) const;
  status open_new_segment(uint64_t id, int& fd);                // caller holds mutex_
  void broken(); // caller holds mutex_: the active segment saw a failure and is never written again

  std::filesystem::path dir_;
  uint64_t segment_bytes_;
  mutable std::mutex mutex_;
  std::map<uint64_t, uint64_t> refs_;                       ///< segment -> records pointing into it
  mutable std::map<uint64_t, std::shared_ptr<segment_file>> open_; ///< read (and active) descriptors
  uint64_t next_id_ = 1;
  uint64_t active_id_ = 0;
  std::shared_ptr<segment_file> active_; ///< null: the next append starts a new segment
  std::vector<uint64_t> free_;           ///< ids (as named *.free) of segments kept for reuse
  std::set<uint64_t> broken_;            ///< segments that saw a failure: deleted, never reused
  uint64_t active_size_ = 0;
  std::unique_ptr<char, stage_deleter> stage_; ///< null until the first append (or if unallocatable)
};

} // namespace mediaspool::storage
