// Storage faults against the real server binary: injected I/O failures (debug.fault-injection and
// PUT /api/debug/faults) and a really full disk (a size-limited tmpfs under the spool and media
// roots). Whatever fails, no item is acked that is not durable, the client hears `overloaded`
// quickly, /readyz says why, and the server recovers by itself when the fault is gone: every
// acked item ends up exactly once as a file with its bytes and as one JSONB element.
#include "support/http_test_client.hpp"
#include "support/media_session.hpp"
#include "support/pg_fixture.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_test_client.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <thread>
#include <unistd.h>

using namespace mediaspool;
using namespace mediaspool::test;

namespace {

// The longest time from a send to an answer of this kind (a measurement, reported, not asserted).
std::chrono::microseconds slowest(const outcomes& o, const std::string& result) {
  std::chrono::microseconds out{0};
  for (auto& [key, r] : o)
    if (r.result == result)
      out = std::max(out, r.after);
  return out;
}

http_result arm(uint16_t port, const std::string& query) {
  return http_get(port, "/api/debug/faults?" + query, {}, 5s, "PUT");
}

// Files are written after the ack: polls check_files until it passes or the deadline passes.
std::vector<std::string> files_eventually(const std::filesystem::path& media_root, const std::string& sid,
                                          const std::vector<test_item>& items, std::chrono::seconds deadline = 30s) {
  std::vector<std::string> failures;
  for (auto until = std::chrono::steady_clock::now() + deadline;;) {
    failures = check_files(media_root, sid, items);
    if (failures.empty() || std::chrono::steady_clock::now() >= until)
      return failures;
    std::this_thread::sleep_for(100ms); // poll interval, bounded by the deadline
  }
}

size_t temp_files_under(const std::filesystem::path& root) {
  size_t n = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator{root, ec})
    n += e.path().extension() == ".tmp";
  return n;
}

std::string problems_of(const http_result& r) {
  try {
    return json::parse(r.body)["problems"].dump();
  } catch (const std::exception&) {
    return r.body;
  }
}

/// A size-limited tmpfs of this test alone, unmounted by the destructor.
struct small_disk {
  temp_dir dir;
  bool mounted = false;
  explicit small_disk(const std::string& size) {
    auto cmd = "mount -t tmpfs -o size=" + size + " mediaspool-test " + dir.path().string() + " 2>/dev/null";
    mounted = std::system(cmd.c_str()) == 0;
  }
  ~small_disk() {
    if (mounted)
      std::system(("umount -l " + dir.path().string()).c_str());
  }
  std::filesystem::path path() const { return dir.path(); }

  /// Writes a filler file until the filesystem refuses more. Returns the bytes written.
  size_t fill() const {
    int fd = ::open((dir.path() / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
      return 0;
    std::string block(1 << 20, 'x');
    size_t total = 0;
    for (;;) {
      auto n = ::write(fd, block.data(), block.size());
      if (n <= 0)
        break;
      total += static_cast<size_t>(n);
    }
    // Smaller writes take the last few KB, so even a tiny temp file cannot fit.
    for (;;) {
      auto n = ::write(fd, block.data(), 512);
      if (n <= 0)
        break;
      total += static_cast<size_t>(n);
    }
    ::close(fd);
    return total;
  }
  void free_space() const { std::filesystem::remove(dir.path() / "filler"); }
};

} // namespace

TEST_SUITE("integration.faults") {

TEST_CASE_FIXTURE(pg_fixture, "spool sync failing for lack of space: overloaded and no ack, cleared: resends acked, all stored once") {
  server_process server{url, {"--debug.fault-injection"}};
  const auto sid = test_sid(960);
  auto items = make_mix(960, 4, 8);
  ws_test_client c{server.port()};
  CHECK_NO_FAILURES(init_and_check(c, sid, false));
  std::vector<test_item> before{items.begin(), items.begin() + 4}, during{items.begin() + 4, items.end()};
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, before, 4));

