// loadgen's recorder model is pure: a session's items, their order and sizes are functions of
// the options, so they can be checked item by item.
#include "loadgen/options.hpp"
#include "loadgen/recorder_model.hpp"

#include <doctest/doctest.h>

using namespace loadgen;

TEST_SUITE("bench.recorder_model") {
  TEST_CASE("position_of gives every item the place the sequence gives it, with any intervals") {
    struct cadence { double audio_s, frame_s; };
    for (auto c : {cadence{10, 2}, cadence{3, 2}, cadence{2, 2}, cadence{2, 3}, cadence{0.5, 0.2},
                   cadence{10, 0}, cadence{0, 2}}) {
      CAPTURE(c.audio_s);
      CAPTURE(c.frame_s);
      options o;
      o.audio_interval_s = c.audio_s;
      o.frame_interval_s = c.frame_s;
      o.pool_mb = 1;
      recorder_model m{o};
      recorder_model::sequence seq{m, 3};
      for (int n = 0; n < 2000; ++n) {
        auto it = seq.next();
        CAPTURE(n);
        REQUIRE(m.position_of(it.k, it.index) == it.position);
      }
    }
  }

  TEST_CASE("--warmup-payload-size sizes exactly the warm-up items, the measured ones keep theirs") {
    options o;
    o.warmup = 1080;
    o.warmup_payload = 1024;
    o.pool_mb = 1;
    recorder_model m{o};
    options plain_o = o;
    plain_o.warmup_payload = 0;
    recorder_model plain{plain_o};
    recorder_model::sequence seq{m, 7}, plain_seq{plain, 7};
    for (int n = 0; n < 1500; ++n) {
      auto it = seq.next();
      auto ref = plain_seq.next();
      CAPTURE(n);
      if (n < 1080) {
        CHECK(it.size == 1024);
        CHECK(m.payload(7, it.k, it.index).size() == 1024);
      } else {
        CHECK(it.size == ref.size);
        CHECK(it.size > 40000); // a real frame or chunk
      }
    }
  }
}
