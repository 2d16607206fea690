// read_admission is pure apart from the budget it reads: every verdict at exact instants.
#include "net/read_admission.hpp"

#include <doctest/doctest.h>

using namespace mediaspool;
using namespace mediaspool::net;
using namespace std::chrono_literals;

TEST_SUITE("net.read_admission") {
  TEST_CASE("binary frames read freely under the budget, wait past it, and go ahead only to finish a pair") {
    auto budget = std::make_shared<flow_budget>(1000);
    read_admission a{budget, 30s};
    const auto t = read_admission::clock::time_point{} + 1h;
    CHECK_FALSE(a.peek_first());
    CHECK(a.binary_frame(t) == read_admission::verdict::read);
    budget->take(1000); // spent
    CHECK(a.peek_first());
    CHECK(a.binary_frame(t) == read_admission::verdict::wait);
    a.blob_read(item_kind::frame, 0, t); // its metadata is still to come
    CHECK(a.binary_frame(t) == read_admission::verdict::read_ahead);
    a.metadata_read(item_kind::frame, 0, t);
    CHECK(a.binary_frame(t) == read_admission::verdict::wait);
    a.blob_read(item_kind::frame, 1, t);
    budget->take(16u << 20); // past the overdraft too
    CHECK(a.binary_frame(t) == read_admission::verdict::wait);
    budget->release((16u << 20) + 1000);
    CHECK(a.binary_frame(t + 30s) == read_admission::verdict::read); // under the budget again
  }

  TEST_CASE("with others waiting in line, even an unspent budget makes a frame wait its turn") {
    auto budget = std::make_shared<flow_budget>(1000);
    budget->take(1000);
    int served = 0;
    budget->wait([&] { ++served; });
    budget->release(1); // room: the waiting one is served, the line is empty again
    CHECK(served == 1);
    budget->take(1);
    budget->wait([&] { ++served; }); // spent: stays in line
    read_admission a{budget, 30s};
    const auto t = read_admission::clock::time_point{} + 1h;
    CHECK(budget->line_waiting());
    CHECK(a.peek_first());
    CHECK(a.binary_frame(t) == read_admission::verdict::wait);
    budget->clear_line();
  }
}
