// loadgen --settle reads the server's backlog from its Prometheus text: the sample line of one
// unlabelled metric, and nothing that merely starts with its name.
#include "loadgen/server_backlog.hpp"

#include <doctest/doctest.h>

TEST_SUITE("unit.bench") {
  TEST_CASE("metric_value finds an unlabelled sample and nothing that only shares its prefix") {
    const std::string body = "# HELP mediaspool_items_pending items acked but not yet stored\n"
                             "# TYPE mediaspool_items_pending gauge\n"
                             "mediaspool_items_pending_total 7\n"
                             "mediaspool_items_pending 42\n"
                             "mediaspool_acks_total{kind=\"audio\"} 3\n"
                             "mediaspool_spool_records 1.5e+03";
    CHECK(loadgen::metric_value(body, "mediaspool_items_pending") == 42.0);
    CHECK(loadgen::metric_value(body, "mediaspool_spool_records") == 1500.0);
    CHECK_FALSE(loadgen::metric_value(body, "mediaspool_acks_total").has_value());
    CHECK_FALSE(loadgen::metric_value(body, "mediaspool_items").has_value());
    CHECK_FALSE(loadgen::metric_value("mediaspool_items_pending \n", "mediaspool_items_pending").has_value());
    CHECK_FALSE(loadgen::metric_value("", "mediaspool_items_pending").has_value());
  }
}