  auto a = arm(server.port(), "io=spool.sync@1:persistent:ENOSPC");
  REQUIRE_MESSAGE(a.status == 200, a.status << " " << a.body);
  auto result = send_each(c, sid, during);
  MESSAGE("while the spool could not sync: overloaded after at most " << slowest(result, "error:overloaded").count()
                                                                     << " µs (target: within 1 s)");
  CHECK_MESSAGE(count_of(result, "error:overloaded") == during.size(), "every item is refused, none acked");
  auto r = http_get_until(server.port(), "/readyz", 503);
  CHECK_MESSAGE(r.status == 503, r.status << " " << r.body);
  CHECK_MESSAGE(problems_of(r).find("spool: writes failing") != std::string::npos, problems_of(r));
  auto m = http_get(server.port(), "/metrics");
  CHECK(m.body.find("mediaspool_storage_write_failures_total{store=\"spool\"} 0") == std::string::npos);
  CHECK(m.body.find("mediaspool_errors_total{code=\"overloaded\"}") != std::string::npos);

  REQUIRE(arm(server.port(), "io=").status == 200);
  auto missing = resend_until_acked(c, sid, during, {});
  CHECK_MESSAGE(missing.empty(), "never acked after the fault cleared");
  CHECK(http_get_until(server.port(), "/readyz", 200).status == 200);
  CHECK_NO_FAILURES(end_and_check(c, sid, 4, 8));
  CHECK_NO_FAILURES(check_stored(server.media_root(), *this, sid, items));
}

TEST_CASE_FIXTURE(pg_fixture, "a record a failed commit left in the spool is stored without a restart, and the idle spool reopens by itself") {
  // A commit whose RocksDB WAL sync fails is answered `internal`, and the spool closes until a
  // reopen; the record it wrote comes back then (it was in the WAL), so a resume lists it as held
  // and the client never sends it again. It must become a file and a row in this process, not at
  // the next start; and with no further write the spool must still reopen, or every session_init
  // (which reads what the spool holds) would fail.
  server_process server{url, {"--debug.fault-injection"}};
  const auto sid = test_sid(962);
  auto items = make_mix(962, 1, 1);
  {
    ws_test_client c{server.port()};
    CHECK_NO_FAILURES(init_and_check(c, sid, false));
    CHECK_NO_FAILURES(send_and_check_acks(c, sid, {items[0]}, 4));
    // In a commit the payload log's fdatasync is the 1st sync, RocksDB's WAL sync the 2nd.
    REQUIRE(arm(server.port(), "io=spool.sync@2").status == 200);
    auto result = send_each(c, sid, {items[1]});
    REQUIRE_MESSAGE(count_of(result, "error:internal") == 1, "the failed commit is reported");
    REQUIRE(arm(server.port(), "io=").status == 200);
  }
  auto r = http_get_until(server.port(), "/readyz", 200);
  CHECK_MESSAGE(r.status == 200, "the spool never reopened by itself: " << r.status << " " << problems_of(r));
  CHECK_NO_FAILURES(resume_end_and_check(server.port(), server.media_root(), *this, sid, items));
}

TEST_CASE_FIXTURE(pg_fixture, "media fsync failing: items acked from the spool, no file half-written, files rewritten once it clears") {
  server_process server{url, {"--debug.fault-injection"}};
  const auto sid = test_sid(961);
  auto items = make_mix(961, 3, 6);
  REQUIRE(arm(server.port(), "io=media.sync@1:persistent:EIO").status == 200);
  ws_test_client c{server.port()};
  CHECK_NO_FAILURES(init_and_check(c, sid, false));
  // Durability is the spool's: an I/O error (not a full disk) on the media side costs no ack.
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, items, 4));
  auto r = http_get_until(server.port(), "/readyz", 503);
  CHECK_MESSAGE(problems_of(r).find("media: writes failing") != std::string::npos, problems_of(r));
  for (auto& it : items)
    CHECK_MESSAGE(!std::filesystem::exists(item_file(server.media_root(), sid, it)),
                  "a file whose sync failed must not be left under its final name");
  CHECK(temp_files_under(server.media_root()) == 0);

  REQUIRE(arm(server.port(), "io=").status == 200);
  // The failed sync is not retried and trusted: each file is written again from the held bytes.
  CHECK_NO_FAILURES(files_eventually(server.media_root(), sid, items));
  CHECK(http_get_until(server.port(), "/readyz", 200).status == 200);
  CHECK_NO_FAILURES(end_and_check(c, sid, 3, 6));
  CHECK_NO_FAILURES(check_stored(server.media_root(), *this, sid, items));
}

