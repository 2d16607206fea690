// Composition root: parse config, open the stores, spawn the actors, recover the spool, serve.
#include "actors/ack_wait_meter.hpp"
#include "actors/health_probe.hpp"
#include "actors/log.hpp"
#include "actors/supervisor.hpp"
#include "actors/temp_sweeper.hpp"
#include "actors/thread_name.hpp"
#include "config.hpp"
#include "faults/faults.hpp"
#include "net/api.hpp"
#include "net/listener.hpp"
#include "net/admission_probe.hpp"
#include "storage/same_filesystem.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sys/resource.h>
#include <unistd.h>
#include <sstream>
#include <thread>

using namespace mediaspool;

namespace {

// The actor system waits for every actor to finish the call it is in, and one may never return
// (PostgreSQL locked or hung, a disk that stopped answering): a node told to stop must still go.
// Nothing is lost by not waiting: every acked item is in the spool and replays at the next start.
void exit_unless_done_within(std::chrono::seconds bound) {
  std::thread([bound] {
    std::this_thread::sleep_for(bound);
    spdlog::warn("mediaspool: a call was still running {} s after stop (a hung PostgreSQL or disk?); exiting "
                 "without it: what it was writing replays at the next start",
                 bound.count());
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }).detach();
}

int die(const std::string& what) {
  spdlog::critical("mediaspool: {}", what);
  return 1;
}

// PostgreSQL may still be starting (a fresh cluster, a restart): retry the migration a while.
storage::status migrate_with_retry(const std::string& url) {
  storage::pg_store pg{url};
  storage::status st;
  for (int attempt = 0; attempt < 30; ++attempt) {
    st = pg.migrate();
    if (st.ok() || st.code != storage::errc::db_unavailable)
      return st;
    // Said once, so an operator whose server seems to hang at start sees why.
    if (attempt == 0) {
      std::string why = st.message; // libpq's text spans lines
      std::replace_if(why.begin(), why.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
      while (!why.empty() && why.back() == ' ')
        why.pop_back();
      spdlog::warn("mediaspool: PostgreSQL is not reachable yet ({}); retrying for 30 s", why);
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return st;
}

// <hostname>:<port>: stable across restarts of the same node.
std::string default_node_id(uint16_t port) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0)
    std::snprintf(host, sizeof host, "node");
  return std::string(host) + ":" + std::to_string(port);
}

// auth.mode none lets anyone record and review: only on a loopback address.
std::string make_auth(const config& cfg, net::auth_config& out) {
  if (cfg.auth_mode == "none") {
    boost::system::error_code ec;
    auto a = net::asio::ip::make_address(cfg.host, ec);
    if (ec || !a.is_loopback())
      return "auth.mode=none is only allowed on a loopback address (server.host=" + cfg.host
             + "); set auth.mode=jwt and auth.secret (or MEDIASPOOL_JWT_SECRET)";
    out.mode = net::auth_mode::none;
  } else if (cfg.auth_mode == "jwt") {
    if (cfg.auth_secret.size() < 32)
      return "auth.mode=jwt needs auth.secret (or MEDIASPOOL_JWT_SECRET) of at least 32 bytes";
    out.mode = net::auth_mode::jwt;
    out.secret = cfg.auth_secret;
  } else {
    return "auth.mode must be none or jwt, not " + cfg.auth_mode;
  }
  std::stringstream list{cfg.auth_allowed_origins};
  for (std::string o; std::getline(list, o, ',');) {
    o.erase(0, o.find_first_not_of(" \t"));
    o.erase(o.find_last_not_of(" \t") + 1);
    if (!o.empty())
      out.allowed_origins.push_back(o);
  }
  return {};
}

// CAF reads "--limits.admission-lag=0" as a duration cut short and says only "parser_error
// (unexpected_eof)": a number without a unit that ends too early can only have been meant as a
// duration (a number where a number belongs parses), so say what it lacks.
std::string explain_config_error(const caf::error& err) {
  auto text = caf::to_string(err);
  static const std::regex bare_number{R"(\"argument\" = \"--[a-z0-9.-]+=[0-9]+\")"};
  if (text.find("parser_error(unexpected_eof") != std::string::npos && std::regex_search(text, bare_number))
    text += "; a duration takes a unit: 0s, 500ms, 2s, 1min";
  return text;
}

// Each connection is a descriptor: the soft limit (often 1024) would refuse connections long
// before limits.max-connections, so take what the hard limit allows.
void raise_descriptor_limit(size_t wanted) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
    return;
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < wanted + 64)
    spdlog::warn("mediaspool: descriptor limit {} is below limits.max-connections={}", rl.rlim_cur, wanted);
}

} // namespace

