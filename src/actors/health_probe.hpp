#pragma once
// The readiness probe behind GET /readyz: PostgreSQL answers SELECT 1 (on the probe's own
// connection), the spool is open, no spool write has been running for `write_stall` (a hung disk
// fails nothing and acks nothing, so without this a balancer would keep sending it sessions),
// and the filesystems of the spool and the media root have more than `min_free_bytes` free.
// Blocking (libpq, statvfs): the composition root spawns it detached and sends it an exit at
// shutdown.
#include "actors/protocol.hpp"
#include "actors/storage_health.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mediaspool {

struct health_config {
  std::string db_url;
  std::shared_ptr<storage::spool> spool;
  std::string spool_path;
  std::string media_root;
  uint64_t min_free_bytes = uint64_t{1} << 30;
  std::shared_ptr<const storage_health> writes; ///< what the writers last saw; may be null
  /// A spool write running this long makes the node not ready; zero: never.
  std::chrono::steady_clock::duration write_stall{std::chrono::seconds(10)};
};

struct health_probe_state {
  static inline const char* name = "health_probe";
  health_config cfg;
  std::unique_ptr<storage::pg_store> pg;
};

using health_probe_pointer = health_probe_actor::stateful_pointer<health_probe_state>;

health_probe_actor::behavior_type health_probe(health_probe_pointer self, health_config cfg);

/// Bytes available to unprivileged writers on the filesystem holding `path` (statvfs), or nullopt
/// if it cannot be asked (missing path).
std::optional<uint64_t> free_bytes(const std::string& path);

/// Runs every check once (what the actor answers); blocking.
readiness check_readiness(health_probe_state& st);

} // namespace mediaspool
