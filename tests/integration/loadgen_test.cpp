// The load generator (bench/loadgen, issue 3) against the real server and PostgreSQL: what it
// reports acked is stored exactly — every file equal to the payload its recorder model derives
// from the run's seed, one row per item, nothing else — and it resumes its sessions across a
// server SIGKILL without losing or doubling an item. The payloads are recomputed here from the
// very flags the binary was given (parsed by loadgen's own parser), so the benchmark's claim
// "deterministic payloads, stored bytes verifiable" is checked, not assumed.
#include "loadgen/options.hpp"
#include "loadgen/recorder_model.hpp"
#include "support/child_process.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace mediaspool::test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// Parses `flags` with loadgen's own parser, as its main() does; false where it refuses them.
bool parse_loadgen_flags(std::vector<std::string> flags, loadgen::options& o) {
  flags.insert(flags.begin(), "loadgen");
  std::vector<char*> argv;
  for (auto& a : flags)
    argv.push_back(a.data());
  int code = 0;
  return loadgen::parse_options(static_cast<int>(argv.size()), argv.data(), o, code);
}

std::string read_text(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// One run of the loadgen binary in a folder of its own (its log and JSON result).
class loadgen_process {
public:
  explicit loadgen_process(std::vector<std::string> flags) : flags_(std::move(flags)) {
    flags_.insert(flags_.end(), {"--progress", "off", "--json", (dir_ / "result.json").string()});
    std::vector<std::string> args{MEDIASPOOL_LOADGEN_BIN};
    args.insert(args.end(), flags_.begin(), flags_.end());
    pid_ = spawn_child(args, dir_ / "loadgen.log");
  }

  ~loadgen_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap_child(pid_, 5s);
    }
  }

  /// The options the binary runs with, from loadgen's own parser.
  loadgen::options options() const {
    loadgen::options o;
    REQUIRE(parse_loadgen_flags(flags_, o));
    return o;
  }

  /// Waits for exit code `want_exit` (0: success; 3: sessions given up or acks missing) and
  /// returns the JSON result's "result" object.
  json finish(std::chrono::milliseconds timeout, int want_exit = 0) {
    auto status = reap_child(pid_, timeout);
    if (!status) {
      ::kill(pid_, SIGKILL);
      reap_child(pid_, 5s);
    }
    pid_ = -1;
    const auto log = read_text(dir_ / "loadgen.log");
    REQUIRE_MESSAGE(status.has_value(), "loadgen did not finish in " << timeout.count() << " ms:\n" << log);
    REQUIRE_MESSAGE((WIFEXITED(*status) && WEXITSTATUS(*status) == want_exit), "loadgen failed (wait status "
                                                                           << *status << "):\n" << log);
    auto j = json::parse(read_text(dir_ / "result.json"), nullptr, false);
    REQUIRE_MESSAGE((j.is_object() && j.contains("result")), "no JSON result; log:\n" << log);
    return j["result"];
  }

private:
  std::vector<std::string> flags_;
  temp_dir dir_;
  pid_t pid_ = -1;
};

/// A run in which every item was acked exactly as sent and every session ended.
void check_clean(const json& r, uint32_t sessions) {
  for (auto* field : {"missing_acks", "unsent", "refused_items", "size_mismatches", "unexpected_acks",
                      "sessions_failed", "ends_unacked", "bad_server_text"})
    CHECK_MESSAGE(r.at(field).get<uint64_t>() == 0, field << " = " << r.at(field));
  CHECK_MESSAGE(r.at("errors_by_code").empty(), "errors: " << r.at("errors_by_code"));
  CHECK(r.at("sessions_ended").get<uint32_t>() == sessions);
}

