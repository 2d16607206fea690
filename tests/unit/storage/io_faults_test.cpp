// Injected I/O failures (faults/) against the real media store and the real RocksDB spool: a
// failed write, sync or rename never reports success, leaves no torn or temp file, and the store
// works again once the fault is gone, without being reopened.
#include "faults/faults.hpp"
#include "storage/media_store.hpp"
#include "storage/spool.hpp"
#include "storage/payload_log.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <fstream>
#include <map>
#include <iterator>
#include <string>
#include <vector>

using namespace mediaspool::storage;
namespace faults = mediaspool::faults;
using mediaspool::test::temp_dir;

namespace {

const std::string sid = "0f8fad5b-d9cb-469f-a165-70867728950e";

/// Arms faults for one test and disarms them whatever happens (they are process-wide).
struct armed {
  explicit armed(const std::string& spec) {
    std::string error;
    auto parsed = faults::parse_io_faults(spec, error);
    REQUIRE_MESSAGE(parsed, error);
    faults::arm_io_faults(*parsed);
  }
  ~armed() { faults::arm_io_faults({}); }
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>(in), {}};
}

size_t temp_files_under(const std::filesystem::path& root) {
  size_t n = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator{root, ec})
    if (e.path().extension() == ".tmp")
      ++n;
  return n;
}

status put(spool& sp, uint32_t index, const std::string& payload) {
  std::vector<spool_entry> entries{
    spool_entry{item_key{sid, 'a', index}, payload_checksum(payload.data(), payload.size()), "chunk_" + std::to_string(index) + ".webm", "{}",
                payload.data(), payload.size()}};
  return sp.write_durable(entries);
}

std::vector<uint32_t> spooled_indexes(const spool& sp) {
  std::vector<uint32_t> out;
  auto st = sp.scan([&](spool_record&& r) { out.push_back(r.key.index); });
  REQUIRE_MESSAGE(st.ok(), st.message);
  return out;
}

} // namespace

