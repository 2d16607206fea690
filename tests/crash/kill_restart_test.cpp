// Crash test: clients stream while the real server is SIGKILLed (by its PID) at varying points,
// then restarted; the clients resume. The expected-state oracle then proves that every acked
// item is stored exactly once with the right bytes (file and JSONB element), and that no
// pending item is stored twice or different.
#include "crash/crash_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <thread>

using namespace mediaspool::test;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string sid_of(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "c0ffee00-0000-4000-8000-%012d", n);
  return buf;
}

// Checks one session against the oracle: files and PostgreSQL elements.
void verify(const pg_fixture& db, const server_process& server, const crash_client& c) {
  const auto& sid = c.session_id();
  for (char kind : {'a', 'f'}) {
    const char* column = kind == 'a' ? "audio_chunks" : "video_frames";
    const char* field = kind == 'a' ? "chunk_index" : "frame_index";
    std::map<uint32_t, int> elements;
    auto rows = db.query(std::string("SELECT (e->>'") + field + "')::bigint, (e->>'file_size')::bigint FROM media_sessions, "
                         "jsonb_array_elements(" + column + ") e WHERE session_id = '" + sid + "'");
    for (const auto& row : rows) {
      auto index = row[0].as<uint32_t>();
      elements[index]++;
      CHECK_MESSAGE(row[1].as<size_t>() == crash_payload(sid, kind, index).size(),
                    sid << " " << kind << index << ": element file_size differs");
    }
    for (uint32_t i = 0; i < c.items(kind); ++i) {
      auto st = c.item_state(kind, i);
      auto path = server.media_root() / sid / (kind == 'a' ? "audio" : "frames") /
                  (kind == 'a' ? "chunk_" + std::to_string(i) + ".webm" : "frame_" + std::to_string(i) + ".jpg");
      bool exists = std::filesystem::exists(path);
      auto count = elements.count(i) ? elements[i] : 0;
      if (st == crash_client::state::acked) {
        CHECK_MESSAGE(count == 1, sid << " " << kind << i << ": acked item has " << count << " JSONB elements");
        REQUIRE_MESSAGE(exists, sid << " " << kind << i << ": acked item has no file");
      }
      CHECK_MESSAGE(count <= 1, sid << " " << kind << i << ": stored twice");
      if (exists)
        CHECK_MESSAGE(read_file(path) == crash_payload(sid, kind, i), sid << " " << kind << i << ": file bytes differ");
    }
  }
}

// Cycles per run: the suite's defaults, or more for the long drill (scripts/crash-drill.sh).
int cycles_from_env(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::max(1, std::atoi(v)) : fallback;
}

// Ends every session after the crashes and checks each against the oracle.
void finish_and_verify(const pg_fixture& db, server_process& server, std::vector<crash_client>& clients,
                       ack_counter& counter) {
  std::vector<int> done(clients.size(), 0);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clients.size(); ++i)
    threads.emplace_back([&, i] { done[i] = clients[i].run_connection(server.port(), counter); });
  for (auto& t : threads)
    t.join();
  for (size_t i = 0; i < clients.size(); ++i)
    REQUIRE_MESSAGE(done[i], "session " << i << " could not finish after the crashes");
  for (auto& c : clients) {
    for (auto& v : c.violations())
      FAIL_CHECK(v);
    uint64_t chunks = 0, frames = 0;
    REQUIRE_MESSAGE(c.end_session(server.port(), chunks, frames), c.session_id() << ": no session_end_ack");
    CHECK_MESSAGE(chunks == c.items('a'), c.session_id() << ": total_chunks " << chunks);
    CHECK_MESSAGE(frames == c.items('f'), c.session_id() << ": total_frames " << frames);
    verify(db, server, c);
  }
}

} // namespace

