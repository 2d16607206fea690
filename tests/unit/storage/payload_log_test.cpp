// The spool's payload segments (storage/payload_log.hpp) on the real filesystem: payloads of
// every size, in appends of every shape, read back byte for byte; with direct I/O every append
// ends on a block boundary so no later append rewrites a block holding durable bytes; freed
// segments are kept (at most max_free) and reused in place by later segments.
#include "storage/payload_log.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

using namespace mediaspool::storage;
using mediaspool::test::temp_dir;

namespace {

std::string bytes_of(size_t size, unsigned seed) {
  std::string s(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

/// Appends `data` as one payload; returns its locator.
payload_locator append_one(payload_log& log, const std::string& data) {
  std::vector<payload_locator> locs;
  REQUIRE(log.append({payload_piece{data.data(), data.size(), payload_checksum(data.data(), data.size())}}, locs).ok());
  REQUIRE(locs.size() == 1);
  return locs[0];
}

std::string name_of(uint64_t segment, const char* ext) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%016llx.%s", static_cast<unsigned long long>(segment), ext);
  return name;
}

ino_t inode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_ino;
}

size_t files_with(const std::filesystem::path& dir, const std::string& ext) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator{dir})
    n += e.path().extension() == ext;
  return n;
}

} // namespace

TEST_SUITE("storage.payload_log") {
  TEST_CASE("payloads of every size, across appends and past the staging buffer, read back exactly") {
    temp_dir dir;
    payload_log log{dir.path() / "payloads", 1ull << 30};
    const std::vector<std::vector<size_t>> appends{
      {1, 4095, 4096, 4097, 70000}, {(5u << 20) + 3}, std::vector<size_t>(100, 1000), {0, 17, 0}};
    std::vector<std::pair<payload_locator, std::string>> stored;
    unsigned seed = 0;
    for (auto& sizes : appends) {
      std::vector<std::string> data;
      for (auto n : sizes)
        data.push_back(bytes_of(n, ++seed));
      std::vector<payload_piece> views;
      for (auto& d : data)
        views.push_back(payload_piece{d.data(), d.size(), payload_checksum(d.data(), d.size())});
      std::vector<payload_locator> locs;
      REQUIRE(log.append(views, locs).ok());
      REQUIRE(locs.size() == sizes.size());
      for (size_t i = 0; i < sizes.size(); ++i) {
        CHECK(locs[i].length == sizes[i]);
        if (sizes[i] > 0)
          stored.emplace_back(locs[i], data[i]);
      }
      if (log.direct_io()) {
        auto files = std::filesystem::directory_iterator{dir.path() / "payloads"};
        for (auto& f : files)
          CHECK_MESSAGE(std::filesystem::file_size(f.path()) % 4096 == 0, "an append ends on a block boundary");
      }
    }
    for (auto& [loc, want] : stored) {
      std::string got;
      REQUIRE(log.read(loc, got).ok());
      CHECK(got == want);
    }
    const std::string mode = log.direct_io() ? "yes" : "no (this filesystem has none)";
    MESSAGE("direct I/O: " << mode);
  }
  TEST_CASE("the checksum an append is given is the one a read checks: bytes under another are refused") {
    temp_dir dir;
    payload_log log{dir.path() / "payloads", 1ull << 30};
    const std::string good = bytes_of(5000, 1), other = bytes_of(5000, 2);
    std::vector<payload_locator> locs;
    REQUIRE(log.append({payload_piece{good.data(), good.size(), payload_checksum(good.data(), good.size())},
                        payload_piece{other.data(), other.size(), payload_checksum(good.data(), good.size())}},
                       locs)
              .ok());
    REQUIRE(locs.size() == 2);
    CHECK(locs[0].checksum == locs[1].checksum);
    std::string got;
    REQUIRE(log.read(locs[0], got).ok());
    CHECK(got == good);
    auto st = log.read(locs[1], got);
    CHECK(st.code == errc::corruption);
    CHECK(st.message.find("fails its checksum") != std::string::npos);
  }

  TEST_CASE("a freed full segment is kept and a later segment overwrites it in place, at most max_free of them") {
    temp_dir dir;
    const auto folder = dir.path() / "payloads";
    std::vector<std::pair<payload_locator, std::string>> live;
    {
      payload_log log{folder, 8192}; // every append of 9,000 bytes fills a segment
      std::vector<payload_locator> first;
      for (unsigned i = 0; i < 4; ++i) {
        live.emplace_back(append_one(log, bytes_of(9000, i + 1)), bytes_of(9000, i + 1));
        CHECK(live.back().first.segment == i + 1);
      }
      const std::set<ino_t> freed{inode_of(folder / name_of(1, "dat")), inode_of(folder / name_of(2, "dat"))};
      const auto third = inode_of(folder / name_of(3, "dat"));
      // Segments 1-3 are unreferenced (nothing was add_refs'd), 4 is being appended to.
      auto gone = log.release({});
      REQUIRE(gone == std::vector<uint64_t>{1, 2, 3});
      log.delete_segments(gone);
      CHECK(log.free_count() == payload_log::max_free);
      CHECK(files_with(folder, ".free") == payload_log::max_free);
      CHECK_MESSAGE(!std::filesystem::exists(folder / name_of(3, "dat")), "past max_free a segment is deleted");
      CHECK(files_with(folder, ".dat") == 1);

      const auto data = bytes_of(9000, 9);
      const auto loc = append_one(log, data);
      CHECK(loc.segment == 5);
      CHECK(loc.offset == 0);
      const auto reused = inode_of(folder / name_of(5, "dat"));
      CHECK_MESSAGE(freed.count(reused) == 1, "segment 5 is one of the kept files, not a new one");
      CHECK(reused != third);
      CHECK(log.free_count() == 1);
      std::string got;
      REQUIRE(log.read(loc, got).ok());
      CHECK(got == data);
      REQUIRE(log.read(live[3].first, got).ok());
      CHECK(got == live[3].second);
      live = {live[3], {loc, data}};
    }
    // A restart adopts the kept file and numbers new segments past every id it saw.
    payload_log log{folder, 8192};
    CHECK(log.free_count() == 1);
    for (auto& [loc, data] : live) {
      std::string got;
      REQUIRE(log.read(loc, got).ok());
      CHECK(got == data);
    }
    auto next = append_one(log, bytes_of(100, 42));
    CHECK(next.segment == 6);
    CHECK(log.free_count() == 0);
    CHECK(files_with(folder, ".free") == 0);
    std::string got;
    REQUIRE(log.read(next, got).ok());
    CHECK(got == bytes_of(100, 42));
  }
  TEST_CASE("a segment that was not filled is deleted, not kept: appends past its end would grow it again") {
    temp_dir dir;
    const auto folder = dir.path() / "payloads";
    { payload_log log{folder, 1u << 20}; append_one(log, bytes_of(5000, 1)); }
    payload_log log{folder, 1u << 20}; // segment 1 is no longer appended to
    CHECK(log.recount({}) == 1);
    CHECK(log.free_count() == 0);
    CHECK(files_with(folder, ".dat") == 0);
    CHECK(files_with(folder, ".free") == 0);
  }
}
