// refresh_policy is pure: time is passed in, so every rule is checked at exact instants.
#include "actors/refresh_policy.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

using namespace mediaspool;
using namespace std::chrono_literals;

namespace {

using clock = refresh_policy::clock;

const std::string sid_a = "0f8fad5b-d9cb-469f-a165-70867728950e";
const std::string sid_b = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

// Far from the clock's epoch: a never-refreshed array has last_refresh = epoch, and a real
// steady clock is never that close to it.
const clock::time_point t0 = clock::time_point{} + 1h;

refresh_config cfg() {
  return refresh_config{0.25, 2000ms, 30000ms};
}

// The entry for `sid` in a due() answer, or a default (nothing due) one.
storage::pg_refresh entry(const std::vector<storage::pg_refresh>& due, const std::string& sid) {
  for (auto& r : due)
    if (r.session_id == sid)
      return r;
  return storage::pg_refresh{sid, false, false, false};
}

// `n` session ids "<prefix>000000000000", "<prefix>000000000001", ...
std::vector<std::string> numbered_sids(const char* prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s%012d", prefix, i);
    out.push_back(buf);
  }
  return out;
}

// Grows sid_a's audio array to `length` elements, refreshed at `t0`.
refresh_policy with_audio_length(uint64_t length) {
  refresh_policy p{cfg()};
  p.added(sid_a, 'a', length, t0);
  auto due = p.due(t0);
  REQUIRE_MESSAGE(entry(due, sid_a).audio, "a new array with rows must be due at once");
  p.refreshed(due, t0);
  REQUIRE(p.due(t0).empty());
  return p;
}

} // namespace

