#include "loadgen/options.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <vector>

namespace loadgen {

namespace {

// One row per option: the help is generated from this table, so it cannot drift from the parser.
struct spec {
  const char* name;
  const char* arg; // nullptr: a switch (`--end`, or `end = true` in a file)
  const char* help;
  std::function<std::string(options&, const std::string&)> set;
};

template <class T>
std::string to_number(const std::string& v, T& out) {
  try {
    size_t used = 0;
    if constexpr (std::is_floating_point_v<T>) {
      out = static_cast<T>(std::stod(v, &used));
    } else {
      if (!v.empty() && v[0] == '-' && std::is_unsigned_v<T>)
        return "must not be negative";
      if constexpr (std::is_unsigned_v<T>)
        out = static_cast<T>(std::stoull(v, &used, 0));
      else
        out = static_cast<T>(std::stoll(v, &used, 0));
    }
    if (used != v.size())
      return "is not a number";
  } catch (const std::exception&) {
    return "is not a number";
  }
  return {};
}

std::string to_bool(const std::string& v, bool& out) {
  if (v.empty() || v == "true" || v == "1" || v == "yes" || v == "on")
    return out = true, std::string();
  if (v == "false" || v == "0" || v == "no" || v == "off")
    return out = false, std::string();
  return "must be true or false";
}

#define NUM(field) [](options& o, const std::string& v) { return to_number(v, o.field); }
#define STR(field) [](options& o, const std::string& v) { return o.field = v, std::string(); }
#define FLAG(field) [](options& o, const std::string& v) { return to_bool(v, o.field); }

const std::vector<spec>& table() {
  static const std::vector<spec> t = {
    {"config", "FILE", "read options from FILE: `key = value` lines (flag names without --), # comments; "
                       "flags given on the command line override it", nullptr},
    {"url", "URL", "WebSocket endpoint, ws:// only (default ws://127.0.0.1:8080/ws/media-stream)", STR(url)},
    {"origin", "ORIGIN", "Origin header: `auto` (http://host:port, a page served by the target), `none`, "
                         "or a literal value (default auto)", STR(origin)},
    {"token", "JWT", "token put in every session_init (default none)", STR(token)},
    {"user-id", "N", "user_id in session_init (default 1)", NUM(user_id)},
    {"sessions", "N", "concurrent recording sessions, one WebSocket each (default 10)", NUM(sessions)},
    {"threads", "N", "I/O threads, each with its own io_context and a share of the sessions (default 1)",
     NUM(threads)},
    {"mode", "realtime|max", "realtime: the recorder's cadence (an audio chunk every --audio-interval, a "
                             "frame every --frame-interval); max: as fast as acks allow, with at most "
                             "--window un-acked items per session (default realtime)",
     [](options& o, const std::string& v) {
       if (v == "realtime")
         o.mode = pace::realtime;
       else if (v == "max")
         o.mode = pace::max;
       else
         return std::string("must be realtime or max");
       return std::string();
     }},
    {"window", "K", "max mode: un-acked items allowed per session (default 4)", NUM(window)},
    {"warmup", "N", "items each session sends before measuring, at max pace with --warmup-window, to age "
                    "it (30 min of recording is ~1,080 items); their latencies go only to the per-position "
                    "table (default 0)", NUM(warmup)},
    {"warmup-window", "K", "un-acked items per session during warm-up (default: --window)", NUM(warmup_window)},
    {"warmup-payload-size", "BYTES", "payload of warm-up items (default 0: as measured items). Ages "
                                     "sessions (rows, arrays, folders of 1,080 files) without writing "
                                     "30 minutes of media each", NUM(warmup_payload)},
    {"settle", "S", "after the warm-up, wait until the server's GET /metrics reports "
                    "mediaspool_items_pending 0, at most S seconds, before measuring: the warm-up "
                    "at max pace leaves files and rows still to write, and the measured phase should "
                    "meet aged sessions, not that backlog (default 0: do not wait)", NUM(settle_s)},
    {"items", "N", "measured items per session; the run ends when all are acked (default 0: use --duration)",
     NUM(items)},
    {"duration", "SECONDS", "measured time when --items is 0; then new items stop and the run drains "
                            "(default 10)", NUM(duration_s)},
    {"ramp-up", "SECONDS", "spread the sessions' connects evenly over this time; measuring starts when "
                           "every session is connected and warmed up (default 0)", NUM(ramp_up_s)},
    {"arrival-rate", "R", "open arrivals: a new session every 1/R seconds whether or not the earlier ones "
                          "got in, as interviews start on a platform; each records --duration seconds (or "
                          "--items items) from its own session_init_ack (after its --warmup), then ends "
                          "(--end is implied) and disconnects. No start barrier, --ramp-up is unused, "
                          "and how long each waited to be taken is reported (default 0: every session "
                          "starts within --ramp-up and they are measured together)", NUM(arrival_rate)},
    {"time-limit", "SECONDS", "open arrivals: this long after the first arrival, sessions not yet taken "
                              "(refused, backing off, or yet to arrive) leave, counted as not taken, and the "
                              "ones recording stop and drain, so a "
                              "node far past capacity cannot stretch the run to every retry's end "
                              "(default 0: no limit)", NUM(time_limit_s)},
    {"end", nullptr, "finish each session with session_end and wait for session_end_ack", FLAG(end)},
    {"audio-size", "BYTES", "audio chunk payload (default 160000)", NUM(audio_size)},
    {"frame-size", "BYTES", "JPEG frame payload (default 45000)", NUM(frame_size)},
    {"payload-size", "BYTES", "sets both --audio-size and --frame-size",
     [](options& o, const std::string& v) {
       auto e = to_number(v, o.audio_size);
       o.frame_size = o.audio_size;
       return e;
     }},
    {"size-jitter", "FRACTION", "payload sizes vary uniformly by +-FRACTION, deterministically (default 0.05)",
     NUM(size_jitter)},
    {"audio-interval", "SECONDS", "recording time per audio chunk; 0 sends no audio (default 10)",
     NUM(audio_interval_s)},
    {"frame-interval", "SECONDS", "recording time between frames; 0 sends no frames (default 2)",
     NUM(frame_interval_s)},
    {"meta-after-ratio", "FRACTION", "share of items whose metadata follows the binary frame instead of "
                                     "preceding it (default 0)", NUM(meta_after_ratio)},
    {"seed", "N", "payload seed: bytes are a function of (seed, session number, kind, index) (default 1)",
     NUM(seed)},
    {"run-id", "N", "mixed into session UUIDs; give a previous run's id to resume its sessions "
                    "(default: drawn from time and pid)", NUM(run_id)},
    {"pool-mb", "MB", "shared random pool payloads are sliced from (default 32)", NUM(pool_mb)},
    {"speech-dir", "DIR", "audio payloads are real WebM/Opus files DIR/chunk_0.webm, chunk_1.webm ... "
                          "(chunk k sends file k mod their count) instead of random bytes, so the server "
                          "can transcribe them; --audio-size is then ignored", STR(speech_dir)},
    {"transcript-wait", "SECONDS", "after a session's last ack, wait up to this long for the "
                                   "`transcription` of each audio chunk acked on this connection; the "
                                   "ack -> transcription latency is reported (default 0: not measured)",
     NUM(transcript_wait_s)},
    {"connect-timeout", "SECONDS", "TCP connect + WebSocket handshake limit (default 10)", NUM(connect_timeout_s)},
    {"init-timeout", "SECONDS", "wait for session_init_ack before reconnecting (default 30)", NUM(init_timeout_s)},
    {"drain-timeout", "SECONDS", "after the last item, wait this long for outstanding acks; the rest count "
                                 "as missing (default 30)", NUM(drain_timeout_s)},
    {"reconnect-max", "N", "reconnects per session before it is given up (default 20)", NUM(reconnect_max)},
    {"backoff-min-ms", "MS", "first reconnect delay; doubles per failure, with jitter (default 100)",
     NUM(backoff_min_ms)},
    {"backoff-max-ms", "MS", "reconnect delay cap (default 5000)", NUM(backoff_max_ms)},
    {"write-buffer", "BYTES", "Beast's per-connection masking buffer: one socket write per this many "
                              "bytes (default 0: 64 KiB up to 2,000 sessions, else 8 KiB)", NUM(write_buffer)},
    {"position-bucket", "N", "item positions per row of the per-position latency table (default 100)",
     NUM(position_bucket)},
    {"json", "FILE", "write the machine-readable result here", STR(json_path)},
    {"label", "TEXT", "free text copied into the result", STR(label)},
    {"progress", "auto|on|off", "live line on stderr once a second (auto: when stderr is a terminal)",
     STR(progress)},
    {"emit-payload", "S,K,I", "print the payload of session S, kind a|f, index I to stdout and exit "
                              "(verifies stored files with cmp; use the run's --seed)", STR(emit_payload)},
    {"help", nullptr, "this text", nullptr},
  };
  return t;
}

#undef NUM
#undef STR
#undef FLAG

const spec* find(const std::string& name) {
  for (auto& s : table())
    if (name == s.name)
      return &s;
  return nullptr;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string apply(options& o, const std::string& name, const std::string& value, const std::string& where) {
  auto s = find(name);
  if (!s || !s->set)
    return where + ": unknown option '" + name + "'";
  if (auto e = s->set(o, value); !e.empty())
    return where + ": " + name + " " + e;
  return {};
}

std::string load_file(options& o, const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return "cannot read config file " + path;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty())
      continue;
    auto eq = line.find_first_of("= \t");
    std::string key = trim(line.substr(0, eq));
    std::string value = eq == std::string::npos ? "" : trim(line.substr(eq + 1));
    if (!value.empty() && value[0] == '=')
      value = trim(value.substr(1));
    if (key.rfind("--", 0) == 0)
      key = key.substr(2);
    if (auto e = apply(o, key, value, path + ":" + std::to_string(n)); !e.empty())
      return e;
  }
  return {};
}

std::string split_url(options& o) {
  const std::string scheme = "ws://";
  if (o.url.rfind(scheme, 0) != 0)
    return "--url must start with ws:// (wss is not supported)";
  auto rest = o.url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  if (colon == std::string::npos || authority.back() == ']') {
    o.host = authority;
    o.port = "80";
  } else {
    o.host = authority.substr(0, colon);
    o.port = authority.substr(colon + 1);
  }
  if (o.host.size() > 1 && o.host.front() == '[')
    o.host = o.host.substr(1, o.host.size() - 2);
  return o.host.empty() ? "--url has no host" : "";
}

std::string validate(options& o) {
  if (auto e = split_url(o); !e.empty())
    return e;
  if (o.sessions == 0)
    return "--sessions must be at least 1";
  if (o.threads == 0)
    return "--threads must be at least 1";
  if (o.window == 0)
    return "--window must be at least 1";
  if (o.warmup_window == 0)
    o.warmup_window = o.window;
  if (o.settle_s < 0)
    return "--settle must not be negative";
  if (o.settle_s > 0 && o.arrival_rate > 0)
    return "--settle needs the barrier: it cannot go with --arrival-rate";
  if (o.audio_interval_s <= 0 && o.frame_interval_s <= 0)
    return "--audio-interval and --frame-interval cannot both be 0";
  if (o.items == 0 && o.duration_s <= 0)
    return "give --items or a positive --duration";
  if (o.meta_after_ratio < 0 || o.meta_after_ratio > 1)
    return "--meta-after-ratio must be in [0, 1]";
  if (o.size_jitter < 0 || o.size_jitter >= 1)
    return "--size-jitter must be in [0, 1)";
  if (o.position_bucket == 0)
    return "--position-bucket must be at least 1";
  if (o.progress != "auto" && o.progress != "on" && o.progress != "off")
    return "--progress must be auto, on or off";
  if (o.arrival_rate < 0)
    return "--arrival-rate must not be negative";
  if (o.time_limit_s < 0)
    return "--time-limit must not be negative";
  if (o.time_limit_s > 0 && o.arrival_rate <= 0)
    return "--time-limit goes with --arrival-rate (a closed run ends after --duration)";
  if (o.arrival_rate > 0)
    o.end = true; // a session that leaves ends, as the recorder page's does
  if (o.write_buffer == 0)
    o.write_buffer = o.sessions <= 2000 ? 64u << 10 : 8u << 10;
  return {};
}

} // namespace

