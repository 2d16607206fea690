// unpaired_halves is pure: time is passed in.
#include "net/unpaired_halves.hpp"

#include <doctest/doctest.h>

using namespace mediaspool;
using namespace mediaspool::net;
using namespace std::chrono_literals;

namespace {
const unpaired_halves::clock::time_point t0 = unpaired_halves::clock::time_point{} + 1h;
}

TEST_SUITE("net.unpaired_halves") {
  TEST_CASE("a blob is held until its own metadata is read, in either order") {
    unpaired_halves h{30s};
    CHECK_FALSE(h.holds_blob(t0));
    h.blob_read(item_kind::frame, 0, t0);
    CHECK(h.holds_blob(t0));
    h.metadata_read(item_kind::audio, 0, t0); // another kind: not its pair
    h.metadata_read(item_kind::frame, 1, t0); // another index: not its pair
    CHECK(h.holds_blob(t0));
    h.metadata_read(item_kind::frame, 0, t0);
    CHECK_FALSE(h.holds_blob(t0));
    // metadata first: the blob that follows completes the pair and is not held
    h.metadata_read(item_kind::audio, 3, t0);
    h.blob_read(item_kind::audio, 3, t0);
    CHECK_FALSE(h.holds_blob(t0));
    // the earlier unmatched metadata (frame 1) pairs a later blob 1
    h.blob_read(item_kind::frame, 1, t0);
    CHECK_FALSE(h.holds_blob(t0));
  }

  TEST_CASE("a blob older than the orphan timeout is not held any more (the session expired it)") {
    unpaired_halves h{3s};
    h.blob_read(item_kind::frame, 7, t0);
    CHECK(h.holds_blob(t0 + 2999ms));
    CHECK_FALSE(h.holds_blob(t0 + 3s));
  }

  TEST_CASE("unmatched halves are capped: the oldest goes first") {
    unpaired_halves h{30s};
    for (uint32_t i = 0; i < 1000; ++i)
      h.blob_read(item_kind::frame, i, t0 + i * 1ms);
    // only the newest max_entries are kept: their metadata clears them all
    for (uint32_t i = 1000 - unpaired_halves::max_entries; i < 1000; ++i)
      h.metadata_read(item_kind::frame, i, t0 + 1s);
    CHECK_FALSE(h.holds_blob(t0 + 1s));
  }
}
