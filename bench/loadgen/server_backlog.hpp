#pragma once
// How much work the server under test still has queued, read from its Prometheus endpoint.
// After a warm-up at max pace the server is still writing that backlog (files, rows) when the
// sessions are ready: waiting for it to drain lets the measured phase meet sessions that are
// old, not a server catching up with the warm-up.
#include <chrono>
#include <optional>
#include <string>

namespace loadgen {

/// `mediaspool_items_pending` from GET http://host:port/metrics; nullopt when the server does
/// not answer or does not export it.
std::optional<double> items_pending(const std::string& host, const std::string& port,
                                    std::chrono::milliseconds timeout);

/// The value of the sample line `name value` in a Prometheus text body; nullopt without one.
std::optional<double> metric_value(const std::string& body, const std::string& name);

} // namespace loadgen
