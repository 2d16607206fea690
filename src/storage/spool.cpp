#include "storage/spool.hpp"

#include "storage/fault_fs.hpp"
#include "storage/payload_log.hpp"
#include "storage/spool_record.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>

namespace mediaspool::storage {

namespace {

using namespace record_format;

std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

std::string describe(const item_key& k) { return k.session_id + "/" + k.kind + "/" + std::to_string(k.index); }

// A record's bytes: inline (version 1) or from the payload log (version 2, checksummed there).
status record_bytes(const header_view& h, const payload_log& log, std::string& out) {
  if (!h.inline_payload)
    return log.read(h.loc, out);
  out.assign(h.payload);
  return status::success();
}

status from_rocksdb(const rocksdb::Status& s, std::string_view what) {
  if (s.ok())
    return status::success();
  std::string message{what};
  message.append(": ").append(s.ToString());
  if (s.IsNoSpace() || message.find("No space") != std::string::npos)
    return {errc::no_space, std::move(message)};
  if (s.IsCorruption())
    return {errc::corruption, std::move(message)};
  return {errc::io_error, std::move(message)};
}

// Skips what does not decode and keeps going: recovery should re-drive every good record, and
// the caller learns from the returned status that some were unreadable.
struct corruption_report {
  size_t count = 0;
  std::string first_key;

  void add(std::string_view key) {
    if (count++ == 0)
      first_key = std::string{key};
  }

  status result(std::string_view what) const {
    if (count == 0)
      return status::success();
    std::string hex;
    for (unsigned char c : first_key) {
      static constexpr char digits[] = "0123456789abcdef";
      hex.push_back(digits[c >> 4]);
      hex.push_back(digits[c & 0xf]);
    }
    return {errc::corruption, std::string{what} + ": " + std::to_string(count)
                                + " record(s) do not decode, first key 0x" + hex};
  }
};

} // namespace

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
  bool broken = false;
  status last_error;
  std::chrono::steady_clock::time_point next_reopen{};

  status open_db() {
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(options, path, &raw);
    if (!s.ok())
      return from_rocksdb(s, "opening spool at " + path);
    std::unique_ptr<rocksdb::DB> opened{raw};
    std::unordered_map<std::string, payload_locator> found;
    std::vector<payload_locator> locs;
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper{records_end.data(), records_end.size()};
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it{opened->NewIterator(ro)};
    for (it->Seek(rocksdb::Slice{records_prefix.data(), records_prefix.size()}); it->Valid(); it->Next()) {
      auto h = decode_value(view(it->value()));
      auto loc = h && !h->inline_payload ? h->loc : payload_locator{};
      found.emplace(std::string{it->key().data(), it->key().size()}, loc);
      locs.push_back(loc);
    }
    if (!it->status().ok())
      return from_rocksdb(it->status(), "counting spool records at " + path);
    it.reset();
    // Segments no record points to (removed records, a failed append) are deleted now.
    payloads->recount(locs);
    uint64_t bytes = 0;
    for (auto& l : locs)
      bytes += l.length;
    std::unique_lock<std::shared_mutex> guard{db_guard};
    db = std::move(opened);
    keys = std::move(found);
    count = keys.size();
    live_bytes = bytes;
    return status::success();
  }

  // Caller holds mutation_mutex. Fast while broken: one reopen attempt per interval, the
  // stored error in between, so a full disk costs no open per write.
  status ensure_writable() {
    if (!broken)
      return status::success();
    auto now = std::chrono::steady_clock::now();
    if (now < next_reopen)
      return last_error;
    next_reopen = now + std::chrono::milliseconds(200);
    if (auto st = open_db(); !st.ok()) {
      last_error = {st.code, "spool unavailable after a write error; " + st.message};
      return last_error;
    }
    broken = false;
    return status::success();
  }

  // Caller holds mutation_mutex; `s` is a failed write.
  status fail(const rocksdb::Status& s, std::string_view what) {
    last_error = from_rocksdb(s, what);
    broken = true;
    next_reopen = {};
    std::unique_lock<std::shared_mutex> guard{db_guard};
    if (db)
      db->Close();
    db.reset();
    return last_error;
  }

  status not_open() const { return {errc::io_error, "spool not open: " + last_error.message}; }
};

