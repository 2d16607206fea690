#pragma once
// The spool's internals, shared by its write side (spool.cpp: open, group commits, removals)
// and its read side (spool_reads.cpp: recovery scans, held items, payload read-back). Not for
// use outside src/storage.
#include "storage/payload_log.hpp"
#include "storage/spool.hpp"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mediaspool::storage {

inline std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

/// "session/kind/index", for error messages.
inline std::string describe(const item_key& k) { return k.session_id + "/" + k.kind + "/" + std::to_string(k.index); }

/// A RocksDB status as ours: no_space, corruption or io_error, prefixed by `what`.
status from_rocksdb(const rocksdb::Status& s, std::string_view what);

struct spool::impl {
  std::string path;
  rocksdb::Options options;
  std::unique_ptr<rocksdb::Env> env; // outlives db
  // Null only while a reopen after a write error has not succeeded yet (e.g. the disk is full).
  std::unique_ptr<rocksdb::DB> db;
  // Readers (held, scan) share it; a reopen swaps `db` under the exclusive lock.
  mutable std::shared_mutex db_guard;
  // Keys of the records present with where their payloads are, so record_count() stays exact
  // and a replaced or removed record releases its payload, without a read per key. Records are
  // short-lived and an entry is ~100 bytes, so this map stays small.
  std::unordered_map<std::string, payload_locator> keys;
  std::unique_ptr<payload_log> payloads;
  // Serialises mutations so the order of updates to `keys` matches the order RocksDB applied
  // them. The server has one writer (spool_writer), so this costs no group commit.
  std::mutex mutation_mutex;
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> live_bytes{0}; ///< payload bytes of the records in `keys`
  uint64_t max_bytes = 0;

  // After a failed write or sync RocksDB keeps a "background error" and, in this build, asserts
  // if the same WAL writer is used again; Resume() may also retry the failed sync. So a failed
  // write closes the DB and the next write opens it afresh: recovery reads only what is on
  // disk, the new WAL starts clean, and the batch that failed was never acked (its client sends
  // it again; a replayed copy of it is stored once, as any resent item is).
  std::atomic<bool> broken{false}; ///< written under mutation_mutex
  std::atomic<uint64_t> reopens{0};
  status last_error;
  std::chrono::steady_clock::time_point next_reopen{};

  /// Opens RocksDB at `path`, loads `keys` from the records found and recounts the payload log.
  status open_db();
  /// Caller holds mutation_mutex. Fast while broken: one reopen attempt per interval, the
  /// stored error in between, so a full disk costs no open per write.
  status ensure_writable();
  /// Caller holds mutation_mutex; `s` is a failed write: closes the database until a reopen.
  status fail(const rocksdb::Status& s, std::string_view what);
  status not_open() const { return {errc::io_error, "spool not open: " + last_error.message}; }
};

} // namespace mediaspool::storage
