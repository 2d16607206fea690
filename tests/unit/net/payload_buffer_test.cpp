// payload_buffer as Beast uses it: prepare, a partial fill, commit, again; growth keeps every byte.
#include "net/payload_buffer.hpp"

#include <doctest/doctest.h>

#include <boost/asio/buffer.hpp>

#include <string>

using mediaspool::byte_vector;
using mediaspool::net::payload_buffer;
using mediaspool::net::payload_pool;

TEST_SUITE("net.payload_buffer") {
  TEST_CASE("reads in parts of any size append exactly the bytes committed, across growth") {
    byte_vector bytes;
    payload_buffer buf{bytes, 1u << 20};
    std::string expected;
    size_t step = 1;
    for (int part = 0; part < 40; ++part, step = step * 3 % 70001 + 1) {
      auto space = buf.prepare(65536);
      REQUIRE(space.size() == 65536);
      // Like a socket read: fills only `step` of the prepared bytes.
      std::string chunk(std::min<size_t>(step, 65536), static_cast<char>('a' + part % 26));
      boost::asio::buffer_copy(space, boost::asio::buffer(chunk));
      buf.commit(chunk.size());
      expected += chunk;
      REQUIRE(buf.size() == expected.size());
    }
    CHECK(bytes.size() == expected.size());
    CHECK(std::string(bytes.data(), bytes.size()) == expected);
    auto d = buf.data();
    CHECK(std::string(static_cast<const char*>(d.data()), d.size()) == expected);
  }

  TEST_CASE("committing more than was prepared counts only the prepared bytes") {
    byte_vector bytes;
    payload_buffer buf{bytes, 1000};
    buf.prepare(10);
    buf.commit(50);
    CHECK(buf.size() == 10);
    CHECK(bytes.size() == 10);
  }

  TEST_CASE("preparing beyond max_size throws length_error, which Beast turns into a read error") {
    byte_vector bytes;
    payload_buffer buf{bytes, 100};
    buf.prepare(60);
    buf.commit(60);
    CHECK_THROWS_AS(buf.prepare(41), std::length_error);
    CHECK_NOTHROW(buf.prepare(40));
  }

  TEST_CASE("consume drops bytes from the front") {
    byte_vector bytes{'x', 'y', 'z'};
    payload_buffer buf{bytes, 100};
    CHECK(buf.size() == 3);
    buf.consume(2);
    CHECK(buf.size() == 1);
    CHECK(bytes.size() == 1);
    CHECK(bytes[0] == 'z');
  }

  TEST_CASE("with a pool, a message's first part and its growth take pooled storage and give back the outgrown") {
    payload_pool pool{1u << 20};
    auto idle = pool.acquire(8192);
    const char* idle_storage = idle.data();
    pool.give_back(std::move(idle));
    byte_vector bytes;
    payload_buffer buf{bytes, 1u << 20, &pool};
    auto peek = buf.prepare(1); // the read that waits for a frame's first byte
    CHECK_MESSAGE(bytes.capacity() < payload_pool::class_bytes,
                  "an idle connection's pending read holds a few bytes, not a pooled buffer (figure 6)");
    CHECK(pool.retained() == 8192);
    boost::asio::buffer_copy(peek, boost::asio::buffer("h", 1));
    buf.commit(1);
    auto part = buf.prepare(4096); // the first part
    CHECK_MESSAGE(static_cast<const char*>(part.data()) == idle_storage + 1, "the first part goes into the pooled buffer");
    CHECK(pool.retained() == 0);
    std::string rest(4096, 'i');
    boost::asio::buffer_copy(part, boost::asio::buffer(rest));
    buf.commit(rest.size());
    std::string more(8192, 'j');
    auto next = buf.prepare(more.size()); // beyond 8 KiB: grows again
    boost::asio::buffer_copy(next, boost::asio::buffer(more));
    buf.commit(more.size());
    CHECK(bytes.capacity() == 16384);
    CHECK_MESSAGE(pool.retained() == 8192, "the outgrown buffer went back to the pool");
    CHECK(std::string(bytes.data(), bytes.size()) == "h" + rest + more);
  }
}