TEST_CASE_FIXTURE(pg_fixture, "a spool write that hangs past server.ready-write-stall makes /readyz 503 naming it, ready again once the disk answers, the item acked") {
  server_process server{url, {"--debug.fault-injection", "--server.ready-write-stall=1s"}};
  const auto sid = test_sid(963);
  auto items = make_mix(963, 1, 1);
  ws_test_client c{server.port()};
  CHECK_NO_FAILURES(init_and_check(c, sid, false));
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, {items[0]}, 1));
  CHECK(http_get_until(server.port(), "/readyz", 200).status == 200);
  // Every spool sync takes 4 s: nothing fails, the next commit just does not finish.
  REQUIRE(arm(server.port(), "io=spool.sync:persistent:slow=4000").status == 200);
  struct heal_on_exit {
    uint16_t port;
    ~heal_on_exit() { arm(port, "io="); }
  } heal{server.port()};
  send_item(c, sid, items[1]);
  auto r = http_get_until(server.port(), "/readyz", 503, 10s);
  CHECK_MESSAGE(r.status == 503, r.status << " " << r.body);
  CHECK_MESSAGE(problems_of(r).find("spool: a write has been running for") != std::string::npos, problems_of(r));
  REQUIRE(arm(server.port(), "io=").status == 200);
  auto ack = c.wait_for_type("frame_ack", 20s);
  REQUIRE_MESSAGE(ack, "the item sent while the spool hung was never acked: " << c.last_error());
  CHECK((*ack)["frame_index"] == items[1].index);
  CHECK(http_get_until(server.port(), "/readyz", 200).status == 200);
  CHECK_NO_FAILURES(end_and_check(c, sid, 1, 1));
  CHECK_NO_FAILURES(check_stored(server.media_root(), *this, sid, items));
}

TEST_CASE_FIXTURE(pg_fixture, "a really full disk (tmpfs): no false ack, overloaded, readyz 503, recovery without restart") {
  small_disk disk{"48m"};
  if (!disk.mounted)
    WARN_MESSAGE(false, "cannot mount a tmpfs here (not root?): the full disk is simulated with injected ENOSPC");
  std::vector<std::string> args{"--debug.fault-injection", "--spool.write-buffer=4194304",
                                "--server.min-free-bytes=1048576"};
  if (disk.mounted) {
    args.push_back("--spool.path=" + (disk.path() / "spool").string());
    args.push_back("--media.root=" + (disk.path() / "media").string());
  }
  server_process server{url, args};
  const auto media_root = disk.mounted ? disk.path() / "media" : server.media_root();
  const auto sid = test_sid(962);
  auto items = make_mix(962, 12, 48);
  ws_test_client c{server.port()};
  CHECK_NO_FAILURES(init_and_check(c, sid, false));
  std::vector<test_item> before{items.begin(), items.begin() + 6}, during{items.begin() + 6, items.end()};
  CHECK_NO_FAILURES(send_and_check_acks(c, sid, before, 4));
  CHECK_NO_FAILURES(files_eventually(media_root, sid, before));

  if (disk.mounted)
    MESSAGE("filler took " << disk.fill() << " bytes");
  else
    REQUIRE(arm(server.port(), "io=spool.write@1:persistent:ENOSPC,media.write@1:persistent:ENOSPC").status == 200);
  auto result = send_each(c, sid, during);
  auto acked = acked_of(result);
  MESSAGE(acked.size() << " of " << during.size() << " items acked on the full disk (WAL space already reserved), "
                       << count_of(result, "error:overloaded") << " refused with overloaded, each after at most "
                       << slowest(result, "error:overloaded").count() << " µs (target: within 1 s)");
  CHECK_MESSAGE(count_of(result, "error:overloaded") > 0, "a full disk must be reported as overloaded");
  CHECK_MESSAGE(count_of(result, "") == 0, "every item is answered");
  auto r = http_get_until(server.port(), "/readyz", 503);
  CHECK_MESSAGE(r.status == 503, r.body);

  if (disk.mounted)
    disk.free_space();
  else
    REQUIRE(arm(server.port(), "io=").status == 200);
  auto missing = resend_until_acked(c, sid, during, acked);
  CHECK_MESSAGE(missing.empty(), "items never acked after space returned");
  CHECK(http_get_until(server.port(), "/readyz", 200).status == 200);
  CHECK_NO_FAILURES(end_and_check(c, sid, 12, 48, 60s));
  CHECK_NO_FAILURES(check_stored(media_root, *this, sid, items));
}

} // TEST_SUITE
