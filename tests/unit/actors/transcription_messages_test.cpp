// The small pieces transcription adds to shared units (issue 5): the `transcription` server
// message on the wire, and in-place updates in the refresh policy (stale array, same length).
#include "actors/refresh_policy.hpp"
#include "net/codec.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace mediaspool;
using namespace std::chrono_literals;

TEST_SUITE("actors.transcription") {

TEST_CASE("a transcription message serializes as PROTOCOL section 1 shows it") {
  auto j = nlohmann::json::parse(net::serialize(transcription{"0f8fad5b-d9cb-469f-a165-70867728950e", 3, "hello \"my\" name"}));
  CHECK(j == nlohmann::json{{"type", "transcription"},
                            {"session_id", "0f8fad5b-d9cb-469f-a165-70867728950e"},
                            {"chunk_index", 3},
                            {"text", "hello \"my\" name"}});
}

TEST_CASE("updated rows make the array stale without growing its length") {
  using clock = refresh_policy::clock;
  const std::string sid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  const clock::time_point t0 = clock::time_point{} + 1h;
  refresh_policy p{refresh_config{0.25, 2000ms, 30000ms}};
  p.added(sid, 'a', 8, t0);
  p.refreshed(p.due(t0), t0); // length 8
  p.updated(sid, 'a', 1, t0 + 3s);
  CHECK(p.due(t0 + 3s).empty()); // 1 of 8 is below the 25 % threshold
  p.updated(sid, 'a', 1, t0 + 3s);
  auto due = p.due(t0 + 3s);
  REQUIRE(due.size() == 1); // 2 of 8 reaches it
  CHECK(due[0].audio);
  p.refreshed(due, t0 + 3s);
  // Length is still 8: two more updates are due again, one is not.
  p.updated(sid, 'a', 1, t0 + 6s);
  CHECK(p.due(t0 + 6s).empty());
  p.updated(sid, 'a', 1, t0 + 6s);
  CHECK(p.due(t0 + 6s).size() == 1);
}

} // TEST_SUITE
