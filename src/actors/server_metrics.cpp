#include "actors/server_metrics.hpp"

#include <type_traits>
#include <variant>

namespace mediaspool {

namespace {

constexpr const char* kind_names[] = {"audio", "frame", "response"};
static_assert(static_cast<size_t>(ec::internal) + 1 == 14, "server_metrics::errors has one slot per ec");

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

double steady_now_ns() {
  return static_cast<double>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

} // namespace

size_t kind_slot(item_kind kind) noexcept {
  switch (kind) {
    case item_kind::audio:
      return 0;
    case item_kind::frame:
      return 1;
    default:
      return 2;
  }
}

server_metrics::server_metrics(std::shared_ptr<metrics::registry> reg)
  : registry(std::move(reg)),
    sessions(registry->add_gauge("mediaspool_sessions", "Session actors alive (one per WebSocket connection)")),
    conflicts(registry->add_counter("mediaspool_conflicts_total",
                                    "Items resent with the same index but other bytes (the stored one stays)")),
    ack_latency(registry->add_histogram("mediaspool_ack_latency_seconds",
                                        "From a pair completing in the session to its durable notice",
                                        latency_buckets())),
    init_latency(registry->add_histogram("mediaspool_session_init_seconds",
                                         "From session_init to session_init_ack: the registry's claim and the "
                                         "loader's rows and held items (a restart's reconnect storm shows here)",
                                         latency_buckets())),
    spool_commit_seconds(registry->add_histogram("mediaspool_spool_commit_seconds",
                                                 "Duration of one spool group commit (WriteBatch + fsync)",
                                                 latency_buckets())),
    spool_commit_items(registry->add_histogram("mediaspool_spool_commit_items", "Items per spool group commit",
                                               metrics::exponential_buckets(1, 2, 12))),
    spool_records(registry->add_gauge("mediaspool_spool_records", "Records in the spool (durable, not yet settled)")),
    spool_payload_bytes(registry->add_gauge("mediaspool_spool_payload_bytes",
                                            "Payload bytes of those records (bounded by spool.max-bytes)")),
    items_pending(registry->add_gauge("mediaspool_items_pending", "Durable items not yet both a file and a row")),
    file_queue(registry->add_gauge("mediaspool_file_writer_queue", "File jobs handed to file writers and not done")),
    batcher_queue(registry->add_gauge("mediaspool_batcher_queue", "Rows handed to the DB batcher and not committed")),
    files_from_spool(registry->add_counter("mediaspool_files_from_spool_total",
                                           "File jobs whose bytes were read back from the spool: files waiting to be "
                                           "written already held media.queue-memory")),
    db_rows_set_aside(registry->add_counter("mediaspool_db_rows_set_aside_total",
                                            "Rows PostgreSQL refused for their data (SQLSTATE class 22/23), each set "
                                            "aside unconfirmed: its record stays in the spool and a restart tries it "
                                            "again; the log names the item")),
    budget_waits(registry->add_counter("mediaspool_budget_waits_total",
                                       "Times a connection stopped reading because the process in-flight budget "
                                       "(limits.global-inflight) was spent; it then waits in line for its turn")),
    budget_overdrafts(registry->add_counter("mediaspool_budget_overdrafts_total",
                                            "Binary frames read ahead of the line, past a spent in-flight budget, "
                                            "because a blob of the same connection waited for metadata behind them")),
    io_loop_lag_us(registry->add_gauge("mediaspool_io_loop_lag_microseconds",
                                       "How late the media loop (WebSockets) runs (a 100 ms timer's firing minus its deadline, "
                                       "smoothed); above limits.admission-lag new sessions are refused")),
    ack_wait_us(registry->add_gauge("mediaspool_ack_wait_microseconds",
                                    "How long items take now to become durable (each 100 ms: the mean latency of the acks "
                                    "made durable, or the age of a spool write still running if longer; smoothed); above "
                                    "limits.admission-ack-wait new sessions are refused")),
    sessions_refused(registry->add_counter("mediaspool_sessions_refused_total",
                                           "Sessions refused (HTTP 503 before the upgrade, or overloaded/1013 at "
                                           "session_init) because the media loop ran late or acks waited on the "
                                           "disk; a session this node last served is never refused")),
    transcription_backlog(registry->add_gauge("mediaspool_transcription_backlog",
                                              "Audio chunks not transcribed yet (PostgreSQL's work list)")),
    transcription_retrying(registry->add_gauge("mediaspool_transcription_retrying",
                                               "Audio chunks of this node that failed for now (file not there yet, "
                                               "engine unavailable) and wait to be tried again")),
    transcribed(registry->add_counter("mediaspool_transcriptions_total", "Audio chunks transcribed",
                                      {{"result", "ok"}})),
    transcription_failed(registry->add_counter("mediaspool_transcriptions_total", "Audio chunks transcribed",
                                               {{"result", "error"}})),
    transcription_lag(registry->add_histogram("mediaspool_transcription_lag_seconds",
                                              "From a chunk's row insert (about its ack) to its committed transcription",
                                              {0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600})) {
  for (size_t k = 0; k < 3; ++k) {
    metrics::labels l{{"kind", kind_names[k]}};
    items_received[k] = &registry->add_counter("mediaspool_items_received_total",
                                               "New complete items (metadata + payload) sent to the spool", l);
    bytes_received[k] = &registry->add_counter("mediaspool_bytes_received_total", "Payload bytes of those items", l);
    acks[k] = &registry->add_counter("mediaspool_acks_total", "Acks sent to clients, duplicates included", l);
    duplicates[k] = &registry->add_counter("mediaspool_duplicates_total", "Acks of items already held", l);
  }
  const char* limit_names[] = {"handshake_timeout", "bad_http", "max_connections", "idle_timeout"};
  for (size_t i = 0; i < connection_limits.size(); ++i)
    connection_limits[i] = &registry->add_counter("mediaspool_connection_limits_total",
                                                  "Connections refused or cut by a limit (init timeouts, too_large and "
                                                  "rate_limited are in mediaspool_errors_total)",
                                                  {{"limit", limit_names[i]}});
  storage_write_failures[0] = &registry->add_counter("mediaspool_storage_write_failures_total",
                                                     "Failed writes or syncs (I/O error, disk full)", {{"store", "spool"}});
  storage_write_failures[1] = &registry->add_counter("mediaspool_storage_write_failures_total",
                                                     "Failed writes or syncs (I/O error, disk full)", {{"store", "media"}});
  for (size_t c = 1; c < errors.size(); ++c)
    errors[c] = &registry->add_counter("mediaspool_errors_total", "Error messages sent to clients, by code",
                                       {{"code", to_string(static_cast<ec>(c))}});
  registry->add_callback("mediaspool_batcher_lag_seconds", "Age of the oldest row not yet committed to PostgreSQL",
                         [this] {
                           auto t = batcher_oldest_ns.load(std::memory_order_relaxed);
                           return t == 0 ? 0.0 : (steady_now_ns() - static_cast<double>(t)) / 1e9;
                         });
  registry->add_callback("mediaspool_transcription_real_time_factor",
                         "Worker CPU seconds per audio second transcribed since start (decode included)", [this] {
                           double a = asr_audio_seconds.load(std::memory_order_relaxed);
                           return a > 0 ? asr_cpu_seconds.load(std::memory_order_relaxed) / a : 0.0;
                         });
  registry->add_callback("process_resident_memory_bytes", "Resident set size (/proc/self/statm)",
                         [] { return metrics::process_rss_bytes(); });
}

void server_metrics::on_sent(const server_message& msg) noexcept {
  std::visit(
    [this](const auto& m) {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<T, item_ack>) {
        acks[kind_slot(m.kind)]->inc();
        if (m.duplicate)
          duplicates[kind_slot(m.kind)]->inc();
      } else if constexpr (std::is_same_v<T, response_ack>) {
        acks[kind_slot(item_kind::response)]->inc();
      } else if constexpr (std::is_same_v<T, error_reply>) {
        auto c = static_cast<size_t>(m.code);
        if (c > 0 && c < errors.size())
          errors[c]->inc();
        if (m.code == ec::conflict)
          conflicts.inc();
      }
    },
    msg);
}

void server_metrics::on_received(item_kind kind, uint64_t bytes) noexcept {
  items_received[kind_slot(kind)]->inc();
  bytes_received[kind_slot(kind)]->inc(bytes);
}

} // namespace mediaspool
