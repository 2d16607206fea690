#include "config.hpp"

#include <cstdlib>

namespace mediaspool {

config::config() {
  // CAF's defaults bite on 2 cores: 4 threads, and unbounded throughput lets one busy actor
  // monopolise a worker (STACK.md pitfalls 1 and 2).
  set("scheduler.max-threads", 2);
  set("scheduler.max-throughput", 100);
  opt_group{custom_options_, "server"}
    .add(host, "host", "address to listen on (auth mode none requires loopback)")
    .add(port, "port", "TCP port for HTTP and WebSocket (0: any free port)")
    .add(port_file, "port-file", "if set, the bound port is written here once listening (for tests)")
    .add(io_threads, "io-threads", "Asio threads serving sockets")
    .add(log_level, "log-level", "trace, debug, info, warn, error");
  opt_group{custom_options_, "limits"}
    .add(read_message_max, "read-message-max", "largest WebSocket message in bytes (1009 above)")
    .add(max_text_bytes, "max-text-bytes", "largest JSON text message")
    .add(max_audio_bytes, "max-audio-bytes", "largest audio chunk payload")
    .add(max_frame_bytes, "max-frame-bytes", "largest video frame payload")
    .add(handshake_timeout, "handshake-timeout", "deadline for the HTTP request and upgrade")
    .add(init_timeout, "init-timeout", "deadline for session_init after the upgrade")
    .add(connection_credit, "connection-credit", "payload bytes in flight per connection before reads pause")
    .add(global_inflight, "global-inflight", "payload bytes in flight in the whole process before reads pause")
    .add(max_unpaired_bytes, "max-unpaired-bytes", "blob bytes per session waiting for their metadata")
    .add(orphan_timeout, "orphan-timeout", "how long a half waits for its partner")
    .add(max_connections, "max-connections", "WebSocket connections beyond this get HTTP 503");
  opt_group{custom_options_, "spool"}
    .add(spool_path, "path", "RocksDB folder of the write-ahead spool")
    .add(spool_write_buffer, "write-buffer", "RocksDB memtable bytes");
  opt_group{custom_options_, "media"}
    .add(media_root, "root", "root folder of the media files")
    .add(file_writers, "file-writers", "file-writer actors (each fsyncs on its own thread)");
  opt_group{custom_options_, "db"}
    .add(db_url, "url", "PostgreSQL URL (env MEDIASPOOL_DB_URL overrides)")
    .add(db_loaders, "loaders", "session-init actors, one PostgreSQL connection each")
    .add(db_max_batch, "max-batch", "rows per PostgreSQL transaction at most")
    .add(db_refresh_fraction, "refresh-fraction", "rebuild an array when new rows reach this fraction of it")
    .add(db_refresh_min_interval, "refresh-min-interval", "at most one rebuild per array per interval")
    .add(db_idle_refresh, "idle-refresh", "rebuild stale arrays of a session idle this long");
}

void config::apply_environment() {
  if (auto url = std::getenv("MEDIASPOOL_DB_URL"); url && *url)
    db_url = url;
}

} // namespace mediaspool
