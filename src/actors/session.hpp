#pragma once
// One session actor per WebSocket connection. It owns the session's pairing state, sends
// complete pairs to the spool writer and acks them when they are durable. Its input is what the
// codec parsed; its output goes through an outbox. Credit needs no bookkeeping here: a payload
// buffer returns its bytes to the connection when its last holder drops it (ws_connection).
#include "actors/outbox.hpp"
#include "actors/pairing.hpp"
#include "actors/protocol.hpp"
#include "actors/server_metrics.hpp"
#include "actors/storage_health.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

namespace mediaspool {

/// What every session needs, shared read-only by all of them.
struct session_services {
  spool_writer_actor spool;
  std::vector<session_loader_actor> loaders;
  caf::actor registry;
  pairing_config pairing;
  /// Orphans are checked when the oldest waiting half is due, but at most this often.
  std::chrono::milliseconds expire_interval{1000};
  std::chrono::milliseconds init_timeout{30000};
  std::chrono::milliseconds end_timeout{60000};
  std::shared_ptr<server_metrics> metrics; ///< null: not measured (unit tests)
  std::shared_ptr<const storage_health> health; ///< null: never refuse for a full disk (unit tests)
};

struct session_state {
  static inline const char* name = "session";

  enum class phase { fresh, loading, ready, leaving };

  using input = std::variant<item_metadata, blob, response_item, session_end>;

  struct in_flight {
    uint64_t size = 0; ///< payload bytes: the ack's file_size
    caf::actor_clock::time_point since{}; ///< when the pair completed (ack latency)
    /// Copies of it at the spool writer, each answered once (durable or failed): a response may
    /// be sent again before its first copy is durable (the newest wins; each copy is acked).
    uint32_t copies = 1;
  };

  caf::event_based_actor* self = nullptr;
  outbox_ptr out;
  std::shared_ptr<const session_services> svc;

  phase ph = phase::fresh;
  std::string sid;
  std::optional<pairing> pairs;
  std::deque<input> stash;                       ///< input that arrived while loading
  /// Sent to the spool, not durable yet; keyed by (kind, index) alone, since the session id is the
  /// same for all of them (comparing it first was ~3 % of a CAF worker at small items).
  using item_ref = std::pair<char, uint32_t>;
  std::map<item_ref, in_flight> spooled;
  bool expire_armed = false;
  bool end_requested = false;
  bool draining = false; ///< server shutdown: close with 1001 once nothing is in flight
  uint32_t checking = 0; ///< resends being compared with their stored copies
  uint64_t acked = 0;
  caf::actor_clock::time_point started{};
  caf::actor_clock::time_point init_since{}; ///< when session_init arrived (init latency)

  explicit session_state(caf::event_based_actor* selfptr) : self(selfptr) {}

  void on_init(const session_init& init);
  void on_loaded(init_result& res);
  void dispatch(input&& in);
  void on_metadata(item_metadata&& m);
  void on_blob(blob&& b);
  void on_response(response_item&& r);
  void on_end();
  void on_durable(const storage::item_key& key);
  void on_spool_failed(const storage::item_key& key, ec code);
  void on_expire();
  void on_codec_error(const error_reply& err);
  void on_drain();
  void leave(uint16_t code, const std::string& reason);

  void apply(pairing::outcome&& o);
  void compare_with_stored(const pairing::stored& resend);
  session_loader_actor loader_of_session() const;
  void fail(ec code, std::string message, std::optional<std::pair<item_kind, uint32_t>> ref = {});
  bool owns(const std::string& session_id);
  void maybe_finish();
  void arm_expiry();
  pairing::clock::time_point metadata_now() const;
  init_ack make_init_ack(bool resumed) const;
  session_debug debug_view() const;
};

caf::behavior session(caf::stateful_actor<session_state>* self, outbox_ptr out,
                      std::shared_ptr<const session_services> svc);

} // namespace mediaspool