std::unique_ptr<spool> spool::open(const spool_options& opts, status& st) {
  std::unique_ptr<spool> result{new spool};
  result->impl_ = std::make_unique<impl>();
  auto& self = *result->impl_;
  self.path = opts.path;
  self.max_bytes = opts.max_payload_bytes;
  auto& options = self.options;
  options.create_if_missing = true;
  // Most records are deleted while still in the memtable, and a flush drops a value whose
  // delete is in the same memtable, so a buffer that holds a few seconds of traffic keeps most
  // records out of SST files. Not much more: a restart after a crash replays the log of every
  // memtable not yet flushed (~2 s at 64 MiB after a busy spell, 0.4 s at 8 MiB, the default).
  options.write_buffer_size = opts.write_buffer_bytes;
  // A flush merges two immutable memtables, so a record written just before a memtable switch
  // and deleted just after it still never reaches an SST file.
  options.max_write_buffer_number = 4;
  options.min_write_buffer_number_to_merge = 2;
  options.max_background_jobs = 2; // the machine has 2 cores shared with the server
  // Payloads are webm/jpeg, already compressed: compressing them again only costs CPU.
  options.compression = rocksdb::kNoCompression;
  // No BlobDB: measured (STACK.md §5) at 1,980 vs 1,897 durable puts/s for 160 KB, not worth
  // the extra file type, and held() would then read every blob to learn a size.
  self.env = make_fault_injecting_env();
  options.env = self.env.get();
  // RocksDB ignores files it does not name itself, so the payload segments can live in its folder.
  self.payloads = std::make_unique<payload_log>(std::filesystem::path{opts.path} / "payloads", opts.payload_segment_bytes);
  st = self.open_db();
  if (!st.ok())
    return nullptr;
  return result;
}

spool::~spool() {
  if (impl_ && impl_->db)
    impl_->db->Close(); // returns an error only for unreleased snapshots, which we never take
}

status spool::write_durable(const std::vector<spool_entry>& entries) {
  if (entries.empty())
    return status::success();
  std::vector<payload_piece> bytes;
  bytes.reserve(entries.size());
  uint64_t incoming = 0;
  for (const auto& e : entries) {
    if (e.file_name.size() > UINT16_MAX || e.element.size() > UINT32_MAX
        || (e.payload == nullptr && e.payload_size > 0))
      return {errc::invalid_argument, "spool entry " + describe(e.key) + ": file name, element or payload not storable"};
    bytes.push_back(payload_piece{e.payload, e.payload_size, e.hash});
    incoming += e.payload_size;
  }
  std::lock_guard<std::mutex> guard{impl_->mutation_mutex};
  if (auto r = impl_->ensure_writable(); !r.ok())
    return r;
  if (const auto held = impl_->live_bytes.load(); impl_->max_bytes > 0 && held + incoming > impl_->max_bytes)
    return {errc::over_budget, "the spool holds " + std::to_string(held) + " payload bytes not yet stored as files and rows; "
                                 "spool.max-bytes is " + std::to_string(impl_->max_bytes)};
  // The payloads first, synced; then the records that point at them, synced: a record that
  // survives a crash always finds its bytes.
  std::vector<payload_locator> locs;
  if (auto st = impl_->payloads->append(bytes, locs); !st.ok())
    return st;
  rocksdb::WriteBatch batch;
  std::vector<std::string> keys;
  keys.reserve(entries.size());
  std::string value;
  for (size_t i = 0; i < entries.size(); ++i) {
    keys.push_back(encode_key(entries[i].key));
    encode_value(entries[i], locs[i], value);
    auto s = batch.Put(keys.back(), value);
    if (!s.ok())
      return from_rocksdb(s, "building spool batch");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Write(wo, &batch);
  if (!s.ok())
    return impl_->fail(s, "writing " + std::to_string(entries.size()) + " spool record(s)");
  impl_->payloads->add_refs(locs);
  std::vector<payload_locator> replaced;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto [it, inserted] = impl_->keys.try_emplace(std::move(keys[i]), locs[i]);
    if (inserted) {
      ++impl_->count;
    } else {
      replaced.push_back(it->second);
      impl_->live_bytes -= it->second.length;
      it->second = locs[i];
    }
    impl_->live_bytes += locs[i].length;
  }
  // The replacing records are synced, so segments only they referred to can go at once.
  if (!replaced.empty())
    impl_->payloads->delete_segments(impl_->payloads->release(replaced));
  return status::success();
}

