// The spool's payload segments (storage/payload_log.hpp) on the real filesystem: payloads of
// every size, in appends of every shape, read back byte for byte; with direct I/O every append
// ends on a block boundary so no later append rewrites a block holding durable bytes.
#include "storage/payload_log.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
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
}