/// What the server holds of loadgen session `s`: every row's file is the model's payload, one
/// file per row and nothing else, and the session row's totals and arrays agree with the rows.
/// Returns the stored items (kind, index), in the server's order.
std::vector<item_key> check_stored_session(const server_process& server, const pg_fixture& db,
                                           const loadgen::recorder_model& model, uint32_t s) {
  const auto sid = model.session_uuid(s);
  std::vector<test_item> items;
  std::vector<item_key> keys;
  for (auto row : db.query("SELECT kind, idx, size FROM media_items WHERE session_id = '" + sid
                           + "' ORDER BY kind, idx")) {
    test_item it;
    it.kind = row[0].as<std::string>()[0];
    it.index = row[1].as<uint32_t>();
    it.payload = model.payload(s, it.kind == 'a' ? loadgen::kind::audio : loadgen::kind::frame, it.index);
    CHECK_MESSAGE(row[2].as<size_t>() == it.payload.size(), sid << " " << it.kind << it.index << ": row size "
                                                                 << row[2].as<size_t>());
    keys.emplace_back(it.kind, it.index);
    items.push_back(std::move(it));
  }
  CHECK_NO_FAILURES(check_files(server.media_root(), sid, items));
  size_t audio = 0;
  for (auto& k : keys)
    audio += k.first == 'a';
  auto row = db.query("SELECT status, total_chunks, jsonb_array_length(audio_chunks), total_frames, "
                      "jsonb_array_length(video_frames) FROM media_sessions WHERE session_id = '" + sid + "'");
  REQUIRE_MESSAGE(row.size() == 1, "no session row for " << sid);
  CHECK(row[0][0].as<std::string>() == "completed");
  CHECK(row[0][1].as<size_t>() == audio);
  CHECK(row[0][2].as<size_t>() == audio);
  CHECK(row[0][3].as<size_t>() == keys.size() - audio);
  CHECK(row[0][4].as<size_t>() == keys.size() - audio);
  return keys;
}

// A port to restart the server on, below the kernel's ephemeral range (32768 and up by default):
// one the server got with port 0 could meanwhile be taken by an outgoing connection — loadgen's
// own reconnects to it among them, which can even connect to themselves while nothing listens.
uint16_t free_fixed_port() {
  std::mt19937 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<uint16_t>(20000 + rng() % 12000);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (bound)
      return port;
  }
  FAIL("no free port in 20000-31999");
  return 0;
}

std::string url_of(uint16_t port) { return "ws://127.0.0.1:" + std::to_string(port) + "/ws/media-stream"; }

} // namespace

