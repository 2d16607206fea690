// The spool's read side: recovery scans, what a session holds, and payload read-back for the
// file writer. Readers share db_guard; only a reopen after a write error takes it exclusively.
#include "storage/spool_impl.hpp"
#include "storage/spool_record.hpp"

#include <rocksdb/iterator.h>

#include <optional>
#include <set>

namespace mediaspool::storage {

namespace {

using namespace record_format;

// A record's bytes: inline (version 1) or from the payload log (version 2, checksummed there).
status record_bytes(const header_view& h, const payload_log& log, std::string& out) {
  if (!h.inline_payload)
    return log.read(h.loc, out);
  out.assign(h.payload);
  return status::success();
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
