// Composition root: parse config, open the stores, spawn the actors, recover the spool, serve.
#include "actors/db_batcher.hpp"
#include "actors/file_writer.hpp"
#include "actors/log.hpp"
#include "actors/registry.hpp"
#include "actors/session_loader.hpp"
#include "actors/spool_writer.hpp"
#include "config.hpp"
#include "net/listener.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace mediaspool;

namespace {

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
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return st;
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (auto err = cfg.parse(argc, argv))
    return die("bad configuration: " + caf::to_string(err));
  if (cfg.cli_helptext_printed)
    return 0;
  cfg.apply_environment();
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  if (cfg.db_url.empty())
    return die("no database: set db.url or MEDIASPOOL_DB_URL (scripts/run.sh starts a private cluster)");

  storage::status st;
  auto spool = std::shared_ptr<storage::spool>(storage::spool::open({cfg.spool_path, cfg.spool_write_buffer}, st));
  if (!spool)
    return die("cannot open the spool at " + cfg.spool_path + ": " + st.message);
  auto media = std::make_shared<const storage::media_store>(cfg.media_root);
  auto swept = media->sweep_temp_files();
  if (st = migrate_with_retry(cfg.db_url); !st.ok())
    return die("cannot prepare the PostgreSQL schema: " + st.message);
  spdlog::info("mediaspool: spool {} ({} records), media {} ({} stray temp files swept)", cfg.spool_path,
               spool->record_count(), cfg.media_root, swept);

  caf::actor_system sys{cfg};
  auto batcher = sys.spawn<caf::detached>(
    db_batcher, db_batcher_config{cfg.db_url, std::filesystem::absolute(cfg.media_root).string(), cfg.db_max_batch,
                                  refresh_config{cfg.db_refresh_fraction,
                                                 std::chrono::duration_cast<std::chrono::milliseconds>(cfg.db_refresh_min_interval),
                                                 std::chrono::duration_cast<std::chrono::milliseconds>(cfg.db_idle_refresh)},
                                  std::chrono::milliseconds(1000)});
  std::vector<file_writer_actor> writers;
  for (size_t i = 0; i < std::max<size_t>(1, cfg.file_writers); ++i)
    writers.push_back(sys.spawn<caf::detached>(file_writer, media));
  auto spooler = sys.spawn<caf::detached>(spool_writer, spool, writers, batcher);
  auto services = std::make_shared<session_services>();
  services->spool = spooler;
  for (size_t i = 0; i < std::max<size_t>(1, cfg.db_loaders); ++i)
    services->loaders.push_back(sys.spawn<caf::detached>(session_loader, spool, cfg.db_url,
                                                         std::filesystem::absolute(cfg.media_root).string()));
  services->registry = sys.spawn(registry);
  services->pairing = pairing_config{std::chrono::duration_cast<std::chrono::milliseconds>(cfg.orphan_timeout),
                                     cfg.max_unpaired_bytes};
  caf::anon_send(spooler, atom::recover::value);

  net::asio::io_context ioc{static_cast<int>(cfg.io_threads)};
  net::server_context ctx{sys, services, net::codec_limits{cfg.max_audio_bytes, cfg.max_frame_bytes, cfg.max_text_bytes},
                          net::net_limits{cfg.read_message_max, 64u << 10,
                                          std::chrono::duration_cast<std::chrono::milliseconds>(cfg.handshake_timeout),
                                          std::chrono::duration_cast<std::chrono::milliseconds>(cfg.init_timeout),
                                          cfg.connection_credit, cfg.max_connections},
                          std::make_shared<net::flow_budget>(cfg.global_inflight)};
  std::shared_ptr<net::listener> lst;
  try {
    lst = std::make_shared<net::listener>(ioc, net::tcp::endpoint{net::asio::ip::make_address(cfg.host), cfg.port}, ctx);
  } catch (const std::exception& e) {
    return die("cannot listen on " + cfg.host + ":" + std::to_string(cfg.port) + ": " + e.what());
  }
  lst->run();
  auto bound = lst->local_endpoint().port();
  spdlog::info("mediaspool: listening on {}:{} (ws path {})", cfg.host, bound, ctx.ws_path);
  if (!cfg.port_file.empty()) {
    // Written under a temp name and renamed, so a reader never sees a partial number.
    std::ofstream(cfg.port_file + ".tmp") << bound << "\n";
    std::filesystem::rename(cfg.port_file + ".tmp", cfg.port_file);
  }

  net::asio::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](auto, int sig) {
    spdlog::info("mediaspool: signal {}: stopping", sig);
    lst->stop();
    ioc.stop();
  });
  std::vector<std::thread> threads;
  for (size_t i = 1; i < cfg.io_threads; ++i)
    threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();
  // Acked items are durable in the spool; what is not yet a file or a row replays at next start.
  for (auto& w : writers)
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  for (auto& l : services->loaders)
    caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(spooler, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(batcher, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(services->registry, caf::exit_reason::user_shutdown);
  return 0;
}
