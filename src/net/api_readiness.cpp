// GET /readyz: 200 when PostgreSQL answers, the spool is open and the disks have room; 503 with a
// JSON body naming what is not ready otherwise. The checks block, so a detached health-probe actor
// runs them; a short-lived actor asks it and answers through `respond` (no waiting on Asio).
#include "net/api.hpp"

#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>

namespace mediaspool::net {

namespace {

/// The probe may wait for a PostgreSQL connect; past this the answer is 503.
constexpr std::chrono::seconds probe_timeout{5};

string_response readiness_response(const http_request& req, const readiness& r) {
  nlohmann::json j{{"status", r.problems.empty() ? "ready" : "not ready"},
                   {"db", r.db},
                   {"spool", r.spool},
                   {"disk", r.disk},
                   {"problems", r.problems}};
  return json_response(req, r.problems.empty() ? http::status::ok : http::status::service_unavailable, j.dump());
}

} // namespace

void register_readiness_routes(http_router& router, server_context& ctx) {
  router.add(http::verb::get, "/readyz", [&ctx](const http_request& req, const route_params&, responder respond) {
    auto probe = ctx.health;
    if (!probe)
      return respond(readiness_response(req, readiness{false, false, false, {"probe: no health probe running"}}));
    auto r = std::make_shared<const http_request>(req);
    ctx.sys.spawn([probe, r, respond](caf::event_based_actor* self) {
      self->request(probe, probe_timeout, atom::probe::value)
        .then([=](readiness& rd) { respond(readiness_response(*r, rd)); },
              [=](caf::error& err) {
                respond(readiness_response(*r, readiness{false, false, false,
                                                         {"probe: no answer (" + caf::to_string(err) + ")"}}));
              });
    });
  });
}

} // namespace mediaspool::net