status spool::remove(const std::vector<item_key>& keys) {
  if (keys.empty())
    return status::success();
  rocksdb::WriteBatch batch;
  std::vector<std::string> raw_keys;
  raw_keys.reserve(keys.size());
  for (const auto& k : keys) {
    raw_keys.push_back(encode_key(k));
    auto s = batch.Delete(raw_keys.back());
    if (!s.ok())
      return from_rocksdb(s, "building spool delete batch");
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;
  std::lock_guard<std::mutex> guard{impl_->mutation_mutex};
  if (auto r = impl_->ensure_writable(); !r.ok())
    return r;
  auto s = impl_->db->Write(wo, &batch);
  if (!s.ok())
    return impl_->fail(s, "removing " + std::to_string(keys.size()) + " spool record(s)");
  std::vector<payload_locator> released;
  for (const auto& k : raw_keys)
    if (auto it = impl_->keys.find(k); it != impl_->keys.end()) {
      released.push_back(it->second);
      impl_->live_bytes -= it->second.length;
      impl_->keys.erase(it);
      --impl_->count;
    }
  auto unreferenced = impl_->payloads->release(released);
  if (!unreferenced.empty()) {
    // The deletes were not synced: make them durable before their payloads go, or a crash could
    // bring back records whose bytes are gone. Once per segment (tens of MB), so cheap.
    if (auto synced = impl_->db->SyncWAL(); !synced.ok())
      return impl_->fail(synced, "syncing spool deletes");
    impl_->payloads->delete_segments(unreferenced);
  }
  return status::success();
}

status spool::read_payload(const item_key& key, std::string& out) const {
  const auto raw = encode_key(key);
  std::string value;
  {
    // Only the record lookup needs the database; the payload read (the disk) goes on without
    // holding off the spool writer's reopen.
    std::shared_lock<std::shared_mutex> guard{impl_->db_guard};
    if (!impl_->db)
      return impl_->not_open();
    auto got = impl_->db->Get(rocksdb::ReadOptions{}, rocksdb::Slice{raw.data(), raw.size()}, &value);
    if (got.IsNotFound())
      return {errc::invalid_argument, "no spool record for " + describe(key)};
    if (!got.ok())
      return from_rocksdb(got, "reading a spool record");
  }
  auto header = decode_value(std::string_view{value});
  if (!header)
    return {errc::corruption, "spool record of " + describe(key) + " does not decode"};
  return record_bytes(*header, *impl_->payloads, out);
}

status spool::scan(const std::function<void(spool_record&&)>& fn, const item_key* after,
                   size_t limit) const {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper{records_end.data(), records_end.size()};
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false; // a one-off pass at start-up
  std::shared_lock<std::shared_mutex> guard{impl_->db_guard};
  if (!impl_->db)
    return impl_->not_open();
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(ro)};
  corruption_report bad;
  // A std::string, not `auto`: string vs string_view makes the conditional a string_view of the
  // temporary key, which dangles before Seek (recovery then skipped every page after the first).
  const std::string start = after ? encode_key(*after) : std::string{records_prefix};
  size_t delivered = 0;
  for (it->Seek(rocksdb::Slice{start.data(), start.size()}); it->Valid() && delivered < limit; it->Next()) {
    if (after && view(it->key()) == std::string_view{start})
      continue;
    auto key = decode_key(view(it->key()));
    auto header = key ? decode_value(view(it->value())) : std::nullopt;
    if (!header) {
      bad.add(view(it->key()));
      continue;
    }
    spool_record rec;
    if (!record_bytes(*header, *impl_->payloads, rec.payload).ok()) {
      bad.add(view(it->key()));
      continue;
    }
    rec.key = std::move(*key);
    rec.hash = header->hash;
    rec.file_name = std::string{header->file_name};
    rec.element = std::string{header->element};
    ++delivered;
    fn(std::move(rec));
  }
  if (!it->status().ok())
    return from_rocksdb(it->status(), "scanning spool");
  return bad.result("scanning spool");
}

std::vector<std::string> spool::session_ids() const {
  // From the keys kept in memory: a pass over RocksDB would wade through the tombstones of every
  // record removed since the last compaction.
  std::set<std::string> ids;
  {
    std::lock_guard<std::mutex> guard{impl_->mutation_mutex};
    for (const auto& [raw, loc] : impl_->keys)
      if (auto key = decode_key(raw))
        ids.insert(std::move(key->session_id));
  }
  return {std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end())};
}

std::vector<held_item> spool::held(const std::string& session_id, status& st) const {
  std::vector<held_item> out;
  auto prefix = session_prefix(session_id);
  auto end = prefix;
  end.back() = '0'; // the byte after '/'
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper{end};
  ro.iterate_upper_bound = &upper;
  std::shared_lock<std::shared_mutex> guard{impl_->db_guard};
  if (!impl_->db) {
    st = impl_->not_open();
    return out;
  }
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(ro)};
  corruption_report bad;
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    auto raw_key = view(it->key());
    // A longer session id sharing this prefix ("<id>/x") has a longer key: not ours.
    if (raw_key.size() != prefix.size() + key_suffix_bytes)
      continue;
    auto key = decode_key(raw_key);
    auto header = key ? decode_value(view(it->value())) : std::nullopt;
    if (!header) {
      bad.add(raw_key);
      continue;
    }
    out.push_back(held_item{key->kind, key->index, header->hash, header->payload_size()});
  }
  st = it->status().ok() ? bad.result("reading held items of " + session_id)
                         : from_rocksdb(it->status(), "reading held items of " + session_id);
  return out;
}

uint64_t spool::payload_bytes() const noexcept {
  return impl_->live_bytes.load(std::memory_order_relaxed);
}

uint64_t spool::record_count() const noexcept {
  return impl_->count.load(std::memory_order_relaxed);
}

} // namespace mediaspool::storage
