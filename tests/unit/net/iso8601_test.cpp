#include "net/iso8601.hpp"

#include <doctest/doctest.h>

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
  TEST_CASE("rejects what is not a time") {
    for (const char* s : {"", "yesterday", "2025-13-01T00:00:00Z", "2025-12-17", "2025-12-17T09:21",
                          "2025-12-17T09:21:15.Z", "2025-12-17T09:21:15Zjunk", "2025-12-17T25:00:00Z"})
      CHECK_MESSAGE(!parse_iso8601(s), s);
  }
}
