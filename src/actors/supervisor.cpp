#include "actors/supervisor.hpp"

#include "actors/file_writer.hpp"
#include "actors/log.hpp"
#include "actors/query_actor.hpp"
#include "actors/recording_builder.hpp"
#include "actors/registry.hpp"
#include "actors/session_loader.hpp"
#include "actors/spool_writer.hpp"

#include <caf/scoped_actor.hpp>

#include <algorithm>

namespace mediaspool {

supervisor::supervisor(caf::actor_system& sys, supervisor_config cfg, std::shared_ptr<storage::spool> spool,
                       std::shared_ptr<const storage::media_store> media)
  : sys_(sys) {
  batcher_ = sys.spawn<caf::detached>(db_batcher, cfg.batcher);
  for (size_t i = 0; i < std::max<size_t>(1, cfg.file_writers); ++i)
    writers_.push_back(sys.spawn<caf::detached>(file_writer, media, cfg.health,
                                                std::shared_ptr<const storage::spool>{spool}));
  spooler_ = sys.spawn<caf::detached>(spool_writer, spool, writers_, batcher_, cfg.metrics, cfg.health,
                                          cfg.file_memory);
  services_ = std::make_shared<session_services>();
  services_->spool = spooler_;
  for (size_t i = 0; i < std::max<size_t>(1, cfg.loaders); ++i)
    services_->loaders.push_back(
      sys.spawn<caf::detached>(session_loader, spool, cfg.db_url, cfg.media_root, cfg.node_id, cfg.gate));
  services_->registry = sys.spawn(registry);
  services_->pairing = cfg.pairing;
  services_->metrics = cfg.metrics;
  services_->health = cfg.health;
  for (size_t i = 0; i < std::max<size_t>(1, cfg.queries); ++i)
    queries_.push_back(sys.spawn<caf::detached>(query, cfg.db_url, media));
  for (size_t i = 0; i < std::max<size_t>(1, cfg.recording_builders); ++i)
    recorders_.push_back(sys.spawn<caf::detached>(recording_builder, cfg.db_url, media));
}

void supervisor::start_recovery() {
  caf::anon_send(spooler_, atom::recover::value);
}

void supervisor::start_transcription(size_t workers, const transcriber_config& worker,
                                     const asr_dispatcher_config& dispatcher) {
  for (size_t i = 0; i < std::max<size_t>(1, workers); ++i)
    transcribers_.push_back(sys_.spawn<caf::detached>(transcriber, worker));
  asr_dispatcher_ = sys_.spawn<caf::detached>(asr_dispatcher, dispatcher, transcribers_, batcher_, services_->registry);
  log::asr().info("asr: {} {} worker(s), polling the work list every {} ms", transcribers_.size(), worker.engine.kind,
                  dispatcher.poll.count());
}

asr_stats supervisor::transcription_stats(std::chrono::milliseconds timeout) {
  asr_stats out;
  if (!asr_dispatcher_)
    return out;
  caf::scoped_actor self{sys_};
  self->request(asr_dispatcher_, timeout, atom::stats::value)
    .receive([&](asr_stats s) { out = s; }, [](caf::error&) {});
  return out;
}

std::optional<spool_stats> supervisor::stats(std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys_};
  std::optional<spool_stats> out;
  self->request(spooler_, timeout, atom::stats::value)
    .receive([&](spool_stats s) { out = s; }, [](caf::error&) {});
  return out;
}

std::optional<uint64_t> supervisor::shutdown(std::chrono::milliseconds drain_bound) {
  auto deadline = std::chrono::steady_clock::now() + drain_bound;
  // nullopt: no answer within the poll (a commit on a hung disk), which is not "nothing left".
  std::optional<uint64_t> pending;
  // Bounded poll: each round trip to the spool writer also waits behind its current commit.
  for (;;) {
    auto s = stats(std::chrono::milliseconds(1000));
    pending = s ? std::optional<uint64_t>{s->pending} : std::nullopt;
    if (pending == uint64_t{0} || std::chrono::steady_clock::now() >= deadline)
      break;
    caf::scoped_actor self{sys_};
    self->receive(caf::after(std::chrono::milliseconds(50)) >> [] {});
  }
  if (!pending)
    log::spool().warn("supervisor: the spool writer did not answer within the drain bound; what it holds replays at "
                      "the next start");
  else if (*pending > 0 && services_->metrics)
    log::spool().warn("supervisor: {} durable items are not yet files and rows ({} without a file, {} without a "
                      "row); they replay at the next start",
                      *pending, services_->metrics->file_queue.value(), services_->metrics->batcher_queue.value());
  else if (*pending > 0)
    log::spool().warn("supervisor: {} durable items are not yet files and rows; they replay at the next start",
                      *pending);
  for (auto& l : services_->loaders)
    caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
  if (asr_dispatcher_)
    caf::anon_send_exit(asr_dispatcher_, caf::exit_reason::user_shutdown);
  for (auto& t : transcribers_)
    caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(services_->registry, caf::exit_reason::user_shutdown);
  for (auto& q : queries_)
    caf::anon_send_exit(q, caf::exit_reason::user_shutdown);
  for (auto& r : recorders_)
    caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(spooler_, caf::exit_reason::user_shutdown);
  for (auto& w : writers_)
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(batcher_, caf::exit_reason::user_shutdown);
  return pending;
}

} // namespace mediaspool
