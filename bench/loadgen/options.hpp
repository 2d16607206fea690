#pragma once
// Every knob of the load generator, from flags or a config file (`key = value`, the flag names
// without the dashes; flags on the command line win). No positional arguments.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace loadgen {

enum class pace { realtime, max };

struct options {
  // -- target
  std::string url = "ws://127.0.0.1:8080/ws/media-stream";
  std::string origin = "auto"; ///< "auto": http://<host>:<port>, as a page served by the target
  std::string token;
  int64_t user_id = 1;

  // -- load shape
  uint32_t sessions = 10;
  uint32_t threads = 1;
  pace mode = pace::realtime;
  uint32_t window = 4;
  uint32_t warmup = 0;
  uint32_t warmup_window = 0; ///< 0: same as window
  uint32_t warmup_payload = 0; ///< payload bytes of warm-up items; 0: as measured items
  double settle_s = 0;         ///< after the warm-up, wait up to this long for the server's backlog
  uint64_t items = 0;         ///< live items per session; 0: run for `duration`
  double duration_s = 10;
  double ramp_up_s = 0;
  double arrival_rate = 0; ///< sessions per second, open arrivals; 0: all start together (barrier)
  bool end = false;

  // -- the recorder model
  uint32_t audio_size = 160000;
  uint32_t frame_size = 45000;
  double size_jitter = 0.05;
  double audio_interval_s = 10;
  double frame_interval_s = 2;
  double meta_after_ratio = 0;
  uint64_t seed = 1;
  uint64_t run_id = 0; ///< 0: drawn at start (time and pid), printed in the report
  uint32_t pool_mb = 32;
  std::string speech_dir;       ///< audio payloads: DIR/chunk_<k>.webm, cycled (transcription runs)
  double transcript_wait_s = 0; ///< after the last ack, wait this long for transcriptions

  // -- transport and robustness
  double connect_timeout_s = 10;
  double init_timeout_s = 30;
  double drain_timeout_s = 30;
  double time_limit_s = 0; ///< open arrivals: stop taking sessions after this long; 0: no limit
  uint32_t reconnect_max = 20;
  uint32_t backoff_min_ms = 100;
  uint32_t backoff_max_ms = 5000;
  uint32_t write_buffer = 0; ///< Beast's masking buffer per connection; 0: auto

  // -- output
  uint32_t position_bucket = 100;
  std::string json_path;
  std::string label;
  std::string progress = "auto"; ///< auto | on | off
  std::string emit_payload;      ///< "SESSION,KIND,INDEX": print that payload and exit

  // -- derived from url
  std::string host;
  std::string port;
  std::string path;
};

/// Parses argv (and --config files it names). Returns false after printing help or an error;
/// `exit_code` then says which.
bool parse_options(int argc, char** argv, options& out, int& exit_code);

std::string help_text();
void to_json(nlohmann::json& j, const options& o);

} // namespace loadgen
