#pragma once
// mediaspool's one configuration mechanism: CAF's actor_system_config with one option group per
// section. Defaults here < config file (--config-file=, INI) < command line (--section.key=value)
// < the MEDIASPOOL_DB_URL environment variable for db.url. `--dump-config` prints the result.
#include "asr/engine.hpp"

#include <caf/actor_system_config.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace mediaspool {

class config : public caf::actor_system_config {
public:
  config();

  /// Environment overrides, after parse(): MEDIASPOOL_<SECTION>_<KEY> (upper case, '-' as '_',
  /// e.g. MEDIASPOOL_SERVER_PORT, MEDIASPOOL_DB_URL, MEDIASPOOL_AUTH_SECRET) sets a key that the
  /// command line (`args`) does not; MEDIASPOOL_JWT_SECRET is an alias of MEDIASPOOL_AUTH_SECRET.
  /// Returns an error text for a value that does not parse.
  std::string apply_environment(const std::vector<std::string>& args);

  /// CAF 0.17 takes a boolean on the command line only as a bare flag (`--asr.enabled`), so
  /// `--asr.enabled=false` would be a parse error. Call before parse(): moves every
  /// `--<boolean key>=<value>` out of `args`; apply_flag_values() sets them after the environment.
  void extract_flag_values(std::vector<std::string>& args);

  /// Sets what extract_flag_values took (the command line wins over the environment). Returns an
  /// error text for a value that is not true or false.
  std::string apply_flag_values();

  /// asr.workers, with 0 read as one per core: recognition runs at a lower priority (asr.nice),
  /// so the extra workers take only the CPU that ingest leaves idle.
  size_t asr_worker_count(unsigned cores) const { return asr_workers > 0 ? asr_workers : cores > 0 ? cores : 1; }

  /// Every mediaspool key with its effective value, as the config file would hold it; secrets
  /// are shown as "(set)".
  std::string dump() const;

  // [server]
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string port_file;
  std::string web_root = "web";
  size_t io_threads = 1;
  std::string log_level = "info";
  caf::timespan shutdown_drain = std::chrono::seconds(10);
  size_t min_free_bytes = size_t{1} << 30;
  caf::timespan ready_write_stall = std::chrono::seconds(10);

  // [limits]
  size_t read_message_max = 8u << 20;
  size_t max_text_bytes = 16u << 10;
  size_t max_audio_bytes = (8u << 20) - 64;
  size_t max_frame_bytes = (8u << 20) - 64;
  caf::timespan handshake_timeout = std::chrono::seconds(30);
  caf::timespan init_timeout = std::chrono::seconds(10);
  caf::timespan idle_timeout = std::chrono::seconds(60);
  size_t connection_credit = 4u << 20;
  size_t global_inflight = 1024u << 20;
  size_t max_unpaired_bytes = 16u << 20;
  size_t max_unpaired_metadata = 256;
  caf::timespan orphan_timeout = std::chrono::seconds(30);
  size_t max_connections = 20000;
  caf::timespan admission_lag = std::chrono::milliseconds(500);
  caf::timespan admission_ack_wait = std::chrono::seconds(1);
  double max_messages_per_second = 5000;

  // [spool]
  std::string spool_path = "var/spool";
  size_t spool_write_buffer = 8u << 20;
  size_t spool_max_bytes = size_t{8} << 30;

  // [media]
  std::string media_root = "var/media";
  size_t file_writers = 2;
  size_t media_queue_memory = size_t{256} << 20;

  // [db]
  std::string db_url;
  size_t db_loaders = 2;
  size_t db_max_batch = 2000;
  double db_refresh_fraction = 0.25;
  double db_refresh_jitter = 0.2;
  caf::timespan db_refresh_min_interval = std::chrono::seconds(2);
  caf::timespan db_idle_refresh = std::chrono::seconds(30);

  // [asr] (issue 5)
  bool asr_enabled = true;
  std::string asr_engine = "pocketsphinx";
  std::string asr_command;
  caf::timespan asr_command_timeout = std::chrono::seconds(60);
  std::string asr_model_dir = "/usr/share/pocketsphinx/model/en-us";
  std::string asr_pocketsphinx_options = asr::engine_config{}.options;
  size_t asr_workers = 0; ///< 0: one per core (asr_worker_count)
  int asr_nice = 10;
  size_t asr_batch = 16;
  caf::timespan asr_poll_interval = std::chrono::seconds(1);
  caf::timespan asr_give_up = std::chrono::minutes(10);
  caf::timespan asr_claim_lease = std::chrono::seconds(60);

  // [auth] (PROTOCOL.md section 6)
  std::string node_id;
  std::string auth_mode = "none";
  std::string auth_secret;
  std::string auth_allowed_origins;

  // [debug] fault injection (issue 6): off in production
  bool fault_injection = false;
  std::string io_faults;
  std::string crash_at;

  // [log]
  std::string log_base_level;        ///< log.level; empty: server.log-level
  std::string log_format = "text";
  std::string log_session, log_spool, log_files, log_db, log_net; ///< per component; empty: log.level
  std::string log_asr;

private:
  std::vector<std::pair<std::string, std::string>> flag_values_; ///< (full key, value)
};

} // namespace mediaspool
