#include "net/iso8601.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using namespace mediaspool::net;

TEST_SUITE("net.iso8601") {
  TEST_CASE("normalises a browser time to the stored UTC form") {
    auto us = parse_iso8601("2025-12-17T09:21:15.134Z");
    REQUIRE(us);
    CHECK(format_iso8601(*us) == "2025-12-17T09:21:15.134000+00:00");
  }
  TEST_CASE("applies a zone offset") {
    auto us = parse_iso8601("2025-12-17T11:21:15+02:00");
    REQUIRE(us);
    CHECK(format_iso8601(*us) == "2025-12-17T09:21:15.000000+00:00");
    CHECK(parse_iso8601("2025-12-17T11:21:15+0200") == us);
  }
  TEST_CASE("reads times before the epoch and across leap days") {
    CHECK(format_iso8601(*parse_iso8601("1969-12-31T23:59:59.5Z")) == "1969-12-31T23:59:59.500000+00:00");
    CHECK(format_iso8601(*parse_iso8601("2024-02-29T00:00:00Z")) == "2024-02-29T00:00:00.000000+00:00");
  }
  TEST_CASE("formats the first and last instants of years 0000 to 9999 and reads every form back") {
    CHECK(format_iso8601(0) == "1970-01-01T00:00:00.000000+00:00");
    CHECK(format_iso8601(*parse_iso8601("0000-01-01T00:00:00Z")) == "0000-01-01T00:00:00.000000+00:00");
    CHECK(format_iso8601(*parse_iso8601("9999-12-31T23:59:59.999999Z")) == "9999-12-31T23:59:59.999999+00:00");
    // Instants spread over the whole range (a fixed LCG): each formatted form parses back to it.
    const int64_t lo = *parse_iso8601("0000-01-01T00:00:00Z"), hi = *parse_iso8601("9999-12-31T23:59:59.999999Z");
    uint64_t x = 12345;
    for (int i = 0; i < 20000; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      const int64_t us = lo + static_cast<int64_t>((x >> 11) % static_cast<uint64_t>(hi - lo + 1));
      const auto text = format_iso8601(us);
      REQUIRE_MESSAGE(text.size() == 32, text);
      REQUIRE_MESSAGE(parse_iso8601(text) == us, text);
    }
  }
  TEST_CASE("rejects what is not a time") {
    for (const char* s : {"", "yesterday", "2025-13-01T00:00:00Z", "2025-12-17", "2025-12-17T09:21",
                          "2025-12-17T09:21:15.Z", "2025-12-17T09:21:15Zjunk", "2025-12-17T25:00:00Z"})
      CHECK_MESSAGE(!parse_iso8601(s), s);
  }
}
