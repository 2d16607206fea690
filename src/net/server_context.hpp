#pragma once
// Everything the network layer shares between connections: the actor system, the services every
// session needs, and the limits. Built once in main and passed by reference.
#include "actors/admission.hpp"
#include "actors/session.hpp"
#include "net/auth.hpp"
#include "net/codec.hpp"
#include "net/connection_registry.hpp"
#include "net/flow_budget.hpp"
#include "net/payload_pool.hpp"
#include "net/http_router.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <caf/actor_system.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mediaspool::net {

struct net_limits {
  size_t read_message_max = 8u << 20;
  size_t http_body_limit = 64u << 10;
  std::chrono::milliseconds handshake_timeout{30000};
  std::chrono::milliseconds init_timeout{10000};
  /// A WebSocket with nothing received for half of this is pinged; with nothing for all of it, closed.
  std::chrono::milliseconds idle_timeout{60000};
  uint64_t connection_credit = 4u << 20;
  std::chrono::milliseconds orphan_timeout{30000}; ///< as the sessions' (unpaired_halves)
  uint64_t max_connections = 20000;
  double max_messages_per_second = 5000; ///< per connection; 0: unlimited
  double message_burst = 5000;
};

struct server_context {
  server_context(caf::actor_system& system, std::shared_ptr<const session_services> svc, codec_limits codec_cfg,
                 net_limits limits_cfg, std::shared_ptr<flow_budget> budget_ptr)
    : sys(system), services(std::move(svc)), codec(codec_cfg), limits(limits_cfg), budget(std::move(budget_ptr)) {}

  caf::actor_system& sys;
  std::shared_ptr<const session_services> services;
  codec_limits codec;
  net_limits limits;
  std::shared_ptr<flow_budget> budget;
  std::shared_ptr<io_gate> gate = std::make_shared<io_gate>();
  /// Idle payload buffers kept for reuse (at most 64 MiB).
  std::shared_ptr<payload_pool> pool = std::make_shared<payload_pool>(64u << 20);
  std::atomic<uint64_t> connections{0};
  connection_registry live; ///< WebSocket connections, for an orderly shutdown
  std::string ws_path = "/ws/media-stream";
  /// The executor a new WebSocket connection runs on: the media loop, not the HTTP loop that
  /// accepted it (set by main; a strand when several threads run the media loop).
  std::function<boost::asio::any_io_executor()> ws_executor;
  std::shared_ptr<const http_router> router; ///< set by main (make_router)
  std::shared_ptr<server_metrics> metrics;   ///< set by main before make_router; null: no /metrics
  health_probe_actor health;                 ///< set by main before make_router (GET /readyz)
  std::vector<query_actor> queries;          ///< set by main (supervisor::queries), before make_router
  std::atomic<uint64_t> next_query{0};        ///< round robin over `queries`
  std::vector<recording_actor> recordings;    ///< set by main (supervisor::recording_builders)
  std::string web_root = "web";               ///< static pages (GET /, /review/); set by main
  bool fault_injection = false;               ///< debug.fault-injection: PUT /api/debug/faults allowed
  auth_config auth;                           ///< set by main (PROTOCOL.md section 6)
  /// Whether the node takes new sessions (limits.admission-lag, -ack-wait); set by main, null: always.
  std::shared_ptr<const admission> admission_gate;
};

} // namespace mediaspool::net
