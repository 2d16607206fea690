#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

namespace mediaspool {

config::config() {
  // CAF's defaults bite on 2 cores: 4 threads, and unbounded throughput lets one busy actor
  // monopolise a worker (STACK.md pitfalls 1 and 2).
  set("scheduler.max-threads", 2);
  set("scheduler.max-throughput", 100);
  // Work stealing polls an idle worker's queue with 50 us sleeps for a while before it blocks:
  // ~4,300 wake-ups a second per worker here, taking the cores from the network and storage
  // threads, which do most of the work. Work sharing blocks idle workers on a condition variable.
  // Measured back to back: figure 1 +5 % (median of 3), 10,000 real-time sessions +10 %.
  set("scheduler.policy", caf::atom("sharing"));
  opt_group{custom_options_, "server"}
    .add(host, "host", "address to listen on (auth mode none requires loopback)")
    .add(port, "port", "TCP port for HTTP and WebSocket (0: any free port)")
    .add(port_file, "port-file", "if set, the bound port is written here once listening (for tests)")
    .add(node_id, "node-id", "this node's name in media_sessions.node_id (default: <hostname>:<port>)")
    .add(web_root, "web-root", "folder of the recorder (GET /) and review (GET /review/) pages")
    .add(io_threads, "io-threads", "Asio threads serving sockets")
    .add(shutdown_drain, "shutdown-drain", "on SIGTERM, how long connections may take to finish before they are cut")
    .add(log_level, "log-level", "trace, debug, info, warn, error")
    .add(min_free_bytes, "min-free-bytes", "GET /readyz fails when the spool or media filesystem has less free")
    .add(ready_write_stall, "ready-write-stall",
         "GET /readyz fails while a spool write has been running this long (a hung disk); 0s: never");
  opt_group{custom_options_, "log"}
    .add(log_base_level, "level", "global level; overrides server.log-level when set")
    .add(log_format, "format", "text (terminals) or json (one object per line: ts, level, component, msg, sid, actor)")
    .add(log_session, "session", "level of the session logger (empty: log.level)")
    .add(log_spool, "spool", "level of the spool logger (empty: log.level)")
    .add(log_files, "files", "level of the file-writer logger (empty: log.level)")
    .add(log_db, "db", "level of the PostgreSQL logger (empty: log.level)")
    .add(log_net, "net", "level of the network logger (empty: log.level)")
    .add(log_asr, "asr", "level of the speech-recognition logger (empty: log.level)");
  opt_group{custom_options_, "asr"}
    .add(asr_enabled, "enabled", "transcribe audio chunks in the background")
    .add(asr_engine, "engine", "pocketsphinx (built in) or command")
    .add(asr_command, "command", "engine command: shell command line; {} = path of a 16 kHz mono WAV, text on stdout")
    .add(asr_command_timeout, "command-timeout", "engine command: a run taking longer is killed (with its children)")
    .add(asr_model_dir, "model-dir", "pocketsphinx model folder (en-us/, en-us.lm.bin, cmudict-en-us.dict)")
    .add(asr_pocketsphinx_options, "pocketsphinx-options", "extra pocketsphinx decoder options, \"-name value\" pairs")
    .add(asr_workers, "workers", "transcriber workers, one engine (and ~140 MB model) each; 0: one per core")
    .add(asr_nice, "nice", "nice value added to the worker threads so ingest keeps the CPU")
    .add(asr_batch, "batch", "chunks fetched from the PostgreSQL work list at a time")
    .add(asr_poll_interval, "poll-interval", "how often the work list and backlog are read")
    .add(asr_give_up, "give-up", "a chunk whose file stays unreadable this long is marked with an error")
    .add(asr_claim_lease, "claim-lease",
         "a node's claim on the chunks it took from the work list; another node takes them after it");
  opt_group{custom_options_, "limits"}
    .add(read_message_max, "read-message-max", "largest WebSocket message in bytes (1009 above)")
    .add(max_text_bytes, "max-text-bytes", "largest JSON text message")
    .add(max_audio_bytes, "max-audio-bytes", "largest audio chunk payload")
    .add(max_frame_bytes, "max-frame-bytes", "largest video frame payload")
    .add(handshake_timeout, "handshake-timeout", "deadline for the HTTP request and upgrade")
    .add(init_timeout, "init-timeout", "deadline for session_init after the upgrade")
    .add(idle_timeout, "idle-timeout",
         "a WebSocket silent for half of this is pinged, silent for all of it closed (also bounds the close handshake)")
    .add(connection_credit, "connection-credit", "payload bytes in flight per connection before binary frames wait (text is still read)")
    .add(global_inflight, "global-inflight", "payload bytes in flight in the whole process before reads pause")
    .add(max_unpaired_bytes, "max-unpaired-bytes", "blob bytes per session waiting for their metadata")
    .add(max_unpaired_metadata, "max-unpaired-metadata", "metadata messages per session waiting for their blobs")
    .add(orphan_timeout, "orphan-timeout", "how long a half waits for its partner")
    .add(max_connections, "max-connections", "WebSocket connections beyond this get HTTP 503")
    .add(admission_lag, "admission-lag",
         "new sessions are refused while the media loop runs this late (smoothed): HTTP 503 before the "
         "upgrade when the URL names the session (?sid=), else overloaded (1013) at session_init; a session "
         "this node last served is always taken; 0s: never refuse")
    .add(admission_ack_wait, "admission-ack-wait",
         "new sessions are refused likewise while items take this long to become durable (smoothed mean "
         "of the acks, or the age of a spool write still running: a slow or hung disk); 0s: never refuse")
    .add(max_messages_per_second, "max-messages-per-second",
         "WebSocket messages per second per connection (bursts up to the same number); 0: unlimited");
  opt_group{custom_options_, "spool"}
    .add(spool_path, "path", "folder of the write-ahead spool: RocksDB records and payloads/ segments")
    .add(spool_write_buffer, "write-buffer", "RocksDB memtable bytes (a restart after a crash replays up to ~3x this of log)")
    .add(spool_max_bytes, "max-bytes",
         "payload bytes the spool may hold before new items get overloaded (e.g. a long PostgreSQL outage); 0: the disk");
  opt_group{custom_options_, "media"}
    .add(media_root, "root", "root folder of the media files")
    .add(file_writers, "file-writers", "file-writer actors (each fsyncs on its own thread)")
    .add(media_queue_memory, "queue-memory",
         "payload bytes kept in memory for files not yet written; past it the file writers read them back from the spool");
  opt_group{custom_options_, "db"}
    .add(db_url, "url", "PostgreSQL URL (env MEDIASPOOL_DB_URL overrides)")
    .add(db_loaders, "loaders", "session-init actors, one PostgreSQL connection each")
    .add(db_max_batch, "max-batch", "rows per PostgreSQL transaction at most")
    .add(db_refresh_fraction, "refresh-fraction", "rebuild an array when new rows reach this fraction of it")
    .add(db_refresh_jitter, "refresh-jitter", "spread each session's fraction and minimum interval by up to this share (desynchronises rebuilds)")
    .add(db_refresh_min_interval, "refresh-min-interval", "at most one rebuild per array per interval")
    .add(db_idle_refresh, "idle-refresh", "rebuild stale arrays of a session idle this long");
  opt_group{custom_options_, "debug"}
    .add(fault_injection, "fault-injection",
         "allow injected I/O failures and crash points (tests and drills; PUT /api/debug/faults)")
    .add(io_faults, "io-faults",
         "I/O calls to fail (or with :slow=MS to delay) from the start, e.g. media.sync@3:persistent:ENOSPC, spool.sync:persistent:slow=2000 (needs fault-injection)")
    .add(crash_at, "crash-at",
         "SIGKILL the server at a named point: after-spool-sync, after-file-before-db or mid-batch, [@N] (needs fault-injection)");
  opt_group{custom_options_, "auth"}
    .add(auth_mode, "mode", "none (loopback only) or jwt (HS256 tokens, PROTOCOL.md section 6)")
    .add(auth_secret, "secret", "HS256 key, at least 32 bytes (env MEDIASPOOL_JWT_SECRET overrides; never logged)")
    .add(auth_allowed_origins, "allowed-origins",
         "comma-separated exact Origin values allowed to open WebSockets (empty: any)");
}

namespace {

std::string env_name(caf::string_view category, caf::string_view key) {
  std::string out = "MEDIASPOOL_";
  for (char c : std::string(category.data(), category.size()) + "_" + std::string(key.data(), key.size()))
    out += c == '-' || c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_secret(caf::string_view full_name) { return full_name == "auth.secret"; }

} // namespace

std::string config::apply_environment(const std::vector<std::string>& args) {
  for (auto& opt : custom_options_) {
    if (opt.category() == "global" || opt.category() == "caf")
      continue;
    std::string full(opt.full_name().data(), opt.full_name().size());
    const char* value = std::getenv(env_name(opt.category(), opt.long_name()).c_str());
    if (!value && full == "auth.secret")
      value = std::getenv("MEDIASPOOL_JWT_SECRET");
    if (!value || !*value)
      continue;
    const std::string flag = "--" + full + "=";
    if (std::any_of(args.begin(), args.end(), [&](const std::string& a) { return a.rfind(flag, 0) == 0; }))
      continue; // the command line wins
    if (!opt.parse(value))
      return env_name(opt.category(), opt.long_name()) + ": not a valid " + std::string(opt.type_name().data(), opt.type_name().size());
  }
  return {};
}

void config::extract_flag_values(std::vector<std::string>& args) {
  auto is_flag_assignment = [&](const std::string& a) {
    if (a.rfind("--", 0) != 0 || a.find('=') == std::string::npos)
      return false;
    auto key = a.substr(2, a.find('=') - 2);
    for (auto& opt : custom_options_)
      if (opt.is_flag() && std::string(opt.full_name().data(), opt.full_name().size()) == key) {
        flag_values_.emplace_back(key, a.substr(a.find('=') + 1));
        return true;
      }
    return false;
  };
  args.erase(std::remove_if(args.begin(), args.end(), is_flag_assignment), args.end());
}

std::string config::apply_flag_values() {
  for (auto& [key, value] : flag_values_)
    for (auto& opt : custom_options_)
      if (std::string(opt.full_name().data(), opt.full_name().size()) == key && !opt.parse(value))
        return "--" + key + "=" + value + ": want true or false";
  return {};
}

std::string config::dump() const {
  std::map<std::string, std::vector<std::string>> sections;
  for (auto& opt : custom_options_) {
    auto v = opt.get();
    if (!v)
      continue;
    std::string category(opt.category().data(), opt.category().size());
    std::string line(opt.long_name().data(), opt.long_name().size());
    line += "=";
    if (is_secret(opt.full_name()))
      line += auth_secret.empty() ? "\"\"" : "\"(set)\"";
    else if (caf::holds_alternative<caf::timespan>(*v) && caf::get<caf::timespan>(*v).count() == 0)
      line += "0s"; // CAF writes "0d", which its own parser refuses: the dump must read back
    else
      line += caf::to_string(*v);
    sections[category].push_back(line + "  ; " + std::string(opt.description().data(), opt.description().size()));
  }
  std::string out = "; effective mediaspool configuration (defaults < config file < environment < command line)\n";
  for (auto& [category, lines] : sections) {
    out += "\n[" + category + "]\n";
    for (auto& l : lines)
      out += l + "\n";
  }
  return out;
}

} // namespace mediaspool
