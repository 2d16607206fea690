// Introspection for developers and operators (issue 7), admin only under auth.mode=jwt:
//   GET /api/debug/actors       live sessions (phase, halves waiting for their partner, items at
//                               the spool writer, bytes held, acks, age) and the queue depths of
//                               the spool writer, file writers, DB batcher and transcriber;
//   GET /api/debug/log-levels   every component's level;
//   PUT /api/debug/log-levels?component=db&level=debug   change one while the server runs;
//   GET/PUT /api/debug/faults?io=media.sync@1:persistent&crash=mid-batch@3   injected faults;
//                               PUT ...?stall-media-loop=<ms> blocks the WebSockets' loop once
//                               (only with debug.fault-injection=true).
// The session list is gathered by a short-lived actor asking each live session (bounded wait).
#include "actors/log.hpp"
#include "faults/faults.hpp"
#include "net/api.hpp"
#include "net/auth.hpp"

#include <boost/asio/post.hpp>
#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <thread>

namespace mediaspool::net {

namespace {

using json = nlohmann::json;

constexpr std::chrono::seconds debug_timeout{2};

// admin scope under jwt; anyone under none (loopback only).
std::optional<string_response> deny_unless_admin(const auth_config& cfg, const http_request& req, const route_params& p) {
  if (cfg.mode == auth_mode::none)
    return std::nullopt;
  auto claims = bearer_claims(cfg, req, p);
  if (auto* denied = std::get_if<string_response>(&claims))
    return std::move(*denied);
  if (!std::get<jwt_claims>(claims).has_scope("admin"))
    return error_response(req, http::status::forbidden, "forbidden", "the debug API needs the admin scope");
  return std::nullopt;
}

json session_json(const session_debug& d, uint64_t credit) {
  const uint64_t held = d.unpaired_bytes + d.spooling_bytes;
  return {{"session_id", d.sid},          {"phase", d.phase},
          {"actor", d.actor_id},          {"age_s", d.age_s},
          {"unpaired_halves", d.unpaired_halves}, {"unpaired_bytes", d.unpaired_bytes},
          {"spooling_items", d.spooling_items},   {"spooling_bytes", d.spooling_bytes},
          {"acked", d.acked},             {"credit_left_bytes", held >= credit ? 0 : credit - held}};
}

void get_actors(server_context& ctx, const http_request& req, const route_params& p, responder respond) {
  if (auto denied = deny_unless_admin(ctx.auth, req, p))
    return respond(std::move(*denied));
  auto r = std::make_shared<const http_request>(req);
  auto svc = ctx.services;
  auto meters = ctx.metrics;
  const uint64_t credit = ctx.limits.connection_credit;
  const uint64_t connections = ctx.connections.load();
  ctx.sys.spawn([=](caf::event_based_actor* self) {
    auto out = std::make_shared<json>(json{{"connections", connections}, {"sessions", json::array()}});
    auto finish = [=] {
      if (meters) {
        (*out)["queues"]["file_writers"] = meters->file_queue.value();
        (*out)["queues"]["db_batcher"] = meters->batcher_queue.value();
        (*out)["queues"]["transcription_backlog"] = meters->transcription_backlog.value();
      }
      self->request(svc->spool, debug_timeout, atom::stats::value)
        .then(
          [=](spool_stats s) {
            (*out)["queues"]["spool_writer"] = {{"pending", s.pending}, {"records", s.records},
                                                {"commits", s.commits}, {"items", s.items}};
            respond(json_response(*r, http::status::ok, out->dump()));
          },
          [=](caf::error&) { respond(json_response(*r, http::status::ok, out->dump())); });
    };
    self->request(svc->registry, debug_timeout, atom::debug::value)
      .then(
        [=](std::vector<caf::actor>& sessions) {
          auto left = std::make_shared<size_t>(sessions.size());
          if (*left == 0)
            return finish();
          for (auto& s : sessions)
            self->request(s, debug_timeout, atom::debug::value)
              .then(
                [=](session_debug& d) {
                  (*out)["sessions"].push_back(session_json(d, credit));
                  if (--*left == 0)
                    finish();
                },
                [=](caf::error&) { // it ended meanwhile
                  if (--*left == 0)
                    finish();
                });
        },
        [=](caf::error&) {
          respond(error_response(*r, http::status::service_unavailable, "overloaded", "the registry did not answer"));
        });
  });
}

void log_levels(server_context& ctx, const http_request& req, const route_params& p, responder respond) {
  if (auto denied = deny_unless_admin(ctx.auth, req, p))
    return respond(std::move(*denied));
  if (req.method() == http::verb::put) {
    auto c = p.query.find("component");
    auto l = p.query.find("level");
    if (c == p.query.end() || l == p.query.end() || !log::set_level(c->second, l->second))
      return respond(error_response(req, http::status::bad_request, "bad_request",
                                    "component must be all, session, spool, files, db, net or asr and level one of "
                                    "trace, debug, info, warn, error, critical, off"));
    log::net().info("log: level of {} set to {}", c->second, l->second);
  }
  respond(json_response(req, http::status::ok, json(log::levels()).dump()));
}

// Fault injection for drills and tests: PUT ?io=<spec>&crash=<spec> arms (an empty value disarms).
void fault_points(server_context& ctx, const http_request& req, const route_params& p, responder respond) {
  if (auto denied = deny_unless_admin(ctx.auth, req, p))
    return respond(std::move(*denied));
  if (!ctx.fault_injection)
    return respond(error_response(req, http::status::forbidden, "forbidden",
                                  "fault injection is off (debug.fault-injection=false)"));
  if (req.method() == http::verb::put) {
    std::string error;
    long stall_ms = 0; // validated before anything is armed: a bad request arms nothing
    if (auto stall = p.query.find("stall-media-loop"); stall != p.query.end()) {
      size_t used = 0;
      try {
        stall_ms = std::stol(stall->second, &used);
      } catch (const std::exception&) {
      }
      if (used != stall->second.size() || stall_ms < 1 || stall_ms > 30000)
        return respond(error_response(req, http::status::bad_request, "bad_request",
                                      "stall-media-loop takes milliseconds from 1 to 30000"));
    }
    if (auto io = p.query.find("io"); io != p.query.end()) {
      auto parsed = faults::parse_io_faults(io->second, error);
      if (!parsed)
        return respond(error_response(req, http::status::bad_request, "bad_request", error));
      faults::arm_io_faults(std::move(*parsed));
    }
    if (auto crash = p.query.find("crash"); crash != p.query.end()) {
      std::optional<faults::crash_point> point;
      if (!crash->second.empty() && !(point = faults::parse_crash_point(crash->second, error)))
        return respond(error_response(req, http::status::bad_request, "bad_request", error));
      faults::arm_crash_point(point);
    }
    if (stall_ms > 0) {
      // Blocks the media loop (one of its threads) as an overload would, to drill what stays up.
      log::net().warn("faults: the media loop stalls for {} ms", stall_ms);
      boost::asio::post(ctx.ws_executor(),
                        [stall_ms] { std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms)); });
    }
    log::net().warn("faults: armed {}", faults::describe());
  }
  respond(json_response(req, http::status::ok,
                        json{{"armed", faults::describe()}, {"injected", faults::io_failures_injected()}}.dump()));
}

} // namespace

void register_debug_routes(http_router& router, server_context& ctx) {
  router.add(http::verb::get, "/api/debug/actors", [&ctx](const http_request& req, const route_params& p, responder respond) {
    get_actors(ctx, req, p, std::move(respond));
  });
  for (auto verb : {http::verb::get, http::verb::put})
    router.add(verb, "/api/debug/log-levels", [&ctx](const http_request& req, const route_params& p, responder respond) {
      log_levels(ctx, req, p, std::move(respond));
    });
  for (auto verb : {http::verb::get, http::verb::put})
    router.add(verb, "/api/debug/faults", [&ctx](const http_request& req, const route_params& p, responder respond) {
      fault_points(ctx, req, p, std::move(respond));
    });
}

} // namespace mediaspool::net