TEST_SUITE("crash.kill_restart") {
  // The server kills itself (SIGKILL, debug.crash-at) exactly where a crash hurts most: after the
  // spool's fsync but before the acks go out, after the files but before their rows, and inside
  // a PostgreSQL transaction whose rows are written but not committed.
  TEST_CASE_FIXTURE(pg_fixture, "acked items survive kill -9 at each named point exactly once") {
    const int per_point = cycles_from_env("MEDIASPOOL_CRASH_POINT_CYCLES", 7);
    const uint32_t scale = static_cast<uint32_t>((per_point + 6) / 7); // enough items for every cycle
    std::mt19937 rng{20261130};
    int cycle_no = 0;
    for (std::string point : {"after-spool-sync", "after-file-before-db", "mid-batch"}) {
      CAPTURE(point);
      // The nth passage, n from 1 to 3: on a busy machine the stages coalesce more per commit,
      // batch and transaction, and all of a cycle's items took as few as three transactions.
      auto crash_args = [&] {
        return std::vector<std::string>{"--debug.fault-injection",
                                        "--debug.crash-at=" + point + "@" + std::to_string(1 + rng() % 3)};
      };
      server_process server{url, crash_args()};
      ack_counter counter;
      std::vector<crash_client> clients;
      for (int i = 0; i < 3; ++i)
        clients.emplace_back(sid_of(100 * (cycle_no + 1) + i), 30 * scale, 150 * scale, 4);
      int crashed = 0, cycles = 0;
      for (int cycle = 0; cycle < per_point; ++cycle, ++cycle_no) {
        if (cycle > 0)
          server.restart(crash_args()); // the next passage count, drawn afresh
        std::vector<std::thread> threads;
        std::vector<int> all_acked(clients.size(), 0);
        for (size_t i = 0; i < clients.size(); ++i)
          threads.emplace_back([&, i, port = server.port()] { all_acked[i] = clients[i].run_connection(port, counter); });
        // Bounded: the point is reached within a few commits unless every item is acked already.
        auto died = server.wait_exit(std::chrono::seconds(30));
        if (!died)
          server.kill9(); // all acked before the point came: end the cycle anyway
        for (auto& t : threads)
          t.join();
        ++cycles;
        crashed += died && *died == SIGKILL;
        // Every item acked: nothing is left for a later cycle to crash on. On a busy machine the
        // batcher packs more rows per transaction, so the supply can run out before per_point.
        if (std::all_of(all_acked.begin(), all_acked.end(), [](int a) { return a != 0; }))
          break;
      }
      MESSAGE(point << ": the server killed itself there in " << crashed << " of " << cycles << " cycles");
      CHECK_MESSAGE(crashed >= 1, "the crash point was never reached");
      CHECK_MESSAGE(crashed >= (cycles + 1) / 2, "the crash point was rarely reached");
      server.restart({});
      finish_and_verify(*this, server, clients, counter);
    }
  }

  // A crash mid-write leaves a named temp file (filesystems without O_TMPFILE). The restarted
  // node sweeps the folders of the sessions in its spool after it listens, never the whole root
  // (a walk of every recording ever made kept a node from listening for minutes).
  TEST_CASE_FIXTURE(pg_fixture, "after kill -9 the temp files left in spooled sessions' folders are swept, and other folders are not read") {
    server_process server{url, {"--debug.fault-injection", "--debug.crash-at=after-spool-sync@1"}};
    const auto spooled = sid_of(901), other = sid_of(902);
    {
      ws_test_client c{server.port()};
      CHECK_NO_FAILURES(init_and_check(c, spooled, false));
      send_item(c, spooled, make_item('a', 0, 901, 2000, 3000));
      auto died = server.wait_exit(std::chrono::seconds(30));
      REQUIRE_MESSAGE(died, "the server did not reach the crash point");
    }
    auto plant_old = [](const std::filesystem::path& p) {
      std::filesystem::create_directories(p.parent_path());
      std::ofstream{p} << "half written";
      std::filesystem::last_write_time(p, std::filesystem::file_time_type::clock::now() - std::chrono::minutes(1));
    };
    const auto stray = server.media_root() / spooled / "audio" / "chunk_0.webm.4242.0.tmp";
    const auto elsewhere = server.media_root() / other / "frames" / "frame_0.jpg.4242.1.tmp";
    plant_old(stray);
    plant_old(elsewhere);
    server.restart({});
    const std::string swept_line = "stray temp files removed";
    const bool swept = server.wait_for_log(swept_line, 20s).find(swept_line) != std::string::npos;
    REQUIRE_MESSAGE(swept, "no sweep logged");
    CHECK_FALSE_MESSAGE(std::filesystem::exists(stray), "the spooled session's stray temp file is left");
    CHECK_MESSAGE(std::filesystem::exists(elsewhere), "a folder of a session not in the spool was swept");
    // The spooled item itself is stored once it is re-driven.
    ws_test_client c{server.port()};
    CHECK_NO_FAILURES(init_and_check(c, spooled, true, {make_item('a', 0, 901, 2000, 3000)}));
    CHECK_NO_FAILURES(end_and_check(c, spooled, 1, 0));
    CHECK_NO_FAILURES(check_stored(server.media_root(), *this, spooled, {make_item('a', 0, 901, 2000, 3000)}));
  }

  TEST_CASE_FIXTURE(pg_fixture, "acked items survive repeated kill -9 exactly once") {
    constexpr int sessions = 4;
    const int cycles = cycles_from_env("MEDIASPOOL_CRASH_CYCLES", 20);
    const uint32_t scale = static_cast<uint32_t>((cycles + 19) / 20); // enough items for every cycle
    server_process server{url};
    ack_counter counter;
    std::vector<crash_client> clients;
    for (int i = 0; i < sessions; ++i)
      clients.emplace_back(sid_of(i), 20 * scale, 100 * scale, 4);
    std::mt19937 rng{20261125};
    auto run_all = [&](std::vector<int>& done) {
      std::vector<std::thread> threads;
      for (int i = 0; i < sessions; ++i)
        threads.emplace_back([&, i] {
          done[static_cast<size_t>(i)] = clients[static_cast<size_t>(i)].run_connection(server.port(), counter);
          counter.stop();
        });
      return threads;
    };
    for (int cycle = 0; cycle < cycles; ++cycle) {
      std::vector<int> done(sessions, 0);
      counter.stopped = 0;
      auto threads = run_all(done);
      // Kill after a random number of further acks: points before, during and after group commits.
      uint64_t target = counter.acks + 1 + rng() % 25;
      counter.wait_for(target, sessions, std::chrono::seconds(20));
      server.kill9();
      for (auto& t : threads)
        t.join();
      MESSAGE("cycle " << cycle << ": killed after " << counter.acks << " acks");
      server.restart();
    }
    // Finish: every item acked, then end the sessions and check them against the oracle.
    finish_and_verify(*this, server, clients, counter);
    CHECK_MESSAGE(scalar<int>("SELECT count(*) FROM media_sessions WHERE status = 'completed'") == sessions,
                  "every session is completed");
  }
}
