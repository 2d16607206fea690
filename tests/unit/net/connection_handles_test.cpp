// What reaches a connection from other threads (net/connection_handles.hpp): every post wakes the
// network thread, so what is sent or given back while a post is on its way must ride on it. The
// io_context here runs by hand; run() says how many handlers (posts) it ran.
#include "net/connection_handles.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using namespace mediaspool;
using namespace mediaspool::net;

namespace {

struct fake_port final : connection_port {
  std::vector<std::string> writes;
  std::vector<size_t> write_batches; ///< texts per queue_writes call
  uint64_t credit = 0;
  int credit_posts = 0;

  void queue_writes(std::vector<std::string> texts) override {
    write_batches.push_back(texts.size());
    for (auto& t : texts)
      writes.push_back(std::move(t));
  }
  void queue_close(uint16_t, std::string) override {}
  void add_credit(uint64_t bytes) override {
    credit += bytes;
    ++credit_posts;
  }
  void on_turn() override {}
};

struct handles_fixture {
  asio::io_context ioc;
  std::shared_ptr<fake_port> port = std::make_shared<fake_port>();
  connection_link link{port, ioc.get_executor(), std::make_shared<io_gate>()};

  size_t run() {
    ioc.restart();
    return ioc.run();
  }
};

item_ack ack(uint32_t index) { return item_ack{"0f8fad5b-d9cb-469f-a165-70867728950e", item_kind::frame, index, 100, false}; }

void drop_buffer(const std::shared_ptr<credit_sink>& sink, size_t bytes) {
  std::shared_ptr<const byte_vector> buf{new byte_vector(bytes), credit_return{sink}};
}

} // namespace

TEST_SUITE("net.connection_handles") {

TEST_CASE_FIXTURE(handles_fixture, "messages sent before the strand runs leave in one post, in order") {
  ws_outbox out{link, std::make_shared<stall_meter>()};
  for (uint32_t i = 0; i < 3; ++i)
    out.send(ack(i));
  CHECK(run() == 1);
  REQUIRE(port->writes.size() == 3);
  CHECK(port->write_batches == std::vector<size_t>{3}); // handed over together, so written in one send
  for (uint32_t i = 0; i < 3; ++i)
    CHECK_MESSAGE(port->writes[i].find("\"frame_index\":" + std::to_string(i)) != std::string::npos, port->writes[i]);
  // The post took them all: the next message posts again.
  out.send(ack(3));
  CHECK(run() == 1);
  CHECK(port->writes.size() == 4);
}

TEST_CASE_FIXTURE(handles_fixture, "messages for a connection already gone are dropped and later ones still post") {
  ws_outbox out{link, std::make_shared<stall_meter>()};
  out.send(ack(0));
  port.reset(); // the connection is destroyed before its strand runs the post
  CHECK(run() == 1);
  out.send(ack(1));
  CHECK_MESSAGE(run() == 1, "a dropped queue must not leave the next message waiting for a post that never comes");
}

TEST_CASE_FIXTURE(handles_fixture, "credit given back before the strand runs arrives in one post, summed") {
  auto budget = std::make_shared<flow_budget>(1u << 20);
  auto sink = std::make_shared<credit_sink>(link, budget, std::make_shared<payload_pool>(1u << 20));
  budget->take(3000 + 500);
  drop_buffer(sink, 1000);
  drop_buffer(sink, 1000);
  drop_buffer(sink, 1000);
  CHECK_MESSAGE(budget->used() == 500, "the process budget is released at once, on the thread that let go");
  CHECK(run() == 1);
  CHECK(port->credit == 3000);
  CHECK(port->credit_posts == 1);
  drop_buffer(sink, 500);
  CHECK(run() == 1);
  CHECK(port->credit == 3500);
  CHECK(port->credit_posts == 2);
  CHECK(budget->used() == 0);
}

}
