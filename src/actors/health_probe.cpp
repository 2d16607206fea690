#include "actors/health_probe.hpp"

#include "actors/log.hpp"
#include "actors/thread_name.hpp"

#include <fmt/format.h>

#include <sys/statvfs.h>

namespace mediaspool {

std::optional<uint64_t> free_bytes(const std::string& path) {
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) != 0)
    return std::nullopt;
  return static_cast<uint64_t>(vfs.f_bavail) * static_cast<uint64_t>(vfs.f_frsize);
}

readiness check_readiness(health_probe_state& st) {
  readiness r;
  auto s = st.pg->ping();
  r.db = s.ok();
  if (!r.db)
    r.problems.push_back("db: PostgreSQL unreachable: " + s.message);
  r.spool = st.cfg.spool != nullptr && st.cfg.spool->is_open();
  if (!r.spool)
    r.problems.push_back(st.cfg.spool ? "spool: closed after a write error, reopening" : "spool: not open");
  r.disk = true;
  if (st.cfg.writes) {
    for (auto& p : st.cfg.writes->problems()) {
      r.disk = false;
      r.problems.push_back(p);
    }
    // Checked before statvfs, which may itself hang on such a disk (the route then answers 503
    // when the probe does not).
    auto running = st.cfg.writes->running_for(storage_health::spool, std::chrono::steady_clock::now());
    if (st.cfg.write_stall.count() > 0 && running >= st.cfg.write_stall) {
      r.disk = false;
      r.problems.push_back(fmt::format("spool: a write has been running for {:.1f} s (server.ready-write-stall {:.1f} s): "
                                       "the disk is slow or hung; acked items wait in the spool",
                                       std::chrono::duration<double>(running).count(),
                                       std::chrono::duration<double>(st.cfg.write_stall).count()));
    }
  }
  for (auto* path : {&st.cfg.spool_path, &st.cfg.media_root}) {
    auto free = free_bytes(*path);
    if (!free) {
      r.disk = false;
      r.problems.push_back("disk: cannot statvfs " + *path);
    } else if (*free < st.cfg.min_free_bytes) {
      r.disk = false;
      r.problems.push_back("disk: " + std::to_string(*free) + " bytes free under " + *path + ", below "
                           + std::to_string(st.cfg.min_free_bytes));
    }
  }
  return r;
}

health_probe_actor::behavior_type health_probe(health_probe_pointer self, health_config cfg) {
  name_this_thread("ms.health");
  self->state.cfg = std::move(cfg);
  self->state.pg = std::make_unique<storage::pg_store>(self->state.cfg.db_url);
  return {
    [=](atom::probe) -> readiness {
      auto r = check_readiness(self->state);
      if (!r.problems.empty())
        log::db().debug("health_probe#{}: not ready: {}", self->id(), r.problems.front());
      return r;
    },
  };
}

} // namespace mediaspool
