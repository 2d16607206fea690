#include "storage/spool.hpp"
#include "storage/payload_log.hpp"
#include "storage/spool_record.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace mediaspool::storage;
using mediaspool::test::temp_dir;

namespace {

const std::string sid_a = "0f8fad5b-d9cb-469f-a165-70867728950e";
const std::string sid_b = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

std::unique_ptr<spool> open_ok(const temp_dir& dir) {
  status st;
  auto sp = spool::open(spool_options{(dir / "spool").string(), 4u << 20}, st);
  REQUIRE_MESSAGE(st.ok(), st.message);
  REQUIRE(sp != nullptr);
  return sp;
}

// Every byte value, zeros included, so no step may treat the payload as a C string.
std::string binary_payload(size_t size, unsigned seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i)
    out[i] = static_cast<char>((i * 131 + seed) & 0xff);
  return out;
}

/// Owns what a spool_entry borrows.
struct item {
  item_key key;
  uint64_t hash = 0;
  std::string file_name;
  std::string element;
  std::string payload;

  spool_entry entry() const {
    return spool_entry{key, hash, file_name, element, payload.data(), payload.size()};
  }
};

item make_item(const std::string& sid, char kind, uint32_t index, size_t size = 100) {
  item it;
  it.key = item_key{sid, kind, index};
  if (kind != 'r')
    it.file_name = std::string(kind == 'a' ? "chunk_" : "frame_") + std::to_string(index)
                   + (kind == 'a' ? ".webm" : ".jpg");
  it.element = R"({"index":)" + std::to_string(index) + R"(,"note":"caf\u00e9 \"q\""})";
  it.payload = binary_payload(size, index);
  it.hash = payload_checksum(it.payload.data(), it.payload.size());
  return it;
}

status write(spool& sp, const std::vector<item>& items) {
  std::vector<spool_entry> entries;
  for (const auto& it : items)
    entries.push_back(it.entry());
  return sp.write_durable(entries);
}

std::vector<spool_record> scan_all(const spool& sp, status& st) {
  std::vector<spool_record> out;
  st = sp.scan([&](spool_record&& rec) { out.push_back(std::move(rec)); });
  return out;
}

std::vector<spool_record> scan_ok(const spool& sp) {
  status st;
  auto out = scan_all(sp, st);
  REQUIRE_MESSAGE(st.ok(), st.message);
  return out;
}

void check_same(const spool_record& rec, const item& expected) {
  CHECK(rec.key == expected.key);
  CHECK(rec.hash == expected.hash);
  CHECK(rec.file_name == expected.file_name);
  CHECK(rec.element == expected.element);
  CHECK_MESSAGE(rec.payload == expected.payload, "payload of index " << expected.key.index
                                                                     << " differs");
}

size_t segment_files(const temp_dir& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator{dir / "spool" / "payloads"})
    n += e.path().extension() == ".dat";
  return n;
}

} // namespace

