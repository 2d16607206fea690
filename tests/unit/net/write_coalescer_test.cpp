// The layer under a connection's WebSocket that sends queued texts together
// (net/write_coalescer.hpp), over a real loopback TCP connection: what is kept must not reach the
// peer, and must reach it first, in order, with the next write that is not kept.
#include "net/write_coalescer.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

using namespace mediaspool::net;

namespace {

struct loopback_fixture {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
  write_coalescer<beast::tcp_stream> writer{ioc};
  tcp::socket peer{ioc};

  loopback_fixture() {
    writer.next_layer().connect(acceptor.local_endpoint());
    acceptor.accept(peer);
  }

  /// Writes `bytes` through the layer and runs the io_context until the write completes.
  std::pair<beast::error_code, size_t> write(const std::string& bytes) {
    std::optional<std::pair<beast::error_code, size_t>> done;
    writer.async_write_some(asio::buffer(bytes), [&](beast::error_code ec, size_t n) { done.emplace(ec, n); });
    ioc.restart();
    while (!done && ioc.run_one() > 0) {
    }
    REQUIRE(done.has_value());
    return *done;
  }

  /// What the peer has received so far: polls until `expected` bytes are there or 5 s pass.
  std::string received(size_t expected) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (peer.available() < expected && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    std::string out(peer.available(), '\0');
    if (!out.empty())
      asio::read(peer, asio::buffer(out));
    return out;
  }
};

const std::string text_a = "\x81\x01" "A";
const std::string text_b = "\x81\x01" "B";
const std::string text_c = "\x81\x01" "C";
const std::string ping = "\x89\x00";

} // namespace

TEST_SUITE("net.write_coalescer") {

TEST_CASE_FIXTURE(loopback_fixture, "a kept text completes at once without reaching the peer") {
  writer.keep_next_text(true);
  auto [ec, n] = write(text_a);
  CHECK_FALSE(ec);
  CHECK(n == text_a.size());
  CHECK(writer.kept_bytes() == text_a.size());
  CHECK(writer.sends() == 0);
  CHECK(peer.available() == 0); // loopback delivers on send: anything sent would be here already
}

TEST_CASE_FIXTURE(loopback_fixture, "kept texts leave in order in front of the next write, in one send") {
  writer.keep_next_text(true);
  write(text_a);
  writer.keep_next_text(true);
  write(text_b);
  auto [ec, n] = write(text_c);
  CHECK_FALSE(ec);
  CHECK(n == text_c.size()); // the caller hears of its own bytes only
  CHECK(writer.sends() == 1);
  CHECK(writer.kept_bytes() == 0);
  CHECK(received(9) == text_a + text_b + text_c);
}

TEST_CASE_FIXTURE(loopback_fixture, "a control frame is never kept and takes the kept texts along") {
  writer.keep_next_text(true);
  write(text_a);
  writer.keep_next_text(true); // set for a text, but Beast's own ping comes first
  write(ping);
  CHECK(writer.sends() == 1);
  CHECK(received(5) == text_a + ping);
  // The mark still waits for the text it was set for.
  write(text_b);
  CHECK(writer.kept_bytes() == text_b.size());
  write(text_c);
  CHECK(received(6) == text_b + text_c);
}

TEST_CASE_FIXTURE(loopback_fixture, "without the mark every write is sent as it comes") {
  write(text_a);
  CHECK(received(3) == text_a);
  write(text_b);
  CHECK(received(3) == text_b);
  CHECK(writer.sends() == 2);
}

}
