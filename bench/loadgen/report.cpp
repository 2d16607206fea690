#include "loadgen/report.hpp"

#include "loadgen/recorder_model.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

namespace loadgen {

namespace {

using json = nlohmann::json;

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string line(const histogram& h) {
  if (h.count() == 0)
    return "no samples";
  return "p50 " + fmt("%.3f", ms(h.percentile(50))) + "  p95 " + fmt("%.3f", ms(h.percentile(95))) + "  p99 " +
         fmt("%.3f", ms(h.percentile(99))) + "  p99.9 " + fmt("%.3f", ms(h.percentile(99.9))) + "  max " +
         fmt("%.3f", ms(h.max())) + "  mean " + fmt("%.3f", h.mean() / 1e6) + "  (n=" + std::to_string(h.count()) +
         ")";
}

json hist_json(const histogram& h) {
  return json{{"count", h.count()},
              {"mean", h.mean() / 1e6},
              {"min", ms(h.min())},
              {"p50", ms(h.percentile(50))},
              {"p90", ms(h.percentile(90))},
              {"p95", ms(h.percentile(95))},
              {"p99", ms(h.percentile(99))},
              {"p999", ms(h.percentile(99.9))},
              {"max", ms(h.max())}};
}

// [upper bound ms, cumulative fraction] for each non-empty bucket: enough to draw the CDF.
json cdf_json(const histogram& h) {
  auto out = json::array();
  if (h.count() == 0)
    return out;
  uint64_t seen = 0;
  for (size_t i = 0; i < h.bucket_count(); ++i) {
    if (!h.bucket_samples(i))
      continue;
    seen += h.bucket_samples(i);
    out.push_back({ms(std::min(h.bucket_high(i), h.max())),
                   static_cast<double>(seen) / static_cast<double>(h.count())});
  }
  return out;
}

double rate(uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0; }

} // namespace

void print_summary(std::ostream& out, const options& o, const run_result& r) {
  const auto& t = *r.total;
  out << "loadgen " << o.sessions << " sessions, " << (o.mode == pace::max ? "max pace, window " + std::to_string(o.window) : "real time")
      << ", " << o.threads << " thread(s), " << o.url << ", run id " << o.run_id << "\n";
  if (o.arrival_rate > 0)
    out << "open arrivals, " << fmt("%.2f", o.arrival_rate) << " sessions/s: " << t.sessions_admitted << "/"
        << o.sessions << " sessions taken"
        << (t.sessions_not_taken ? ", " + std::to_string(t.sessions_not_taken) + " not taken by --time-limit" : "")
        << (r.interrupted ? "  [interrupted]" : "") << "\n"
        << "start -> taken ms     " << line(t.admit_latency) << "\n";
  else
    out << "ready after " << fmt("%.2f", r.ready_s) << " s with " << r.sessions_ready << "/" << o.sessions
        << " sessions connected" << (o.warmup ? " (" + std::to_string(t.warmup_acked) + " warm-up items acked)" : "")
        << (r.interrupted ? "  [interrupted]" : "") << "\n";
  if (o.settle_s > 0 && o.arrival_rate <= 0)
    out << "settled after " << fmt("%.2f", r.settle_s) << " s: the server had "
        << (r.pending_at_ready < 0 ? std::string("? (no /metrics)") : fmt("%.0f", r.pending_at_ready))
        << " items pending at ready" << (r.settled ? ", 0 now" : ", still some at --settle's end") << "\n";
  out << "measured " << fmt("%.2f", r.measure_s) << " s: " << r.throughput_items << " items acked, "
      << fmt("%.1f", rate(r.throughput_items, r.measure_s)) << " items/s, "
      << fmt("%.2f", rate(r.throughput_bytes, r.measure_s) / 1e6) << " MB/s payload\n";
  out << "ack latency ms        " << line(t.latency) << "\n";
  if (!t.by_second.empty()) {
    // Where a p99 was made: a few stalled seconds read differently from a steady overload.
    std::vector<size_t> order(t.by_second.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    const auto shown = std::min<size_t>(3, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(),
                      [&](size_t a, size_t b) { return t.by_second[a].max_ns > t.by_second[b].max_ns; });
    size_t over_100ms = 0;
    for (auto& s : t.by_second)
      over_100ms += s.max_ns > 100'000'000 ? 1 : 0;
    out << "slowest seconds       ";
    for (size_t i = 0; i < shown; ++i)
      out << (i ? ", " : "") << "t=" << order[i] << " s " << fmt("%.1f", ms(t.by_second[order[i]].max_ns)) << " ms";
    out << "  (" << over_100ms << " of " << t.by_second.size() << " seconds held an ack over 100 ms)\n";
  }
  out << "connect+handshake ms  " << line(t.connect_latency) << "\n";
  out << "session_init_ack ms   " << line(t.init_latency) << "\n";
  if (o.end)
    out << "session_end_ack ms    " << line(t.end_latency) << "  ended " << t.sessions_ended << ", unacked "
        << t.ends_unacked << "\n";
  if (o.transcript_wait_s > 0)
    out << "transcription ms      " << line(t.transcript_latency) << "  (ack -> transcription; " << t.transcripts
        << " received, " << t.transcripts_missing << " missing)\n";
  out << "missing acks " << t.missing << ", unsent " << t.unsent << ", refused " << t.failed_items
      << ", duplicates " << t.duplicates << ", size mismatches " << t.size_mismatches << ", unexpected acks "
      << t.unexpected_acks << ", resent " << t.resent << ", acked via resume " << t.acked_via_resume << "\n";
  out << "connect failures " << t.connect_failures << ", disconnects " << t.disconnects << ", reconnects "
      << t.live.reconnects.get() << ", init timeouts " << t.init_timeouts << ", sessions given up "
      << t.sessions_failed << ", drain " << fmt("%.2f", r.drain_s) << " s\n";
  if (!t.errors_by_code.empty()) {
    out << "errors:";
    for (auto& [code, n] : t.errors_by_code)
      out << " " << code << "=" << n;
    out << "\n";
  }
  if (!t.close_codes.empty()) {
    out << "server close codes:";
    for (auto& [code, n] : t.close_codes)
      out << " " << code << "=" << n;
    out << "\n";
  }
  if (!t.upgrades_refused.empty()) {
    out << "upgrades refused (HTTP status; counted in connect failures):";
    for (auto& [status, n] : t.upgrades_refused)
      out << " " << status << "=" << n;
    out << "\n";
  }
  if (t.by_position.size() > 1) {
    out << "ack latency by item position (all items, warm-up included), ms:\n";
    // Long runs have many rows: show the first three and the last three.
    size_t rows = t.by_position.size();
    for (size_t i = 0; i < rows; ++i) {
      if (rows > 8 && i == 3)
        out << "  ...\n";
      if (rows > 8 && i >= 3 && i + 3 < rows)
        continue;
      auto& h = t.by_position[i];
      char buf[160];
      std::snprintf(buf, sizeof buf, "  %7zu-%-7zu p50 %8.3f  p99 %8.3f  max %8.3f  (n=%llu)\n", i * o.position_bucket,
                    (i + 1) * o.position_bucket - 1, ms(h.percentile(50)), ms(h.percentile(99)), ms(h.max()),
                    static_cast<unsigned long long>(h.count()));
      out << buf;
    }
  }
}

json to_json(const options& o, const run_result& r) {
  const auto& t = *r.total;
  json params;
  to_json(params, o);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  auto by_position = json::array();
  for (size_t i = 0; i < t.by_position.size(); ++i) {
    auto row = hist_json(t.by_position[i]);
    row["from"] = i * o.position_bucket;
    row["to"] = (i + 1) * o.position_bucket - 1;
    by_position.push_back(std::move(row));
  }
  auto timeline = json::array();
  for (auto& p : r.timeline)
    timeline.push_back({{"t_s", p.t_s}, {"acked", p.acked}, {"bytes", p.bytes}, {"connected", p.connected}, {"open", p.open}});
  auto by_second = json::array();
  for (size_t i = 0; i < t.by_second.size(); ++i)
    by_second.push_back({{"t_s", i}, {"acks", t.by_second[i].acks},
                         {"max_ms", static_cast<double>(t.by_second[i].max_ns) / 1e6}});
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return json{
    {"tool", "mediaspool-loadgen"},
    {"format", 1},
    {"finished_at", iso8601_ms(static_cast<uint64_t>(now_ms.count()))},
    {"host", {{"name", host}, {"cpus", std::thread::hardware_concurrency()}}},
    {"params", params},
    {"result",
     {{"interrupted", r.interrupted},
      {"ready_s", r.ready_s},
      {"sessions_ready", r.sessions_ready},
      {"measure_s", r.measure_s},
      {"measure_started_unix", r.measure_started_unix},
      {"pending_at_ready", r.pending_at_ready},
      {"settle_s", r.settle_s},
      {"settled", r.settled},
      {"drain_s", r.drain_s},
      {"items_acked", r.throughput_items},
      {"payload_bytes", r.throughput_bytes},
      {"items_per_s", rate(r.throughput_items, r.measure_s)},
      {"mb_per_s", rate(r.throughput_bytes, r.measure_s) / 1e6},
      {"latency_ms", hist_json(t.latency)},
      {"latency_cdf", cdf_json(t.latency)},
      {"connect_latency_ms", hist_json(t.connect_latency)},
      {"init_latency_ms", hist_json(t.init_latency)},
      {"admit_latency_ms", hist_json(t.admit_latency)},
      {"sessions_admitted", t.sessions_admitted},
      {"sessions_not_taken", t.sessions_not_taken},
      {"end_latency_ms", hist_json(t.end_latency)},
      {"transcript_latency_ms", hist_json(t.transcript_latency)},
      {"transcripts", t.transcripts},
      {"transcripts_missing", t.transcripts_missing},
      {"by_position", by_position},
      {"measured_acked", t.measured_acked},
      {"measured_sent", t.measured_sent},
      {"warmup_acked", t.warmup_acked},
      {"items_sent", t.items_sent},
      {"missing_acks", t.missing},
      {"unsent", t.unsent},
      {"refused_items", t.failed_items},
      {"duplicates", t.duplicates},
      {"size_mismatches", t.size_mismatches},
      {"unexpected_acks", t.unexpected_acks},
      {"early_acks", t.early_acks},
      {"acked_via_resume", t.acked_via_resume},
      {"resent", t.resent},
      {"skipped_held", t.skipped_held},
      {"errors_by_code", t.errors_by_code},
      {"close_codes", [&] {
         json j = json::object();
         for (auto& [code, n] : t.close_codes)
           j[std::to_string(code)] = n;
         return j;
       }()},
      {"upgrades_refused", [&] {
         json j = json::object();
         for (auto& [status, n] : t.upgrades_refused)
           j[std::to_string(status)] = n;
         return j;
       }()},
      {"connect_failures", t.connect_failures},
      {"disconnects", t.disconnects},
      {"reconnects", t.live.reconnects.get()},
      {"init_timeouts", t.init_timeouts},
      {"sessions_failed", t.sessions_failed},
      {"sessions_ended", t.sessions_ended},
      {"ends_unacked", t.ends_unacked},
      {"bad_server_text", t.bad_server_text},
      {"timeline", timeline},
      {"latency_by_second", by_second}}}};
}

} // namespace loadgen