TEST_SUITE("storage.spool") {

TEST_CASE("the memtable hint prefix is a record key without its index, and other keys are out of its domain") {
  using namespace mediaspool::storage::record_format;
  auto transform = key_without_index();
  const std::string sid = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const auto a7 = encode_key({sid, 'a', 7});
  const auto a8 = encode_key({sid, 'a', 0x01020308});
  const auto f7 = encode_key({sid, 'f', 7});
  REQUIRE(transform->InDomain(a7));
  CHECK(transform->Transform(a7).ToString() == session_prefix(sid) + "a/");
  CHECK(transform->Transform(a8) == transform->Transform(a7));
  CHECK(transform->Transform(f7).ToString() == session_prefix(sid) + "f/");
  CHECK_FALSE(transform->InDomain(std::string{"m/config"}));
  CHECK_FALSE(transform->InDomain(std::string{"i/"}));
  CHECK_FALSE(transform->InDomain(std::string{}));
}
  TEST_CASE("returns every field and payload byte after close and reopen") {
    temp_dir dir;
    std::vector<item> items{make_item(sid_a, 'a', 0, 4096), make_item(sid_a, 'f', 3, 777),
                            make_item(sid_a, 'r', 9, 12)};
    {
      auto sp = open_ok(dir);
      auto st = write(*sp, items);
      REQUIRE_MESSAGE(st.ok(), st.message);
    }
    auto sp = open_ok(dir);
    auto recs = scan_ok(*sp);
    REQUIRE(recs.size() == items.size());
    for (size_t i = 0; i < items.size(); ++i)
      check_same(recs[i], items[i]);
    CHECK_MESSAGE(recs[2].file_name.empty(), "a response has no file name");
  }

  TEST_CASE("read_payload returns one record's bytes, and a clear error once the record is removed") {
    temp_dir dir;
    std::vector<item> items{make_item(sid_a, 'a', 0, 150000), make_item(sid_a, 'f', 1, 1), make_item(sid_b, 'a', 0, 0)};
    auto sp = open_ok(dir);
    auto st = write(*sp, items);
    REQUIRE_MESSAGE(st.ok(), st.message);
    for (const auto& it : items) {
      CAPTURE(it.key.index);
      std::string out = "stale";
      st = sp->read_payload(it.key, out);
      REQUIRE_MESSAGE(st.ok(), st.message);
      CHECK(out == it.payload);
    }
    REQUIRE(sp->remove({items[0].key}).ok());
    std::string out;
    st = sp->read_payload(items[0].key, out);
    CHECK(st.code == errc::invalid_argument);
    CHECK_MESSAGE(st.message.find("no spool record") != std::string::npos, st.message);
  }

  TEST_CASE("scans in session then kind then numeric index order") {
    temp_dir dir;
    auto sp = open_ok(dir);
    // 256 and 65536 sort before 1 and 255 if the index were little-endian or decimal text.
    std::vector<item> items{make_item(sid_b, 'a', 2),     make_item(sid_a, 'f', 65536),
                            make_item(sid_a, 'a', 256),   make_item(sid_a, 'a', 1),
                            make_item(sid_a, 'r', 0),     make_item(sid_a, 'a', 255),
                            make_item(sid_a, 'f', 0),     make_item(sid_b, 'a', 1)};
    REQUIRE(write(*sp, items).ok());
    std::vector<item_key> expected;
    for (const auto& it : items)
      expected.push_back(it.key);
    std::sort(expected.begin(), expected.end());
    auto recs = scan_ok(*sp);
    REQUIRE(recs.size() == expected.size());
    for (size_t i = 0; i < recs.size(); ++i)
      CHECK_MESSAGE(recs[i].key == expected[i], "position " << i << " holds "
                                                            << recs[i].key.session_id << " "
                                                            << recs[i].key.kind << " "
                                                            << recs[i].key.index);
  }

  TEST_CASE("scans page by page after a key with a limit and visits every record once") {
    temp_dir dir;
    auto sp = open_ok(dir);
    std::vector<item> items;
    for (uint32_t i = 0; i < 23; ++i)
      items.push_back(make_item(i % 2 ? sid_a : sid_b, i % 3 ? 'f' : 'a', i));
    REQUIRE(write(*sp, items).ok());
    std::vector<item_key> seen;
    std::optional<item_key> cursor;
    for (int page = 0; page < 10; ++page) {
      size_t n = 0;
      auto st = sp->scan(
        [&](spool_record&& rec) {
          ++n;
          cursor = rec.key;
          seen.push_back(rec.key);
        },
        cursor ? &*cursor : nullptr, 5);
      REQUIRE_MESSAGE(st.ok(), st.message);
      CHECK_MESSAGE(n <= 5, "a page holds at most the limit");
      if (n < 5)
        break;
    }
    std::vector<item_key> expected;
    for (const auto& it : items)
      expected.push_back(it.key);
    std::sort(expected.begin(), expected.end());
    CHECK_MESSAGE(seen == expected, "pages visited " << seen.size() << " of " << expected.size() << " records");
  }

  TEST_CASE("held lists one session only with payload sizes and hashes") {
    temp_dir dir;
    auto sp = open_ok(dir);
    std::vector<item> items{make_item(sid_a, 'a', 0, 10), make_item(sid_a, 'f', 1, 0),
                            make_item(sid_b, 'a', 0, 30), make_item(sid_a, 'a', 300, 5000),
                            make_item(sid_a + "/x", 'a', 7, 1)};
    REQUIRE(write(*sp, items).ok());
    status st;
    auto held = sp->held(sid_a, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE_MESSAGE(held.size() == 3, "only " << sid_a << "'s records, not a longer id's");
    std::map<std::pair<char, uint32_t>, const item*> by_key;
    for (const auto& it : items)
      if (it.key.session_id == sid_a)
        by_key[{it.key.kind, it.key.index}] = &it;
    for (const auto& h : held) {
      auto found = by_key.find({h.kind, h.index});
      REQUIRE_MESSAGE(found != by_key.end(), "unexpected " << h.kind << " " << h.index);
      CHECK(h.hash == found->second->hash);
      CHECK(h.size == found->second->payload.size());
    }
    CHECK(sp->held("00000000-0000-0000-0000-000000000000", st).empty());
    CHECK(st.ok());
  }

  TEST_CASE("session_ids lists each session with records once, a longer id sharing a prefix too, and none once removed") {
    temp_dir dir;
    auto sp = open_ok(dir);
    CHECK(sp->session_ids().empty());
    std::vector<item> items{make_item(sid_a, 'a', 0, 10), make_item(sid_a + "/b", 'a', 1, 1), make_item(sid_a, 'f', 1, 0),
                            make_item(sid_b, 'a', 0, 30), make_item(sid_a, 'a', 300, 5000)};
    REQUIRE(write(*sp, items).ok());
    auto ids = sp->session_ids();
    std::vector<std::string> want{sid_a, sid_a + "/b", sid_b};
    std::sort(want.begin(), want.end());
    CHECK(ids == want);
    REQUIRE(sp->remove({items[3].key}).ok());
    const std::vector<std::string> left{sid_a, sid_a + "/b"};
    CHECK(sp->session_ids() == left);
    sp.reset();
    sp = open_ok(dir);
    CHECK_MESSAGE(sp->session_ids() == left, "what open found");
  }

  TEST_CASE("removed records stay gone after reopen") {
    temp_dir dir;
    {
      auto sp = open_ok(dir);
      REQUIRE(write(*sp, {make_item(sid_a, 'a', 0), make_item(sid_a, 'a', 1),
                          make_item(sid_a, 'f', 0)})
                  .ok());
      auto st = sp->remove({item_key{sid_a, 'a', 0}, item_key{sid_a, 'f', 0}});
      REQUIRE_MESSAGE(st.ok(), st.message);
    }
    auto sp = open_ok(dir);
    auto recs = scan_ok(*sp);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].key == item_key{sid_a, 'a', 1});
    status st;
    CHECK(sp->held(sid_a, st).size() == 1);
  }

  TEST_CASE("record count ignores rewrites and missing keys and survives reopen") {
    temp_dir dir;
    {
      auto sp = open_ok(dir);
      CHECK(sp->record_count() == 0);
      REQUIRE(write(*sp, {make_item(sid_a, 'a', 0), make_item(sid_a, 'a', 1),
                          make_item(sid_b, 'f', 0)})
                  .ok());
      CHECK(sp->record_count() == 3);
      REQUIRE(write(*sp, {make_item(sid_a, 'a', 1, 50)}).ok());
      CHECK_MESSAGE(sp->record_count() == 3, "rewriting a key replaces its record");
      REQUIRE(sp->remove({item_key{sid_a, 'a', 99}}).ok());
      CHECK_MESSAGE(sp->record_count() == 3, "removing a missing key changes nothing");
      REQUIRE(sp->remove({item_key{sid_a, 'a', 0}, item_key{sid_a, 'a', 0}}).ok());
      CHECK_MESSAGE(sp->record_count() == 2, "a key named twice is removed once");
    }
    auto sp = open_ok(dir);
    CHECK(sp->record_count() == 2);
    auto recs = scan_ok(*sp);
    REQUIRE(recs.size() == 2);
    CHECK_MESSAGE(recs[0].payload.size() == 50, "the rewrite's payload is the one kept");
  }

  TEST_CASE("stores an empty payload") {
    temp_dir dir;
    item empty = make_item(sid_a, 'r', 4, 0);
    {
      auto sp = open_ok(dir);
      spool_entry e = empty.entry();
      e.payload = nullptr;
      REQUIRE(sp->write_durable({e}).ok());
    }
    auto sp = open_ok(dir);
    auto recs = scan_ok(*sp);
    REQUIRE(recs.size() == 1);
    check_same(recs[0], empty);
    status st;
    auto held = sp->held(sid_a, st);
    REQUIRE(held.size() == 1);
    CHECK(held[0].size == 0);
  }

  TEST_CASE("stores a one MiB payload byte for byte") {
    temp_dir dir;
    item big = make_item(sid_a, 'a', 12, 1u << 20);
    {
      auto sp = open_ok(dir);
      REQUIRE(write(*sp, {big}).ok());
    }
    auto sp = open_ok(dir);
    auto recs = scan_ok(*sp);
    REQUIRE(recs.size() == 1);
    check_same(recs[0], big);
    status st;
    auto held = sp->held(sid_a, st);
    REQUIRE(held.size() == 1);
    CHECK(held[0].size == (1u << 20));
  }

  TEST_CASE("writing no entries succeeds and stores nothing") {
    temp_dir dir;
    auto sp = open_ok(dir);
    CHECK(sp->write_durable({}).ok());
    CHECK(sp->remove({}).ok());
    CHECK(sp->record_count() == 0);
    CHECK(scan_ok(*sp).empty());
  }

  TEST_CASE("rejects a batch with an unstorable file name and writes none of it") {
    temp_dir dir;
    auto sp = open_ok(dir);
    item good = make_item(sid_a, 'a', 0);
    item bad = make_item(sid_a, 'a', 1);
    bad.file_name.assign(70000, 'x');
    auto st = write(*sp, {good, bad});
    CHECK(st.code == errc::invalid_argument);
    CHECK(sp->record_count() == 0);
    CHECK_MESSAGE(scan_ok(*sp).empty(), "a rejected batch must not be partly written");
  }

  TEST_CASE("a second open of the same path fails with a status") {
    temp_dir dir;
    auto first = open_ok(dir);
    status st;
    auto second = spool::open(spool_options{(dir / "spool").string(), 4u << 20}, st);
    CHECK(second == nullptr);
    CHECK_MESSAGE(st.code == errc::io_error, "RocksDB's LOCK is held: " << st.message);
    CHECK_FALSE(st.message.empty());
  }

  TEST_CASE("scan and held report an undecodable record and return the good ones") {
    temp_dir dir;
    {
      auto sp = open_ok(dir);
      REQUIRE(write(*sp, {make_item(sid_a, 'a', 0), make_item(sid_a, 'a', 2)}).ok());
    }
    {
      // Plant records the spool cannot decode: an unknown version and a truncated header.
      rocksdb::DB* raw = nullptr;
      rocksdb::Options options;
      REQUIRE(rocksdb::DB::Open(options, (dir / "spool").string(), &raw).ok());
      std::unique_ptr<rocksdb::DB> db{raw};
      std::string key = "i/" + sid_a + "/a/";
      key.append(std::string{'\0', '\0', '\0', '\1'});
      REQUIRE(db->Put(rocksdb::WriteOptions{}, key, std::string{"\x63garbage"}).ok());
      key.back() = '\3';
      REQUIRE(db->Put(rocksdb::WriteOptions{}, key, std::string{"\x01\x02"}).ok());
      REQUIRE(db->Close().ok());
    }
    auto sp = open_ok(dir);
    CHECK(sp->record_count() == 4);
    status st;
    auto recs = scan_all(*sp, st);
    CHECK(st.code == errc::corruption);
    CHECK_FALSE(st.message.empty());
    REQUIRE_MESSAGE(recs.size() == 2, "the good records are still delivered");
    CHECK(recs[0].key.index == 0);
    CHECK(recs[1].key.index == 2);
    auto held = sp->held(sid_a, st);
    CHECK(st.code == errc::corruption);
    CHECK(held.size() == 2);
  }

  // -- the payload log ----------------------------------------------------------------------

  TEST_CASE("payload segments rotate and are deleted once no record points into them") {
    temp_dir dir;
    status st;
    spool_options opts{(dir / "spool").string(), 4u << 20, 8u << 10}; // 8 KiB segments
    auto sp = spool::open(opts, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    std::vector<item> items;
    for (uint32_t i = 0; i < 24; ++i)
      items.push_back(make_item(sid_a, 'a', i, 3000));
    for (auto& it : items) // one commit each: a new segment every few commits
      REQUIRE(write(*sp, {it}).ok());
    CHECK_MESSAGE(segment_files(dir) >= 6, "24 x 3000 bytes in 8 KiB segments");
    std::vector<item_key> first_half;
    for (uint32_t i = 0; i < 12; ++i)
      first_half.push_back(items[i].key);
    REQUIRE(sp->remove(first_half).ok());
    const auto after_half = segment_files(dir);
    CHECK(after_half < 6 + 4);
    auto recs = scan_ok(*sp);
    REQUIRE(recs.size() == 12);
    for (size_t i = 0; i < recs.size(); ++i)
      check_same(recs[i], items[12 + i]);
    std::vector<item_key> rest;
    for (uint32_t i = 12; i < 24; ++i)
      rest.push_back(items[i].key);
    REQUIRE(sp->remove(rest).ok());
    CHECK_MESSAGE(segment_files(dir) <= 1, "only the segment being appended to may stay");
  }

  TEST_CASE("a replaced record releases its payload, and a reopen deletes what nothing points to") {
    temp_dir dir;
    status st;
    spool_options opts{(dir / "spool").string(), 4u << 20, 4u << 10};
    {
      auto sp = spool::open(opts, st);
      REQUIRE(st.ok());
      for (int round = 0; round < 10; ++round) // the same key again and again (a resent item)
        REQUIRE(write(*sp, {make_item(sid_a, 'f', 1, 5000)}).ok());
      CHECK(sp->record_count() == 1);
      CHECK_MESSAGE(segment_files(dir) <= 2, "replaced payloads do not pile up");
    }
    auto sp = spool::open(opts, st);
    REQUIRE(st.ok());
    auto recs = scan_ok(*sp);
    REQUIRE(recs.size() == 1);
    check_same(recs[0], make_item(sid_a, 'f', 1, 5000));
    CHECK(segment_files(dir) <= 1);
  }

  TEST_CASE("a payload damaged on disk is reported as corruption and the others are delivered") {
    temp_dir dir;
    std::vector<item> items{make_item(sid_a, 'a', 0, 2000), make_item(sid_a, 'a', 1, 2000), make_item(sid_a, 'a', 2, 2000)};
    {
      auto sp = open_ok(dir);
      REQUIRE(write(*sp, items).ok());
    }
    // Flip one byte of the middle payload (the three are written back to back).
    std::filesystem::path seg;
    for (auto& e : std::filesystem::directory_iterator{dir / "spool" / "payloads"})
      seg = e.path();
    {
      std::fstream f{seg, std::ios::in | std::ios::out | std::ios::binary};
      f.seekp(2000 + 17);
      f.put('\x5a' ^ items[1].payload[17]);
    }
    auto sp = open_ok(dir);
    status st;
    auto recs = scan_all(*sp, st);
    CHECK(st.code == errc::corruption);
    REQUIRE(recs.size() == 2);
    check_same(recs[0], items[0]);
    check_same(recs[1], items[2]);
  }

  TEST_CASE("a record with its payload inline (written by an older server) is still recovered") {
    temp_dir dir;
    { auto sp = open_ok(dir); }
    auto it = make_item(sid_b, 'f', 7, 999);
    {
      rocksdb::DB* raw = nullptr;
      rocksdb::Options options;
      REQUIRE(rocksdb::DB::Open(options, (dir / "spool").string(), &raw).ok());
      std::unique_ptr<rocksdb::DB> db{raw};
      std::string key = "i/" + sid_b + "/f/";
      key.append(std::string{'\0', '\0', '\0', '\7'});
      std::string v(1, '\1'); // version 1: hash, name, element, then the payload itself
      for (int i = 0; i < 8; ++i)
        v.push_back(static_cast<char>((it.hash >> (8 * i)) & 0xff));
      v.push_back(static_cast<char>(it.file_name.size() & 0xff));
      v.push_back(static_cast<char>(it.file_name.size() >> 8));
      v += it.file_name;
      for (int i = 0; i < 4; ++i)
        v.push_back(static_cast<char>((it.element.size() >> (8 * i)) & 0xff));
      v += it.element;
      v += it.payload;
      REQUIRE(db->Put(rocksdb::WriteOptions{}, key, v).ok());
      REQUIRE(db->Close().ok());
    }
    auto sp = open_ok(dir);
    auto recs = scan_ok(*sp);
    REQUIRE(recs.size() == 1);
    check_same(recs[0], it);
    status st;
    auto held = sp->held(sid_b, st);
    REQUIRE(held.size() == 1);
    CHECK(held[0].size == 999);
  }

  TEST_CASE("payload bytes are counted exactly and a write beyond spool.max-bytes fails with over_budget") {
    temp_dir dir;
    status st;
    spool_options opts{(dir / "spool").string(), 4u << 20, 64u << 10, 12000};
    {
      auto sp = spool::open(opts, st);
      REQUIRE(st.ok());
      REQUIRE(write(*sp, {make_item(sid_a, 'a', 0, 4000), make_item(sid_a, 'a', 1, 4000)}).ok());
      CHECK(sp->payload_bytes() == 8000);
      // A replacement is checked with its new bytes before the old ones are released (8000 + 3000).
      REQUIRE(write(*sp, {make_item(sid_a, 'a', 1, 3000)}).ok()); // replaces: 4000 -> 3000
      CHECK(sp->payload_bytes() == 7000);
      auto over = write(*sp, {make_item(sid_a, 'a', 2, 5001)});
      CHECK(over.code == errc::over_budget);
      CHECK_FALSE(over.message.empty());
      CHECK(sp->record_count() == 2);
      REQUIRE(sp->remove({make_item(sid_a, 'a', 0).key}).ok());
      CHECK(sp->payload_bytes() == 3000);
      REQUIRE(write(*sp, {make_item(sid_a, 'a', 2, 5001)}).ok()); // room again
      CHECK(sp->payload_bytes() == 8001);
    }
    auto sp = spool::open(opts, st);
    REQUIRE(st.ok());
    CHECK_MESSAGE(sp->payload_bytes() == 8001, "recounted at open");
  }
}