std::string help_text() {
  std::ostringstream out;
  out << "loadgen: simulates browser recorders speaking the mediaspool protocol (PROTOCOL.md) over\n"
         "WebSocket and measures ack latency, throughput and losses.\n\n"
         "Each session connects (spread over --ramp-up), sends session_init, waits for\n"
         "session_init_ack, sends --warmup items, then waits until every session is ready. The\n"
         "measured phase then runs for --duration seconds (or --items items per session); each item\n"
         "is its metadata JSON and a binary frame (41-byte header + payload), in the order\n"
         "--meta-after-ratio draws. Latency is from the moment both halves are handed to the socket\n"
         "to the ack. A dropped connection reconnects with backoff, sends session_init again and\n"
         "resends only what the ack's audio_received/frames_received lacks. Each connection's URL\n"
         "carries ?sid=<session id> like the recorder page's (a load balancer routes by it); an\n"
         "upgrade the server refuses (HTTP 503) counts as a connect failure and is retried. Exit\n"
         "code 0; 3 when acks are missing or a session was given up.\n\n"
         "usage: loadgen [--option value | --option=value]...\n\n";
  for (auto& s : table()) {
    std::string head = std::string("  --") + s.name + (s.arg ? std::string(" ") + s.arg : "");
    out << head;
    out << (head.size() < 30 ? std::string(30 - head.size(), ' ') : "\n" + std::string(30, ' '));
    // Wrap the help at ~100 columns, indented under its first line.
    std::istringstream words(s.help);
    std::string w;
    size_t col = 30;
    bool first = true;
    while (words >> w) {
      if (!first && col + 1 + w.size() > 100) {
        out << "\n" << std::string(30, ' ');
        col = 30;
        first = true;
      }
      out << (first ? "" : " ") << w;
      col += w.size() + (first ? 0 : 1);
      first = false;
    }
    out << "\n";
  }
  out << "\nexamples:\n"
         "  loadgen --url ws://127.0.0.1:18080/ws/media-stream --sessions 50 --mode max --window 4 \\\n"
         "          --duration 10 --json out.json\n"
         "  loadgen --sessions 50 --mode max --payload-size 1024 --duration 10       # small items\n"
         "  loadgen --sessions 10000 --threads 2 --ramp-up 60 --warmup 1080 --duration 120 --end\n"
         "  loadgen --sessions 1000 --threads 2 --ramp-up 5 --warmup 1080 --warmup-payload-size 1024 \\\n"
         "          --duration 60        # sessions 30 minutes old, without 30 minutes of media each\n"
         "\nexit status: 0 every item acked; 3 acks missing or sessions given up; 2 bad options; 1 other\n"
         "errors. Ctrl-C ends the measured phase early and drains; a second Ctrl-C stops draining.\n";
  return out.str();
}

