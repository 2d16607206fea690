// The metrics registry renders the exact Prometheus text format (0.0.4) that scrapers parse, and
// the JSON log formatter re-encodes text lines with their sid and actor.
#include "actors/json_log_formatter.hpp"
#include "actors/metrics.hpp"
#include "actors/server_metrics.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <thread>
#include <vector>

using namespace mediaspool;

TEST_SUITE("actors.metrics") {

TEST_CASE("a counter a gauge and a histogram render as exact Prometheus text") {
  metrics::registry reg;
  auto& ok = reg.add_counter("demo_requests_total", "Requests served", {{"code", "200"}});
  auto& bad = reg.add_counter("demo_requests_total", "Requests served", {{"code", "500"}});
  auto& queue = reg.add_gauge("demo_queue", "Items queued");
  auto& lat = reg.add_histogram("demo_latency_seconds", "Latency", {0.005, 0.1, 1});
  ok.inc();
  ok.inc(2);
  bad.inc();
  queue.set(5);
  queue.sub(2);
  // Binary fractions, so the sum has an exact decimal form.
  for (double v : {0.00390625, 0.0625, 0.5, 3.0})
    lat.observe(v);
  CHECK(reg.render() ==
        "# HELP demo_requests_total Requests served\n"
        "# TYPE demo_requests_total counter\n"
        "demo_requests_total{code=\"200\"} 3\n"
        "demo_requests_total{code=\"500\"} 1\n"
        "# HELP demo_queue Items queued\n"
        "# TYPE demo_queue gauge\n"
        "demo_queue 3\n"
        "# HELP demo_latency_seconds Latency\n"
        "# TYPE demo_latency_seconds histogram\n"
        "demo_latency_seconds_bucket{le=\"0.005\"} 1\n"
        "demo_latency_seconds_bucket{le=\"0.1\"} 2\n"
        "demo_latency_seconds_bucket{le=\"1\"} 3\n"
        "demo_latency_seconds_bucket{le=\"+Inf\"} 4\n"
        "demo_latency_seconds_sum 3.56640625\n"
        "demo_latency_seconds_count 4\n");
}

TEST_CASE("a histogram with labels puts le last and a value on a bound falls in that bucket") {
  metrics::registry reg;
  auto& h = reg.add_histogram("demo_items", "Items per batch", {1, 2}, {{"kind", "audio"}});
  h.observe(1);
  h.observe(2);
  h.observe(2.5);
  CHECK(reg.render() ==
        "# HELP demo_items Items per batch\n"
        "# TYPE demo_items histogram\n"
        "demo_items_bucket{kind=\"audio\",le=\"1\"} 1\n"
        "demo_items_bucket{kind=\"audio\",le=\"2\"} 2\n"
        "demo_items_bucket{kind=\"audio\",le=\"+Inf\"} 3\n"
        "demo_items_sum{kind=\"audio\"} 5.5\n"
        "demo_items_count{kind=\"audio\"} 3\n");
}

TEST_CASE("label values and help text are escaped and callback gauges are read at render time") {
  metrics::registry reg;
  double level = 1.5;
  reg.add_callback("demo_level", "Level with a \\ and a\nnewline", [&] { return level; }, {{"path", "a\"b\\c\nd"}});
  level = 0.25;
  CHECK(reg.render() ==
        "# HELP demo_level Level with a \\\\ and a\\nnewline\n"
        "# TYPE demo_level gauge\n"
        "demo_level{path=\"a\\\"b\\\\c\\nd\"} 0.25\n");
}

TEST_CASE("registering one name as two metric types is refused") {
  metrics::registry reg;
  reg.add_counter("demo_total", "x");
  CHECK_THROWS_AS(reg.add_gauge("demo_total", "x"), std::invalid_argument);
  CHECK_THROWS_AS(reg.add_histogram("demo_h", "x", {2, 1}), std::invalid_argument);
}

TEST_CASE("counters updated from several threads lose no increment") {
  metrics::registry reg;
  auto& c = reg.add_counter("demo_total", "x");
  auto& h = reg.add_histogram("demo_h", "x", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(1);
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(c.value() == 40000);
  CHECK(h.snap().count == 40000);
  CHECK(h.snap().sum == 40000.0);
}

TEST_CASE("server metrics count acks duplicates and errors by code from sent messages") {
  server_metrics m{std::make_shared<metrics::registry>()};
  m.on_sent(item_ack{"s", item_kind::audio, 0, 10, false});
  m.on_sent(item_ack{"s", item_kind::audio, 0, 10, true});
  m.on_sent(response_ack{"s", 1});
  m.on_sent(error_reply{ec::conflict, "x", std::nullopt});
  m.on_sent(error_reply{ec::bad_json, "x", std::nullopt});
  m.on_received(item_kind::frame, 42);
  auto text = m.registry->render();
  CHECK(text.find("mediaspool_acks_total{kind=\"audio\"} 2\n") != std::string::npos);
  CHECK(text.find("mediaspool_duplicates_total{kind=\"audio\"} 1\n") != std::string::npos);
  CHECK(text.find("mediaspool_acks_total{kind=\"response\"} 1\n") != std::string::npos);
  CHECK(text.find("mediaspool_errors_total{code=\"conflict\"} 1\n") != std::string::npos);
  CHECK(text.find("mediaspool_errors_total{code=\"bad_json\"} 1\n") != std::string::npos);
  CHECK(text.find("mediaspool_errors_total{code=\"internal\"} 0\n") != std::string::npos);
  CHECK(text.find("mediaspool_conflicts_total 1\n") != std::string::npos);
  CHECK(text.find("mediaspool_bytes_received_total{kind=\"frame\"} 42\n") != std::string::npos);
  CHECK(text.find("mediaspool_batcher_lag_seconds 0\n") != std::string::npos);
}

TEST_CASE("a JSON log line carries ts level component msg and the sid and actor of the text line") {
  auto ts = std::chrono::system_clock::time_point{std::chrono::milliseconds(1767225600123)};
  auto line = log::json_line(ts, "info", "session", "session#12: sid=0b7e-x init (user 1, \"q\")");
  auto j = nlohmann::json::parse(line);
  CHECK(j["ts"] == "2026-01-01T00:00:00.123Z");
  CHECK(j["level"] == "info");
  CHECK(j["component"] == "session");
  CHECK(j["msg"] == "session#12: sid=0b7e-x init (user 1, \"q\")");
  CHECK(j["sid"] == "0b7e-x");
  CHECK(j["actor"] == "session#12");
  auto plain = nlohmann::json::parse(log::json_line(ts, "warn", "", "mediaspool: sid=- stopping"));
  CHECK_FALSE(plain.contains("sid"));
  CHECK_FALSE(plain.contains("actor"));
}

}
