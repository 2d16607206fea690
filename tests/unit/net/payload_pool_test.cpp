// The payload buffer pool (net/payload_pool.hpp): buffers come back by size class and are
// reused, never past the retained bound.
#include "net/payload_pool.hpp"

#include <doctest/doctest.h>

using mediaspool::byte_vector;
using mediaspool::net::payload_pool;

TEST_SUITE("net.payload_pool") {
  TEST_CASE("a buffer given back is the one the next request of its class gets") {
    payload_pool pool{1u << 20};
    auto a = pool.acquire(45000);
    CHECK(a.empty());
    CHECK(a.capacity() == 45056); // 11 classes of 4 KiB
    a.resize(45000);
    const char* storage = a.data();
    pool.give_back(std::move(a));
    CHECK(pool.retained() == 45056);
    auto b = pool.acquire(44000); // same class
    CHECK(b.empty());
    CHECK(b.data() == storage);
    CHECK(pool.retained() == 0);
    auto c = pool.acquire(50000); // another class: new storage
    CHECK(c.capacity() == 53248);
    CHECK(pool.acquire(1).capacity() == payload_pool::class_bytes);
    CHECK(pool.acquire(0).capacity() == payload_pool::class_bytes);
  }

  TEST_CASE("idle buffers never exceed the retained bound, and odd capacities are not kept") {
    payload_pool pool{3 * 8192};
    for (int i = 0; i < 5; ++i)
      pool.give_back(pool.acquire(8192 - i));
    CHECK(pool.retained() == 8192); // the same buffer went back and forth
    std::vector<byte_vector> held;
    for (int i = 0; i < 5; ++i)
      held.push_back(pool.acquire(8192));
    for (auto& v : held)
      pool.give_back(std::move(v));
    CHECK(pool.retained() == 3 * 8192);
    byte_vector odd;
    odd.reserve(5000);
    pool.give_back(std::move(odd));
    CHECK(pool.retained() == 3 * 8192);
  }

  TEST_CASE("grow_exact moves the bytes into a pooled buffer of the message's size and keeps the old storage") {
    payload_pool pool{1u << 20};
    byte_vector v = pool.acquire(4096);
    v.resize(3);
    v[0] = 'a';
    v[1] = 'b';
    v[2] = 'c';
    pool.grow_exact(v, 160000);
    CHECK(v.capacity() == payload_pool::round_up(160000));
    REQUIRE(v.size() == 3);
    CHECK((v[0] == 'a' && v[1] == 'b' && v[2] == 'c'));
    CHECK(pool.retained() == 4096); // the 4 KiB buffer went back
    pool.grow_exact(v, 1000);       // big enough: nothing moves
    CHECK(v.capacity() == payload_pool::round_up(160000));
    CHECK(pool.retained() == 4096);
  }
}