bool parse_options(int argc, char** argv, options& out, int& exit_code) {
  options o;
  std::vector<std::pair<std::string, std::string>> given;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << help_text();
      exit_code = 0;
      return false;
    }
    if (a.rfind("--", 0) != 0) {
      std::cerr << "loadgen: unexpected argument '" << a << "' (options only; see --help)\n";
      exit_code = 2;
      return false;
    }
    a = a.substr(2);
    std::string value;
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    if (!find(a)) {
      std::cerr << "loadgen: unknown option --" << a << " (see --help)\n";
      exit_code = 2;
      return false;
    }
    if (eq == std::string::npos && find(a)->arg) {
      if (i + 1 >= argc) {
        std::cerr << "loadgen: --" << a << " needs a value\n";
        exit_code = 2;
        return false;
      }
      value = argv[++i];
    }
    given.emplace_back(a, value);
  }
  // Files first, so the command line overrides them whatever the order.
  for (auto& [k, v] : given)
    if (k == "config")
      if (auto e = load_file(o, v); !e.empty()) {
        std::cerr << "loadgen: " << e << "\n";
        exit_code = 2;
        return false;
      }
  for (auto& [k, v] : given) {
    if (k == "config")
      continue;
    if (auto e = apply(o, k, v, "command line"); !e.empty()) {
      std::cerr << "loadgen: " << e << " (see --help)\n";
      exit_code = 2;
      return false;
    }
  }
  if (auto e = validate(o); !e.empty()) {
    std::cerr << "loadgen: " << e << "\n";
    exit_code = 2;
    return false;
  }
  out = std::move(o);
  return true;
}