TEST_SUITE("actors.refresh_policy") {

TEST_CASE("an array is due when its pending rows reach the fraction of its length") {
  auto p = with_audio_length(100); // threshold: 25 rows
  auto t1 = t0 + 10s;              // well past min_interval
  p.added(sid_a, 'a', 24, t1);
  CHECK_MESSAGE(p.due(t1).empty(), "24 pending rows of 100 are below the 0.25 fraction");
  p.added(sid_a, 'a', 1, t1);
  auto r = entry(p.due(t1), sid_a);
  CHECK_MESSAGE(r.audio, "25 pending rows of 100 reach the fraction");
  CHECK_FALSE(r.frames);
  CHECK_FALSE(r.responses);
}

TEST_CASE("a due array waits for min_interval after its previous refresh") {
  auto p = with_audio_length(100);
  p.added(sid_a, 'a', 50, t0 + 1s);
  CHECK_MESSAGE(p.due(t0 + 1s).empty(), "1 s after the refresh is inside min_interval");
  CHECK(p.due(t0 + 1999ms).empty());
  CHECK_MESSAGE(entry(p.due(t0 + 2000ms), sid_a).audio, "at min_interval the refresh is allowed");
}

TEST_CASE("an idle array below the fraction gets one catch-up refresh after idle_refresh") {
  auto p = with_audio_length(100);
  auto t1 = t0 + 5s;
  p.added(sid_a, 'a', 1, t1);
  CHECK(p.due(t1 + 29999ms).empty());
  auto due = p.due(t1 + 30s);
  CHECK_MESSAGE(entry(due, sid_a).audio, "30 s without new rows: the array is brought up to date");
  p.refreshed(due, t1 + 30s);
  CHECK_MESSAGE(p.due(t1 + 1h).empty(), "after the catch-up nothing is pending, so nothing is due");
}

TEST_CASE("refreshed clears the pending rows and restarts the rate limit") {
  auto p = with_audio_length(4);
  auto t1 = t0 + 10s;
  p.added(sid_a, 'a', 4, t1);
  auto due = p.due(t1);
  REQUIRE(entry(due, sid_a).audio);
  p.refreshed(due, t1);
  CHECK(p.due(t1).empty());
  CHECK_MESSAGE(p.due(t1 + 1h).empty(), "no pending rows: never due, however long we wait");
  // The length is now 8, so 2 rows are the threshold, and the refresh at t1 rate-limits.
  p.added(sid_a, 'a', 2, t1 + 1s);
  CHECK(p.due(t1 + 1s).empty());
  CHECK(entry(p.due(t1 + 2s), sid_a).audio);
}

TEST_CASE("refreshed ignores arrays that were not named and sessions that are not tracked") {
  auto p = with_audio_length(100);
  auto t1 = t0 + 10s;
  p.added(sid_a, 'a', 30, t1);
  p.refreshed({storage::pg_refresh{sid_a, false, true, false}}, t1);
  CHECK_MESSAGE(entry(p.due(t1), sid_a).audio, "a frames refresh must not clear audio's pending rows");
  p.refreshed({storage::pg_refresh{sid_b, true, true, true}}, t1);
  CHECK(p.tracked_sessions() == 1);
}

TEST_CASE("a rebuild's measured length replaces the estimate of a session this node did not start") {
  // After a restart the policy has counted only the rows it saw: 1 where the array holds 1,001.
  refresh_policy p{cfg()};
  p.added(sid_a, 'f', 1, t0);
  auto due = p.due(t0);
  REQUIRE(entry(due, sid_a).frames);
  p.refreshed(due, t0, {storage::pg_rebuilt{sid_a, std::nullopt, 1001, std::nullopt}});
  auto t1 = t0 + 10s;
  p.added(sid_a, 'f', 250, t1);
  CHECK_MESSAGE(p.due(t1).empty(), "250 new rows of 1,001 are below the fraction");
  p.added(sid_a, 'f', 1, t1);
  CHECK(entry(p.due(t1), sid_a).frames);
}

TEST_CASE("forget stops tracking a finalized session") {
  refresh_policy p{cfg()};
  p.added(sid_a, 'a', 3, t0);
  p.added(sid_b, 'f', 3, t0);
  REQUIRE(p.tracked_sessions() == 2);
  p.forget(sid_a);
  CHECK(p.tracked_sessions() == 1);
  auto due = p.due(t0);
  REQUIRE(due.size() == 1);
  CHECK(due[0].session_id == sid_b);
  p.forget(sid_a); // twice is harmless
  CHECK(p.tracked_sessions() == 1);
}

TEST_CASE("due_among looks only at the sessions it is given") {
  auto p = with_audio_length(100);
  p.added(sid_a, 'a', 30, t0 + 10s); // due: 30 of 100, past min_interval
  p.added(sid_b, 'f', 3, t0 + 10s);  // due: a new array
  auto among_b = p.due_among({sid_b}, t0 + 10s);
  REQUIRE(among_b.size() == 1);
  CHECK(among_b[0].session_id == sid_b);
  CHECK(among_b[0].frames);
  CHECK_MESSAGE(p.due_among({"not-tracked"}, t0 + 10s).empty(), "an unknown session is never due");
  CHECK(p.due(t0 + 10s).size() == 2);
}

TEST_CASE("restore puts back the sessions saved before rows whose write failed") {
  auto p = with_audio_length(100);
  auto saved = p.save({sid_a, sid_b});
  p.added(sid_a, 'a', 30, t0 + 10s);
  p.added(sid_b, 'f', 3, t0 + 10s);
  REQUIRE(p.due(t0 + 10s).size() == 2);
  p.restore(std::move(saved));
  CHECK_MESSAGE(p.due(t0 + 1h).empty(), "the failed rows are not pending (they are added again on retry)");
  CHECK_MESSAGE(p.tracked_sessions() == 1, "a session first seen in the failed batch is not tracked");
  p.added(sid_a, 'a', 24, t0 + 10s);
  CHECK_MESSAGE(p.due(t0 + 10s).empty(), "the length and rate limit are those before the failure");
  p.added(sid_a, 'a', 1, t0 + 10s);
  CHECK(entry(p.due(t0 + 10s), sid_a).audio);
}

TEST_CASE("kinds and sessions are due independently of each other") {
  refresh_policy p{cfg()};
  p.added(sid_a, 'a', 100, t0);
  p.added(sid_a, 'f', 100, t0);
  p.added(sid_a, 'r', 4, t0);
  p.added(sid_b, 'a', 8, t0);
  p.refreshed(p.due(t0), t0);
  REQUIRE(p.due(t0).empty());

  auto t1 = t0 + 10s;
  p.added(sid_a, 'a', 25, t1); // audio reaches 25 of 100
  p.added(sid_a, 'f', 10, t1); // frames stay below 25 of 100
  p.added(sid_a, 'r', 1, t1);  // responses reach 1 of 4
  p.added(sid_b, 'a', 1, t1);  // sid_b stays below 2 of 8
  auto due = p.due(t1);
  auto a = entry(due, sid_a);
  CHECK(a.audio);
  CHECK_FALSE(a.frames);
  CHECK(a.responses);
  auto b = entry(due, sid_b);
  CHECK_FALSE_MESSAGE(b.audio, "another session's busy arrays do not make this one due");
  CHECK(due.size() == 1);

  p.refreshed(due, t1);
  p.added(sid_a, 'f', 15, t1 + 1s); // frames now 25 of 100, and frames were last refreshed at t0
  CHECK_MESSAGE(entry(p.due(t1 + 1s), sid_a).frames,
                "the audio refresh at t1 must not rate-limit the frames array");
  CHECK_FALSE(entry(p.due(t1 + 1s), sid_a).audio);
}

// The flatness claim as a count: every refresh of an array rewrites all of its elements, yet
// the elements rewritten per added row stay bounded by 1 + 1/fraction, at every point of a
// long session (a policy that refreshed on every row would rewrite ~N/2 per row).
TEST_CASE("rebuilt elements per added row stay within one plus one over the fraction") {
  for (double fraction : {0.25, 0.5}) {
    for (auto step : {std::chrono::milliseconds(10000), std::chrono::milliseconds(100)}) {
      CAPTURE(fraction);
      CAPTURE(step.count());
      refresh_policy p{refresh_config{fraction, 2000ms, 30000ms}};
      const double bound = 1.0 + 1.0 / fraction + 0.1;
      uint64_t rows = 0;
      uint64_t rebuilt = 0;
      uint64_t refreshes = 0;
      double worst = 0;
      auto now = t0;
      for (int i = 0; i < 2000; ++i) {
        now += step;
        p.added(sid_a, 'a', 1, now);
        ++rows;
        auto due = p.due(now);
        if (!due.empty()) {
          REQUIRE(entry(due, sid_a).audio);
          rebuilt += rows; // the rebuild writes every element the array has now
          ++refreshes;
          p.refreshed(due, now);
        }
        worst = std::max(worst, static_cast<double>(rebuilt) / static_cast<double>(rows));
      }
      CAPTURE(refreshes);
      CAPTURE(rebuilt);
      CHECK_MESSAGE(worst <= bound, "worst ratio " << worst << " exceeds " << bound);
      CHECK_MESSAGE(refreshes >= 5, "the array must still be refreshed while the session grows");
    }
  }
}

TEST_CASE("with jitter, sessions growing together rebuild at different lengths, each within fraction x (1 +- jitter)") {
  refresh_config c = cfg();
  c.jitter = 0.2;
  refresh_policy p{c};
  const auto sids = numbered_sids("0f8fad5b-d9cb-469f-a165-", 50);
  for (auto& sid : sids)
    p.added(sid, 'f', 1000, t0);
  p.refreshed(p.due(t0), t0);
  REQUIRE(p.due(t0).empty());
  // One row per session at a time, as sessions that started together receive them.
  auto t1 = t0 + 10s;
  std::vector<int> due_at(sids.size(), 0);
  for (int row = 1; row <= 400; ++row) {
    for (auto& sid : sids)
      p.added(sid, 'f', 1, t1);
    for (auto& r : p.due(t1)) {
      auto i = std::find(sids.begin(), sids.end(), r.session_id) - sids.begin();
      if (due_at[i] == 0)
        due_at[i] = row;
    }
  }
  std::vector<int> distinct = due_at;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (size_t i = 0; i < sids.size(); ++i) {
    CAPTURE(sids[i]);
    CHECK(due_at[i] >= 200); // 1000 x 0.25 x 0.8
    CHECK(due_at[i] <= 300); // 1000 x 0.25 x 1.2
    CHECK(p.fraction_of(sids[i]) == refresh_policy{c}.fraction_of(sids[i])); // fixed per id
  }
  CHECK_MESSAGE(distinct.size() >= 20, "50 sessions spread over only " << distinct.size() << " rebuild points");
  CHECK(refresh_policy{cfg()}.fraction_of(sids[0]) == 0.25); // no jitter: exact
}

TEST_CASE("with jitter, sessions paced by the minimum interval rebuild at different moments") {
  // At full pace every array is due by its fraction long before the minimum interval has
  // passed, so the interval alone decides when it is rebuilt. Sessions that started together
  // got their first (not rate-limited) rebuild in the same batch; with one interval for all
  // they would rebuild together every 2 s, PostgreSQL would take 10 rebuilds as one burst, and
  // a 100-item window would hold all of them or none (figure 5's WAL ratio swung 1.0-1.7x).
  refresh_config c = cfg();
  c.jitter = 0.2;
  refresh_policy p{c};
  const auto sids = numbered_sids("9896d492-e864-4210-a186-", 10);
  // 10 ms steps for 12 s, 2 rows per session per step; count rebuilds per 200 ms slot. The
  // interval binds until ~interval / fraction = 8 s, the fraction after that.
  std::vector<int> per_slot(60, 0);
  std::vector<clock::time_point> last(sids.size());
  clock::duration shortest = 1h;
  for (int step = 0; step < 1200; ++step) {
    auto now = t0 + step * 10ms;
    for (auto& sid : sids)
      p.added(sid, 'f', 2, now);
    auto due = p.due(now);
    for (auto& r : due) {
      per_slot[static_cast<size_t>(step / 20)]++;
      auto i = static_cast<size_t>(std::find(sids.begin(), sids.end(), r.session_id) - sids.begin());
      if (step > 0)
        shortest = std::min(shortest, now - last[i]);
      last[i] = now;
    }
    p.refreshed(due, now);
  }
  // After the common first rebuild the phases drift apart: from 4 s on, no 200 ms slot holds
  // more than 3 of the 10 sessions' rebuilds.
  int worst = *std::max_element(per_slot.begin() + 20, per_slot.end());
  CHECK_MESSAGE(worst <= 3, "a 200 ms slot holds " << worst << " rebuilds");
  CHECK(shortest >= 1600ms); // each session's interval is 2 s x (1 +- 0.2)
}

} // TEST_SUITE
