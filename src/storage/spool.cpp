// The spool's write side: opening, group commits, removals, and the reopen after a write error.
// The read side is spool_reads.cpp.
#include "storage/spool_impl.hpp"

#include "storage/fault_fs.hpp"
#include "storage/spool_record.hpp"

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

namespace mediaspool::storage {

using namespace record_format;

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

status spool::impl::open_db() {
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

status spool::impl::ensure_writable() {
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
  ++reopens;
  return status::success();
}

status spool::impl::fail(const rocksdb::Status& s, std::string_view what) {
  last_error = from_rocksdb(s, what);
  broken = true;
  next_reopen = {};
  std::unique_lock<std::shared_mutex> guard{db_guard};
  if (db)
    db->Close();
  db.reset();
  return last_error;
}

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
  // A session's records arrive in index order, each after the last of its kind, and its deletes
  // a few items behind: with a hint per session and kind an insert starts from there instead of
  // searching the memtable's skip list from the top (~30 % of the spool thread at figure 2's
  // load, most of it comparing keys that share their first 41 bytes). A hint takes ~250 bytes of
  // the memtable's own arena, so write_buffer_size still bounds it.
  options.memtable_insert_with_hint_prefix_extractor = key_without_index();
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

status spool::reopen_if_closed() {
  std::lock_guard<std::mutex> guard{impl_->mutation_mutex};
  return impl_->ensure_writable();
}

bool spool::is_open() const noexcept { return !impl_->broken.load(); }

uint64_t spool::reopen_count() const noexcept { return impl_->reopens.load(); }

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

} // namespace mediaspool::storage