void to_json(nlohmann::json& j, const options& o) {
  j = nlohmann::json{
    {"url", o.url}, {"sessions", o.sessions}, {"threads", o.threads},
    {"mode", o.mode == pace::max ? "max" : "realtime"}, {"window", o.window}, {"warmup", o.warmup},
    {"warmup_window", o.warmup_window}, {"warmup_payload", o.warmup_payload}, {"settle_s", o.settle_s}, {"items", o.items}, {"duration_s", o.duration_s},
    {"ramp_up_s", o.ramp_up_s}, {"arrival_rate", o.arrival_rate}, {"end", o.end}, {"audio_size", o.audio_size}, {"frame_size", o.frame_size},
    {"size_jitter", o.size_jitter}, {"audio_interval_s", o.audio_interval_s},
    {"frame_interval_s", o.frame_interval_s}, {"meta_after_ratio", o.meta_after_ratio}, {"seed", o.seed},
    {"run_id", o.run_id}, {"user_id", o.user_id}, {"connect_timeout_s", o.connect_timeout_s},
    {"init_timeout_s", o.init_timeout_s}, {"drain_timeout_s", o.drain_timeout_s}, {"time_limit_s", o.time_limit_s},
    {"reconnect_max", o.reconnect_max}, {"write_buffer", o.write_buffer},
    {"position_bucket", o.position_bucket}, {"label", o.label}, {"speech_dir", o.speech_dir},
    {"transcript_wait_s", o.transcript_wait_s}};
}

} // namespace loadgen