TEST_SUITE("faults.io") {
  TEST_CASE("fault specs parse, and bad ones are refused with a reason") {
    std::string error;
    auto f = faults::parse_io_faults("spool.sync@3:persistent:ENOSPC, media.rename", error);
    REQUIRE_MESSAGE(f, error);
    REQUIRE(f->size() == 2);
    CHECK((*f)[0].scope == faults::io_scope::spool);
    CHECK((*f)[0].op == faults::io_op::sync);
    CHECK((*f)[0].nth == 3);
    CHECK((*f)[0].persistent);
    CHECK((*f)[0].error == ENOSPC);
    CHECK((*f)[1].scope == faults::io_scope::media);
    CHECK((*f)[1].op == faults::io_op::rename);
    CHECK((*f)[1].nth == 1);
    CHECK_FALSE((*f)[1].persistent);
    CHECK((*f)[1].error == EIO);
    auto slow = faults::parse_io_faults("spool.sync:persistent:slow=250, media.write:slow=10:ENOSPC", error);
    REQUIRE_MESSAGE(slow, error);
    CHECK((*slow)[0].slow_ms == 250);
    CHECK((*slow)[0].error == 0); // slow alone: the call waits, then succeeds
    CHECK((*slow)[1].slow_ms == 10);
    CHECK((*slow)[1].error == ENOSPC);
    for (auto bad : {"disk.sync", "spool.flush", "spool.sync@0", "spool.sync@x", "media.write:sometimes",
                     "spool.sync:slow=", "spool.sync:slow=0", "spool.sync:slow=5s", "spool.sync:slow=99999"}) {
      error.clear();
      CHECK_MESSAGE(!faults::parse_io_faults(bad, error), bad);
      CHECK_MESSAGE(!error.empty(), bad);
    }
    CHECK(faults::parse_crash_point("mid-batch@4", error)->nth == 4);
    CHECK_FALSE(faults::parse_crash_point("somewhere", error));
  }

  TEST_CASE("a one-shot failure hits exactly the nth call") {
    armed a{"media.write@2"};
    CHECK(faults::injected_io_error(faults::io_scope::media, faults::io_op::write) == 0);
    CHECK(faults::injected_io_error(faults::io_scope::spool, faults::io_op::write) == 0); // other scope
    CHECK(faults::injected_io_error(faults::io_scope::media, faults::io_op::sync) == 0);  // other op
    CHECK(faults::injected_io_error(faults::io_scope::media, faults::io_op::write) == EIO);
    CHECK(faults::injected_io_error(faults::io_scope::media, faults::io_op::write) == 0);
  }

  TEST_CASE("a slow disk: the spool's commit waits as long as asked and still succeeds") {
    temp_dir dir;
    status st;
    auto sp = spool::open(spool_options{(dir / "spool").string(), 4u << 20}, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE(put(*sp, 0, "warm").ok());
    const auto injected_before = faults::io_failures_injected();
    {
      armed a{"spool.sync:persistent:slow=300"};
      const auto t0 = std::chrono::steady_clock::now();
      auto slow = put(*sp, 1, "slow bytes");
      const auto took = std::chrono::steady_clock::now() - t0;
      REQUIRE_MESSAGE(slow.ok(), slow.message);
      CHECK(took >= std::chrono::milliseconds(300));
    }
    CHECK(faults::io_failures_injected() > injected_before);
    CHECK(spooled_indexes(*sp) == std::vector<uint32_t>{0, 1});
  }

  TEST_CASE("media: failed write, fsync or rename reports the error and leaves the old file, no temp file") {
    temp_dir dir;
    media_store store{dir / "media"};
    REQUIRE(store.write_atomic(sid, "audio", "chunk_0.webm", "old", 3).ok());
    auto path = *store.path_of(sid, "audio", "chunk_0.webm");
    for (auto spec : {"media.write", "media.sync", "media.rename"}) {
      CAPTURE(spec);
      {
        armed a{spec};
        auto st = store.write_atomic(sid, "audio", "chunk_0.webm", "new bytes", 9);
        CHECK_FALSE(st.ok());
        CHECK(st.code == errc::io_error);
      }
      CHECK(read_file(path) == "old");
      CHECK(temp_files_under(dir / "media") == 0);
    }
    // The fault was one-shot: the same call now succeeds without any reopening.
    REQUIRE(store.write_atomic(sid, "audio", "chunk_0.webm", "new bytes", 9).ok());
    CHECK(read_file(path) == "new bytes");
  }

  TEST_CASE("media: a failed batch sync fails every file of the batch and leaves none behind") {
    temp_dir dir;
    media_store store{dir / "media"};
    std::vector<media_write> files{{sid, "audio", "chunk_1.webm", "aaaa", 4},
                                   {sid, "frames", "frame_1.jpg", "ffff", 4}};
    {
      armed a{"media.sync@1:ENOSPC"};
      auto results = store.write_batch(files);
      REQUIRE(results.size() == 2);
      for (auto& r : results) {
        CHECK_FALSE(r.ok());
        CHECK(r.code == errc::no_space);
      }
    }
    CHECK_FALSE(std::filesystem::exists(*store.path_of(sid, "audio", "chunk_1.webm")));
    CHECK(temp_files_under(dir / "media") == 0);
    for (auto& r : store.write_batch(files))
      CHECK(r.ok());
    CHECK(read_file(*store.path_of(sid, "frames", "frame_1.jpg")) == "ffff");
  }

  TEST_CASE("media: a persistent fault fails every call until disarmed") {
    temp_dir dir;
    media_store store{dir / "media"};
    {
      armed a{"media.sync@1:persistent"};
      for (int i = 0; i < 5; ++i)
        CHECK_FALSE(store.write_atomic(sid, "audio", "chunk_2.webm", "x", 1).ok());
    }
    CHECK(store.write_atomic(sid, "audio", "chunk_2.webm", "x", 1).ok());
  }

  TEST_CASE("spool: a failed payload sync is an error, and the next write succeeds in a fresh segment") {
    temp_dir dir;
    status st;
    auto sp = spool::open(spool_options{(dir / "spool").string(), 4u << 20}, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE(put(*sp, 0, "zero").ok());
    {
      armed a{"spool.sync@1"};
      auto failed = put(*sp, 1, "one");
      CHECK_FALSE(failed.ok());
      CHECK(failed.code == errc::io_error);
    }
    auto after = put(*sp, 2, "two");
    REQUIRE_MESSAGE(after.ok(), after.message);
    CHECK(sp->record_count() >= 2);
    auto idx = spooled_indexes(*sp);
    CHECK(std::find(idx.begin(), idx.end(), 0u) != idx.end());
    CHECK(std::find(idx.begin(), idx.end(), 2u) != idx.end());
    // The failed batch was never reported durable; it may or may not be replayed from the WAL at the
    // next open (its client was not acked and sends it again), but what was acked must be there.
    sp.reset();
    sp = spool::open(spool_options{(dir / "spool").string(), 4u << 20}, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    idx = spooled_indexes(*sp);
    CHECK(std::find(idx.begin(), idx.end(), 0u) != idx.end());
    CHECK(std::find(idx.begin(), idx.end(), 2u) != idx.end());
  }

  TEST_CASE("spool: a payload segment that saw a failed sync is deleted once free, never kept for reuse") {
    temp_dir dir;
    const auto folder = dir / "payloads";
    payload_log log{folder, 8192}; // each append of 9,000 bytes fills a segment
    const std::string data(9000, 'x');
    const payload_piece piece{data.data(), data.size(), payload_checksum(data.data(), data.size())};
    std::vector<payload_locator> locs;
    REQUIRE(log.append({piece}, locs).ok()); // segment 1
    {
      armed a{"spool.sync@2"}; // the new segment's folder sync passes, its data sync fails
      CHECK_FALSE(log.append({piece}, locs).ok()); // segment 2, broken
    }
    REQUIRE(log.append({piece}, locs).ok()); // segment 3
    CHECK(locs[0].segment == 3);
    auto gone = log.release({});
    REQUIRE(gone == std::vector<uint64_t>{1, 2});
    log.delete_segments(gone);
    CHECK(log.free_count() == 1);
    CHECK(std::filesystem::exists(folder / "seg-0000000000000001.free"));
    CHECK_FALSE(std::filesystem::exists(folder / "seg-0000000000000002.free"));
    CHECK_FALSE(std::filesystem::exists(folder / "seg-0000000000000002.dat"));
  }

  TEST_CASE("spool: a failed RocksDB WAL sync (after the payload sync) is an error, the spool reopens and goes on") {
    temp_dir dir;
    status st;
    auto sp = spool::open(spool_options{(dir / "spool").string(), 4u << 20}, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE(put(*sp, 0, "zero").ok()); // creates the payload segment
    {
      // In a commit the payload log's fdatasync is the 1st sync, RocksDB's WAL sync the 2nd.
      armed a{"spool.sync@2"};
      auto failed = put(*sp, 1, "one");
      CHECK_FALSE(failed.ok());
      CHECK_MESSAGE(failed.message.find("spool record") != std::string::npos, failed.message);
    }
    // The next write reopens RocksDB (the failed WAL is not written to again) and succeeds.
    auto after = put(*sp, 2, "two");
    REQUIRE_MESSAGE(after.ok(), after.message);
    sp.reset();
    sp = spool::open(spool_options{(dir / "spool").string(), 4u << 20}, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    std::map<uint32_t, std::string> got;
    REQUIRE(sp->scan([&](spool_record&& r) { got[r.key.index] = r.payload; }).ok());
    CHECK(got[0] == "zero");
    CHECK(got[2] == "two");
    // The failed record may come back from the WAL (never acked, so its client resends it), but
    // never with other bytes than it was given.
    if (got.count(1))
      CHECK(got[1] == "one");
  }

  TEST_CASE("spool: a full disk is reported as no_space until space returns") {
    temp_dir dir;
    status st;
    auto sp = spool::open(spool_options{(dir / "spool").string(), 4u << 20}, st);
    REQUIRE_MESSAGE(st.ok(), st.message);
    {
      armed a{"spool.write@1:persistent:ENOSPC"};
      for (uint32_t i = 0; i < 3; ++i) {
        auto failed = put(*sp, i, "payload");
        CHECK_FALSE(failed.ok());
        CHECK_MESSAGE(failed.code == errc::no_space, failed.message);
      }
    }
    // The spool retries its reopen at most every 200 ms: poll with a deadline.
    status ok;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      ok = put(*sp, 7, "payload");
      if (!ok.ok())
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (!ok.ok() && std::chrono::steady_clock::now() < deadline);
    REQUIRE_MESSAGE(ok.ok(), ok.message);
    auto idx = spooled_indexes(*sp);
    CHECK(std::find(idx.begin(), idx.end(), 7u) != idx.end());
  }
}