TEST_SUITE("integration.loadgen") {
  TEST_CASE_FIXTURE(pg_fixture, "loadgen at max pace: every acked item is stored with the bytes its model derives") {
    // One I/O thread serialises each connection with the io_context's own executor, more use a
    // strand per connection (net/listener.cpp): both must store the same.
    std::vector<std::string> args;
    SUBCASE("one I/O thread") {}
    SUBCASE("two I/O threads, a strand per connection") { args = {"--server.io-threads=2"}; }
    server_process server{url, args};
    const uint32_t sessions = 3, per_session = 40;
    // Small, jittered payloads and both orders of metadata and blob: the model decides each
    // item's size, order and bytes, so a mismatch anywhere shows as a wrong file.
    loadgen_process lg{{"--url", url_of(server.port()), "--sessions", std::to_string(sessions), "--threads", "2",
                        "--mode", "max", "--window", "4", "--items", std::to_string(per_session), "--end",
                        "--audio-size", "6000", "--frame-size", "2500", "--size-jitter", "0.3",
                        "--meta-after-ratio", "0.5", "--seed", "11", "--run-id", "4242", "--pool-mb", "1"}};
    const double launched = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto r = lg.finish(60s);
    const double finished = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    check_clean(r, sessions);
    // The report cuts its disk and CPU samples to the measured window by this wall time.
    CHECK(r.at("measure_started_unix").get<double>() >= launched - 1);
    CHECK(r.at("measure_started_unix").get<double>() + r.at("measure_s").get<double>() <= finished);
    CHECK(r.at("measured_acked").get<uint64_t>() == sessions * per_session);
    // The per-second rows hold every measured ack once, and the run's slowest ack in its second.
    uint64_t acks_by_second = 0;
    double slowest_second = 0;
    for (auto& row : r.at("latency_by_second")) {
      acks_by_second += row.at("acks").get<uint64_t>();
      slowest_second = std::max(slowest_second, row.at("max_ms").get<double>());
    }
    CHECK(acks_by_second == sessions * per_session);
    CHECK(slowest_second == doctest::Approx(r.at("latency_ms").at("max").get<double>()));

    const loadgen::recorder_model model{lg.options()};
    for (uint32_t s = 0; s < sessions; ++s) {
      CAPTURE(s);
      // Exactly the session's first `per_session` items, in the recorder's order of making them.
      std::set<item_key> want;
      loadgen::recorder_model::sequence seq{model, s};
      for (uint32_t i = 0; i < per_session; ++i) {
        auto it = seq.next();
        want.emplace(static_cast<char>(it.k), it.index);
      }
      auto got = check_stored_session(server, *this, model, s);
      CHECK(std::set<item_key>(got.begin(), got.end()) == want);
    }
  }

  TEST_CASE_FIXTURE(pg_fixture, "loadgen --settle measures only after the server has written the warm-up's backlog") {
    // Media files take 100 ms each (two writers), spool commits do not: the warm-up is acked
    // long before its files exist, so at the barrier the server still has items pending.
    server_process server{url, {"--debug.fault-injection=true", "--debug.io-faults=media.write:persistent:slow=100"}};
    const uint32_t sessions = 2, warmup = 10, live = 3;
    loadgen_process lg{{"--url", url_of(server.port()), "--sessions", std::to_string(sessions), "--mode", "max",
                        "--warmup", std::to_string(warmup), "--settle", "60", "--items", std::to_string(live),
                        "--end", "--payload-size", "2000", "--pool-mb", "1"}};
    auto r = lg.finish(90s);
    check_clean(r, sessions);
    CHECK(r.at("pending_at_ready").get<double>() >= 1);
    CHECK(r.at("settled").get<bool>());
    CHECK(r.at("settle_s").get<double>() > 0);
    CHECK(r.at("measured_acked").get<uint64_t>() == sessions * live);
    CHECK(scalar<int64_t>("SELECT count(*) FROM media_items") == sessions * (warmup + live));
  }

  TEST_CASE_FIXTURE(pg_fixture, "loadgen counts the upgrades a server refuses with their HTTP status") {
    // Two connections allowed, three sessions: the third's upgrade is answered 503 each time
    // (the other two wait for it at loadgen's start barrier), and it gives up after 3 retries.
    server_process server{url, {"--limits.max-connections=2"}};
    loadgen_process lg{{"--url", url_of(server.port()), "--sessions", "3", "--mode", "max", "--items", "5", "--end",
                        "--payload-size", "2000", "--backoff-min-ms", "50", "--backoff-max-ms", "200",
                        "--reconnect-max", "3", "--pool-mb", "1"}};
    auto r = lg.finish(60s, 3); // a session given up
    CHECK(r.at("sessions_failed").get<uint64_t>() == 1);
    CHECK(r.at("sessions_ended").get<uint64_t>() == 2);
    CHECK(r.at("missing_acks").get<uint64_t>() == 0);
    CHECK(r.at("connect_failures").get<uint64_t>() == 4);
    REQUIRE(r.at("upgrades_refused").contains("503"));
    CHECK(r.at("upgrades_refused").at("503").get<uint64_t>() == 4);
    CHECK_MESSAGE(r.at("upgrades_refused").size() == 1, r.at("upgrades_refused"));
  }

  TEST_CASE_FIXTURE(pg_fixture, "loadgen with open arrivals: sessions come at a rate, wait to be taken, record their time and end") {
    // Four sessions, one every 0.25 s, each recording 1 s of frames (one per 0.2 s); the server
    // holds two connections, so the later two are refused (503) until an earlier one has ended.
    server_process server{url, {"--limits.max-connections=2"}};
    loadgen_process lg{{"--url", url_of(server.port()), "--sessions", "4", "--arrival-rate", "4", "--duration", "1",
                        "--audio-interval", "0", "--frame-interval", "0.2", "--payload-size", "2000",
                        "--backoff-min-ms", "50", "--backoff-max-ms", "200", "--reconnect-max", "100", "--pool-mb", "1"}};
    auto r = lg.finish(60s);
    check_clean(r, 4); // --end is implied: every session ended
    CHECK(r.at("sessions_admitted").get<uint64_t>() == 4);
    CHECK(r.at("admit_latency_ms").at("count").get<uint64_t>() == 4);
    REQUIRE(r.at("upgrades_refused").contains("503"));
    // A refused session waited for a slot: at least until the first session's second of recording.
    CHECK(r.at("admit_latency_ms").at("max").get<double>() >= 500);
    // Each recorded its own second, however long it waited: 5 or 6 frames each, all stored.
    const auto acked = r.at("measured_acked").get<uint64_t>();
    CHECK(acked >= 4 * 5);
    CHECK(acked <= 4 * 6);
    CHECK(scalar<int64_t>("SELECT count(*) FROM media_items") == static_cast<int64_t>(acked));
    CHECK(scalar<int64_t>("SELECT count(*) FROM media_sessions WHERE status = 'completed'") == 4);
  }

  TEST_CASE_FIXTURE(pg_fixture, "loadgen --time-limit ends open arrivals that the node cannot take: the rest are not taken, nothing is lost") {
    // One connection allowed; six sessions arrive in the first second, each asking to record
    // 60 s. Without a limit the run would last until the last one had been taken and recorded
    // (minutes); at 2 s the recording one stops and ends, the refused ones leave untaken.
    server_process server{url, {"--limits.max-connections=1"}};
    loadgen_process lg{{"--url", url_of(server.port()), "--sessions", "6", "--arrival-rate", "6", "--duration", "60",
                        "--time-limit", "2", "--audio-interval", "0", "--frame-interval", "0.2", "--payload-size",
                        "2000", "--backoff-min-ms", "50", "--backoff-max-ms", "200", "--reconnect-max", "1000",
                        "--pool-mb", "1"}};
    auto r = lg.finish(60s);
    const auto taken = r.at("sessions_admitted").get<uint64_t>();
    CHECK(taken >= 1);
    CHECK(taken < 6);
    CHECK(r.at("sessions_not_taken").get<uint64_t>() == 6 - taken);
    CHECK(r.at("sessions_ended").get<uint64_t>() == taken);
    CHECK(r.at("missing_acks").get<uint64_t>() == 0);
    CHECK(r.at("sessions_failed").get<uint64_t>() == 0);
    const auto acked = r.at("measured_acked").get<uint64_t>();
    CHECK(acked >= 1);
    CHECK(scalar<int64_t>("SELECT count(*) FROM media_items") == static_cast<int64_t>(acked));
    CHECK(scalar<int64_t>("SELECT count(*) FROM media_sessions WHERE status = 'completed'") == static_cast<int64_t>(taken));
  }

  TEST_CASE("loadgen refuses --time-limit without open arrivals") {
    auto parses = [](std::vector<std::string> flags) {
      loadgen::options o;
      return parse_loadgen_flags(std::move(flags), o);
    };
    CHECK_FALSE(parses({"--time-limit", "5"}));
    CHECK_FALSE(parses({"--arrival-rate", "2", "--time-limit", "-1"}));
    CHECK(parses({"--arrival-rate", "2", "--time-limit", "5"}));
  }

  TEST_CASE_FIXTURE(pg_fixture, "loadgen resumes its sessions across a server SIGKILL and loses or doubles nothing") {
    // The server kills itself right after its 30th spool fsync, before that commit's acks go
    // out: those items are durable but loadgen has no ack for them, so only the resumed
    // session's list of held items can tell it (acked via resume), and it must not send them
    // as new ones either.
    const uint16_t port = free_fixed_port();
    server_process server{url, {"--debug.fault-injection", "--debug.crash-at=after-spool-sync@30",
                                "--server.port=" + std::to_string(port)}};
    REQUIRE(server.port() == port);
    const uint32_t sessions = 4;
    // The recorder's cadence sped up (an audio chunk every 0.5 s, a frame every 0.1 s) so that
    // the crash comes early and more items are recorded while the server is down.
    loadgen_process lg{{"--url", url_of(port), "--sessions", std::to_string(sessions), "--mode", "realtime",
                        "--audio-interval", "0.5", "--frame-interval", "0.1", "--duration", "4", "--end",
                        "--audio-size", "8000", "--frame-size", "3000", "--meta-after-ratio", "0.3", "--seed", "5",
                        "--run-id", "77", "--pool-mb", "1", "--backoff-min-ms", "50", "--backoff-max-ms", "300",
                        "--reconnect-max", "200"}};
    auto died = server.wait_exit(30s);
    REQUIRE_MESSAGE(died.has_value(), "the server did not reach its crash point within 30 s");
    REQUIRE(*died == SIGKILL);
    // Same port, spool, media and database, no crash point: the clients reconnect and resume.
    server.restart({"--server.port=" + std::to_string(port)});
    REQUIRE(server.port() == port);

    auto r = lg.finish(120s);
    check_clean(r, sessions);
    CHECK(r.at("reconnects").get<uint64_t>() >= sessions);
    CHECK(r.at("acked_via_resume").get<uint64_t>() >= 1);
    MESSAGE("after the SIGKILL: " << r.at("reconnects") << " reconnects, " << r.at("acked_via_resume")
                                  << " acked via resume, " << r.at("resent") << " resent");
    // Every item loadgen made was acked once: live, or listed by the resumed session as held.
    const uint64_t made = r.at("measured_acked").get<uint64_t>() + r.at("acked_via_resume").get<uint64_t>();

    const loadgen::recorder_model model{lg.options()};
    uint64_t stored = 0;
    for (uint32_t s = 0; s < sessions; ++s) {
      CAPTURE(s);
      auto got = check_stored_session(server, *this, model, s);
      stored += got.size();
      // A recorder makes chunk k and frame k in order: a hole would be a lost item.
      uint32_t next_audio = 0, next_frame = 0;
      for (auto& [k, i] : got)
        CHECK(i == (k == 'a' ? next_audio++ : next_frame++));
    }
    CHECK(stored == made);
    CHECK(stored > 20);
  }
}
