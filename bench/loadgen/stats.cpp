#include "loadgen/stats.hpp"

#include <algorithm>

namespace loadgen {

namespace {

// Past this many rows the last one absorbs the rest: memory stays bounded on endless runs.
constexpr size_t max_position_rows = 1000;
constexpr size_t max_second_rows = 86400;

} // namespace

thread_stats::thread_stats() = default;

void thread_stats::record_position(uint64_t position, uint32_t bucket, uint64_t ns) {
  size_t row = std::min<uint64_t>(position / bucket, max_position_rows - 1);
  while (by_position.size() <= row)
    by_position.emplace_back();
  by_position[row].record(ns);
}

void thread_stats::record_second(steady::duration since_measure_start, uint64_t ns) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(since_measure_start).count();
  size_t row = std::min<size_t>(static_cast<size_t>(std::max<decltype(s)>(s, 0)), max_second_rows - 1);
  if (by_second.size() <= row)
    by_second.resize(row + 1);
  by_second[row].acks++;
  by_second[row].max_ns = std::max(by_second[row].max_ns, ns);
}

void thread_stats::merge(const thread_stats& o) {
  latency.merge(o.latency);
  connect_latency.merge(o.connect_latency);
  init_latency.merge(o.init_latency);
  admit_latency.merge(o.admit_latency);
  end_latency.merge(o.end_latency);
  transcript_latency.merge(o.transcript_latency);
  transcripts += o.transcripts;
  transcripts_missing += o.transcripts_missing;
  if (by_position.size() < o.by_position.size())
    by_position.resize(o.by_position.size());
  for (size_t i = 0; i < o.by_position.size(); ++i)
    by_position[i].merge(o.by_position[i]);
  if (by_second.size() < o.by_second.size())
    by_second.resize(o.by_second.size());
  for (size_t i = 0; i < o.by_second.size(); ++i) {
    by_second[i].acks += o.by_second[i].acks;
    by_second[i].max_ns = std::max(by_second[i].max_ns, o.by_second[i].max_ns);
  }
  for (auto& [k, v] : o.errors_by_code)
    errors_by_code[k] += v;
  for (auto& [k, v] : o.close_codes)
    close_codes[k] += v;
  for (auto& [k, v] : o.upgrades_refused)
    upgrades_refused[k] += v;
  items_sent += o.items_sent;
  measured_sent += o.measured_sent;
  measured_acked += o.measured_acked;
  measured_bytes += o.measured_bytes;
  window_acked += o.window_acked;
  window_bytes += o.window_bytes;
  warmup_acked += o.warmup_acked;
  duplicates += o.duplicates;
  size_mismatches += o.size_mismatches;
  unexpected_acks += o.unexpected_acks;
  early_acks += o.early_acks;
  acked_via_resume += o.acked_via_resume;
  resent += o.resent;
  failed_items += o.failed_items;
  missing += o.missing;
  unsent += o.unsent;
  connect_failures += o.connect_failures;
  disconnects += o.disconnects;
  init_timeouts += o.init_timeouts;
  sessions_failed += o.sessions_failed;
  sessions_ended += o.sessions_ended;
  sessions_admitted += o.sessions_admitted;
  sessions_not_taken += o.sessions_not_taken;
  ends_unacked += o.ends_unacked;
  skipped_held += o.skipped_held;
  bad_server_text += o.bad_server_text;
  last_measured_ack = std::max(last_measured_ack, o.last_measured_ack);
  live.reconnects.add(o.live.reconnects.get());
  live.errors.add(o.live.errors.get());
}

} // namespace loadgen