int main(int argc, char** argv) {
  // --dump-config is ours (CAF's would leave out every mediaspool key and the environment).
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool dump = std::find(args.begin(), args.end(), "--dump-config") != args.end();
  args.erase(std::remove(args.begin(), args.end(), "--dump-config"), args.end());
  config cfg;
  cfg.extract_flag_values(args);
  if (auto err = cfg.parse(args))
    return die("bad configuration: " + explain_config_error(err));
  if (cfg.cli_helptext_printed)
    return 0;
  if (auto problem = cfg.apply_environment(args); !problem.empty())
    return die("bad environment: " + problem);
  if (auto problem = cfg.apply_flag_values(); !problem.empty())
    return die("bad command line: " + problem);
  if (dump) {
    std::fputs(cfg.dump().c_str(), stdout);
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  if (!log::configure({cfg.log_base_level.empty() ? cfg.log_level : cfg.log_base_level, cfg.log_format,
                       {{"session", cfg.log_session}, {"spool", cfg.log_spool}, {"files", cfg.log_files},
                        {"db", cfg.log_db}, {"net", cfg.log_net}, {"asr", cfg.log_asr}}}))
    return die("bad [log] settings: a level is not trace/debug/info/warn/error/critical/off or the format not text/json");
  if (cfg.db_url.empty())
    return die("no database: set db.url or MEDIASPOOL_DB_URL (scripts/run.sh starts a private cluster)");
  net::auth_config auth;
  if (auto problem = make_auth(cfg, auth); !problem.empty())
    return die(problem);

  if (!cfg.fault_injection && (!cfg.io_faults.empty() || !cfg.crash_at.empty()))
    return die("debug.io-faults and debug.crash-at need debug.fault-injection=true");
  if (cfg.fault_injection) {
    std::string error;
    auto io = faults::parse_io_faults(cfg.io_faults, error);
    if (!io)
      return die("bad debug.io-faults: " + error);
    faults::arm_io_faults(std::move(*io));
    if (!cfg.crash_at.empty()) {
      auto point = faults::parse_crash_point(cfg.crash_at, error);
      if (!point)
        return die("bad debug.crash-at: " + error);
      faults::arm_crash_point(point);
    }
    spdlog::warn("mediaspool: fault injection is ON ({})", faults::describe());
  }

  raise_descriptor_limit(cfg.max_connections);
  storage::status st;
  storage::spool_options spool_opts;
  spool_opts.path = cfg.spool_path;
  spool_opts.write_buffer_bytes = cfg.spool_write_buffer;
  spool_opts.max_payload_bytes = cfg.spool_max_bytes;
  // Before the spool's open (tens of ms at least), so a file this process writes later is newer
  // even by the filesystem's coarse clock; the temp files of a crashed run are older.
  const auto started = std::filesystem::file_time_type::clock::now();
  const auto opening = std::chrono::steady_clock::now();
  auto spool = std::shared_ptr<storage::spool>(storage::spool::open(spool_opts, st));
  const auto open_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - opening);
  if (!spool)
    return die("cannot open the spool at " + cfg.spool_path + ": " + st.message);
  auto media = std::make_shared<const storage::media_store>(cfg.media_root);
  if (storage::same_filesystem(cfg.spool_path, cfg.media_root).value_or(false))
    spdlog::warn("mediaspool: the spool ({}) and the media root ({}) are on one filesystem: acks wait for the "
                 "spool's syncs, measured far slower and less even with the media files beside them; for "
                 "steady ack latency put them on different filesystems (README, \"Deployment\")",
                 cfg.spool_path, cfg.media_root);
  auto spooled_sessions = spool->session_ids();
  if (st = migrate_with_retry(cfg.db_url); !st.ok())
    return die("cannot prepare the PostgreSQL schema: " + st.message);
  spdlog::info("mediaspool: spool {} ({} records of {} sessions, opened in {} ms), media {}", cfg.spool_path,
               spool->record_count(), spooled_sessions.size(), open_ms.count(), cfg.media_root);

  caf::actor_system sys{cfg};
  auto meters = std::make_shared<server_metrics>(std::make_shared<metrics::registry>());
  auto writes = std::make_shared<storage_health>(meters->storage_write_failures);
  auto us = [](caf::timespan t) { return std::chrono::duration_cast<std::chrono::microseconds>(t); };
  auto gate = std::make_shared<admission>(admission_limits{us(cfg.admission_lag), us(cfg.admission_ack_wait)},
                                          admission_meters{&meters->io_loop_lag_us, &meters->ack_wait_us,
                                                           &meters->sessions_refused});
  auto media_root = std::filesystem::absolute(cfg.media_root).string();
  auto node_id = cfg.node_id.empty() ? default_node_id(cfg.port) : cfg.node_id;
  auto ms = [](caf::timespan t) { return std::chrono::duration_cast<std::chrono::milliseconds>(t); };
  supervisor sup{sys,
                 supervisor_config{cfg.db_url, media_root, node_id, cfg.file_writers, cfg.db_loaders,
                                   db_batcher_config{cfg.db_url, media_root, cfg.db_max_batch,
                                                     refresh_config{cfg.db_refresh_fraction, ms(cfg.db_refresh_min_interval),
                                                                    ms(cfg.db_idle_refresh), cfg.db_refresh_jitter},
                                                     std::chrono::milliseconds(1000), &meters->db_rows_set_aside},
                                   pairing_config{ms(cfg.orphan_timeout), cfg.max_unpaired_bytes, cfg.max_unpaired_metadata},
                                   supervisor_config{}.queries, supervisor_config{}.recording_builders, meters, writes, gate,
                                   cfg.media_queue_memory},
                 spool, media};
  if (cfg.asr_enabled)
    sup.start_transcription(cfg.asr_worker_count(std::thread::hardware_concurrency()),
                            transcriber_config{asr::engine_config{cfg.asr_engine, cfg.asr_model_dir, cfg.asr_pocketsphinx_options,
                                                                 cfg.asr_command, "/tmp", ms(cfg.asr_command_timeout)},
                                               cfg.asr_nice},
                            asr_dispatcher_config{cfg.db_url, media_root, cfg.asr_batch, ms(cfg.asr_poll_interval),
                                                  ms(cfg.asr_give_up), meters, node_id, ms(cfg.asr_claim_lease)});

  // Two loops: the media loop (server.io-threads threads) carries the WebSockets; the HTTP loop
  // (one thread) accepts, reads every request and serves the HTTP routes, so /healthz, /readyz,
  // /metrics, reviews and new connections' handshakes stay prompt when recording load makes the
  // media loop run late (at 10,000 sessions past capacity it ran seconds late).
  auto ioc_owner = std::make_unique<net::asio::io_context>(static_cast<int>(cfg.io_threads));
  auto& ioc = *ioc_owner;
  auto http_ioc_owner = std::make_unique<net::asio::io_context>(1);
  auto& http_ioc = *http_ioc_owner;
  net::server_context ctx{sys, sup.services(), net::codec_limits{cfg.max_audio_bytes, cfg.max_frame_bytes, cfg.max_text_bytes},
                          net::net_limits{cfg.read_message_max, 64u << 10,
                                          ms(cfg.handshake_timeout), ms(cfg.init_timeout), ms(cfg.idle_timeout),
                                          cfg.connection_credit, ms(cfg.orphan_timeout), cfg.max_connections,
                                          cfg.max_messages_per_second, cfg.max_messages_per_second},
                          std::make_shared<net::flow_budget>(cfg.global_inflight)};
  ctx.queries = sup.queries();
  ctx.recordings = sup.recording_builders();
  ctx.web_root = std::filesystem::absolute(cfg.web_root).string();
  ctx.auth = auth;
  ctx.metrics = meters;
  ctx.fault_injection = cfg.fault_injection;
  ctx.admission_gate = gate;
  ctx.health = sys.spawn<caf::detached>(health_probe, health_config{cfg.db_url, spool, cfg.spool_path, media_root,
                                                                    cfg.min_free_bytes, writes, cfg.ready_write_stall});
  // With one thread the media loop's own executor keeps a connection's handlers in order as a
  // strand would, without the strand's lock, queue and shared count copied with every operation.
  ctx.ws_executor = [&ioc, threads = cfg.io_threads]() -> net::asio::any_io_executor {
    if (threads <= 1)
      return ioc.get_executor();
    return net::asio::make_strand(ioc);
  };
  ctx.router = net::make_router(ctx);
  std::shared_ptr<net::listener> lst;
  try {
    lst = std::make_shared<net::listener>(http_ioc, net::tcp::endpoint{net::asio::ip::make_address(cfg.host), cfg.port},
                                           ctx);
  } catch (const std::exception& e) {
    return die("cannot listen on " + cfg.host + ":" + std::to_string(cfg.port) + ": " + e.what());
  }
  lst->run();
  auto admission_probe = std::make_shared<net::admission_probe>(
    ioc, gate, [meter = std::make_shared<ack_wait_meter>(meters->ack_latency, writes)](auto now) { return meter->sample(now); });
  admission_probe->start();
  auto bound = lst->local_endpoint().port();
  spdlog::info("mediaspool: listening on {}:{} (ws path {})", cfg.host, bound, ctx.ws_path);
  auto sweep_stop = std::make_shared<std::atomic<bool>>(false);
  spawn_temp_sweeper(sys, media, std::move(spooled_sessions), started, sweep_stop);
  if (!cfg.port_file.empty()) {
    // Written under a temp name and renamed, so a reader never sees a partial number.
    std::ofstream(cfg.port_file + ".tmp") << bound << "\n";
    std::filesystem::rename(cfg.port_file + ".tmp", cfg.port_file);
  }
  // After the port is announced: re-driving the spool writes files and rows, and a crash drill
  // (debug.crash-at) that fires there must find a node that already said it listens. Sessions
  // that connect first are served as during any recovery, which runs in pages anyway.
  sup.start_recovery();

  // On the HTTP loop: a media loop running late (or stalled) must not delay a stop.
  auto signals = std::make_unique<net::asio::signal_set>(http_ioc, SIGINT, SIGTERM);
  // Shutdown: stop accepting, let every connection finish (its sessions close with 1001 after
  // their last acks), then stop Asio; a connection that does not finish within the bound is
  // cut (its unacked items were never promised). A second signal stops at once.
  auto drain_timer = std::make_unique<net::asio::steady_timer>(http_ioc);
  auto drain_deadline = std::chrono::steady_clock::now();
  std::function<void()> poll_drained = [&] {
    if (ctx.connections.load() == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
      spdlog::info("mediaspool: {} connections left at stop", ctx.connections.load());
      http_ioc.stop();
      ioc.stop();
      return;
    }
    drain_timer->expires_after(std::chrono::milliseconds(20));
    drain_timer->async_wait([&](auto err) {
      if (!err)
        poll_drained();
    });
  };
  signals->async_wait([&](auto, int sig) {
    spdlog::info("mediaspool: signal {}: stopping (draining {} connections)", sig, ctx.connections.load());
    lst->stop();
    ctx.live.shutdown_all();
    drain_deadline = std::chrono::steady_clock::now() + ms(cfg.shutdown_drain);
    poll_drained();
    signals->async_wait([&](auto, int) {
      http_ioc.stop();
      ioc.stop();
    });
  });
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    name_this_thread("ms.http");
    http_ioc.run();
  });
  for (size_t i = 1; i < cfg.io_threads; ++i)
    threads.emplace_back([&] {
      name_this_thread("ms.net");
      ioc.run();
    });
  ioc.run();
  for (auto& t : threads)
    t.join();
  // Destroying the io_context destroys the connections; their sessions then finish their
  // in-flight spool writes and quit. Acked items are durable in the spool; whatever is not yet a
  // file and a row when the drain bound passes replays at the next start.
  // Everything bound to the io_context goes before it.
  drain_timer.reset();
  signals.reset();
  admission_probe->stop();
  admission_probe.reset();
  lst.reset();
  ctx.gate->close();
  ctx.budget->clear_line(); // its turns hold executors of the io_context
  http_ioc_owner.reset(); // its HTTP sessions, before the media loop their upgrades were posted to
  ioc_owner.reset();
  sweep_stop->store(true);
  auto left = sup.shutdown(std::chrono::seconds(10));
  caf::anon_send_exit(ctx.health, caf::exit_reason::user_shutdown);
  if (left)
    spdlog::info("mediaspool: stopped ({} items left to replay)", *left);
  else
    spdlog::info("mediaspool: stopped (the spool writer did not answer: its records replay at the next start)");
  exit_unless_done_within(std::chrono::seconds(5));
  return 0;
}
