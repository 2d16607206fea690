#include "net/http_range.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mediaspool::net;

namespace {

void check_partial(const char* header, uint64_t size, uint64_t first, uint64_t last) {
  auto r = parse_range(header, size);
  CHECK_MESSAGE(r.kind == range_kind::partial, std::string(header));
  CHECK_MESSAGE(r.first == first, std::string(header));
  CHECK_MESSAGE(r.last == last, std::string(header));
  CHECK_MESSAGE(r.length() == last - first + 1, std::string(header));
}

} // namespace

TEST_SUITE("net.http_range") {
  TEST_CASE("reads a closed byte range") {
    check_partial("bytes=0-99", 1000, 0, 99);
    check_partial("bytes=10-10", 1000, 10, 10);
    check_partial(" bytes= 5-7 ", 1000, 5, 7);
    check_partial("Bytes=1-2", 1000, 1, 2);
  }
  TEST_CASE("clamps a range that ends past the file to its last byte") {
    check_partial("bytes=900-5000", 1000, 900, 999);
    check_partial("bytes=0-", 1000, 0, 999);
    check_partial("bytes=999-", 1000, 999, 999);
  }
  TEST_CASE("reads a suffix range as the last bytes") {
    check_partial("bytes=-100", 1000, 900, 999);
    check_partial("bytes=-5000", 1000, 0, 999);
    check_partial("bytes=-1", 1, 0, 0);
  }
  TEST_CASE("answers unsatisfiable for a start past the end or an empty file") {
    CHECK(parse_range("bytes=1000-", 1000).kind == range_kind::unsatisfiable);
    CHECK(parse_range("bytes=1000-2000", 1000).kind == range_kind::unsatisfiable);
    CHECK(parse_range("bytes=-0", 1000).kind == range_kind::unsatisfiable);
    CHECK(parse_range("bytes=0-", 0).kind == range_kind::unsatisfiable);
    CHECK(parse_range("bytes=-10", 0).kind == range_kind::unsatisfiable);
  }
  TEST_CASE("ignores malformed headers other units and several ranges") {
    for (const char* h : {"", "bytes", "bytes=", "bytes=-", "bytes=abc-", "bytes=5-2", "bytes=1-x",
                          "items=0-5", "bytes=0-1,5-6", "bytes=+1-2", "bytes=99999999999999999999-",
                          "bytes 0-5"})
      CHECK_MESSAGE(parse_range(h, 1000).kind == range_kind::full, std::string(h));
  }
}
