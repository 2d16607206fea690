#pragma once
// What the integration tests send and how they check it: deterministic seeded items, the
// PROTOCOL.md messages for them, a pipelined send-and-ack loop, and the checks of the files
// and PostgreSQL rows an acked item must become. Failures are returned as text (not asserted)
// so that worker threads can use these helpers and the test thread reports them.
#include "support/pg_fixture.hpp"
#include "support/ws_test_client.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

/// Checks that a helper returned no failures, and shows them if it did.
#define CHECK_NO_FAILURES(expr)                                                                   \
  do {                                                                                            \
    auto ms_failures_ = (expr);                                                                   \
    CHECK_MESSAGE(ms_failures_.empty(), #expr << ":\n" << ::mediaspool::test::join(ms_failures_)); \
  } while (false)

namespace mediaspool::test {

using json = nlohmann::json;

/// One audio chunk ('a') or video frame ('f') with its payload and the order it is sent in.
struct test_item {
  char kind = 'a';
  uint32_t index = 0;
  std::string payload;
  bool meta_first = true; ///< metadata before the binary frame, or after it
};

using item_key = std::pair<char, uint32_t>;

/// The UUID of test session `n` (lower case, as the server stores it).
std::string test_sid(uint32_t n);

/// `size` bytes from a seeded generator: the same seed always gives the same bytes.
std::string seeded_bytes(uint64_t seed, size_t size);

/// An item whose size is drawn from [min_size, max_size] and whose bytes and order follow `seed`.
test_item make_item(char kind, uint32_t index, uint64_t seed, size_t min_size, size_t max_size);

/// `audio` chunks (20-160 KB) and `frames` frames (5-45 KB), frames interleaved between chunks,
/// both orders of metadata and blob, all derived from `seed`.
std::vector<test_item> make_mix(uint64_t seed, uint32_t audio, uint32_t frames);

json init_msg(const std::string& sid);
json metadata_msg(const std::string& sid, const test_item& item);
json response_msg(const std::string& sid, uint32_t question_id);
json end_msg(const std::string& sid);

/// The stored form of metadata_msg's timestamps (PROTOCOL section 3), for row checks.
std::string audio_start_stored(uint32_t index);

/// Sends the item's metadata and binary frame in its order.
void send_item(ws_test_client& c, const std::string& sid, const test_item& item);

/// Sends `items` with at most `window` un-acked at a time and checks each ack: the right kind
/// and index, file_size = payload size, duplicate = (item in `held`). Any error message (but a
/// rate_limited notice) or missing ack is a failure. Returns the failures (empty: all acked as expected).
std::vector<std::string> send_and_check_acks(ws_test_client& c, const std::string& sid,
                                             const std::vector<test_item>& items, size_t window,
                                             const std::set<item_key>& held = {},
                                             std::chrono::milliseconds timeout = 20s);

/// Sends session_init and checks session_init_ack: `resumed`, and the received ranges equal
/// exactly those of `held` (inclusive ranges). Returns the failures.
std::vector<std::string> init_and_check(ws_test_client& c, const std::string& sid, bool resumed,
                                        const std::vector<test_item>& held = {},
                                        std::chrono::milliseconds timeout = 10s);

/// Sends session_end and checks session_end_ack's totals. Skipped before it: a rate_limited
/// notice (it refuses nothing) and errors about items (with a ref); any other error fails.
/// Returns the failures.
std::vector<std::string> end_and_check(ws_test_client& c, const std::string& sid, size_t chunks,
                                       size_t frames, std::chrono::milliseconds timeout = 20s);

/// What the server answered for one item sent alone: "ack", "error:<code>" or "" (nothing in
/// time), and how long after the send.
struct outcome {
  std::string result;
  std::chrono::microseconds after{0};
};
using outcomes = std::map<item_key, outcome>;

/// The item an ack or an error with a ref names, if any.
std::optional<item_key> ref_of(const json& msg);

/// Sends each item and waits for its ack or error before the next (so the server sees an earlier
/// item's failure before the next arrives). Returns each item's outcome.
outcomes send_each(ws_test_client& c, const std::string& sid, const std::vector<test_item>& items,
                   std::chrono::milliseconds each = 10s);

/// Resends every item not in `acked` until all are acked or `deadline` passes (a server past a
/// fault retries within a second). Returns the keys still not acked.
std::set<item_key> resend_until_acked(ws_test_client& c, const std::string& sid, const std::vector<test_item>& items,
                                      std::set<item_key> acked, std::chrono::milliseconds deadline = 30s);

/// The keys whose outcome is "ack".
std::set<item_key> acked_of(const outcomes& o);

/// How many outcomes are `result`.
size_t count_of(const outcomes& o, const std::string& result);

/// The file an item is stored as, under `media_root`.
std::filesystem::path item_file(const std::filesystem::path& media_root, const std::string& sid,
                                const test_item& item);

/// Every item is a file under `media_root` with exactly its bytes. Returns the failures.
std::vector<std::string> check_files(const std::filesystem::path& media_root, const std::string& sid,
                                     const std::vector<test_item>& items);

/// The session row holds exactly `items`: arrays sorted by index with one element per item,
/// file paths and sizes right, totals = jsonb_array_length, one media_items row per item,
/// status completed, and `responses` question ids. Returns the failures.
std::vector<std::string> check_rows(const pg_fixture& db, const std::string& sid,
                                    const std::vector<test_item>& items,
                                    const std::vector<uint32_t>& responses = {});

/// check_files and check_rows together.
std::vector<std::string> check_stored(const std::filesystem::path& media_root, const pg_fixture& db,
                                      const std::string& sid, const std::vector<test_item>& items,
                                      const std::vector<uint32_t>& responses = {});

/// Over a new connection: resumes `sid` (the ack must list exactly `items`), ends it (totals must
/// match), closes, then check_stored. Proves what an earlier, failed connection left behind.
std::vector<std::string> resume_end_and_check(uint16_t port, const std::filesystem::path& media_root,
                                              const pg_fixture& db, const std::string& sid,
                                              const std::vector<test_item>& items);

/// The items in `all` that are in `keys`.
std::vector<test_item> select(const std::vector<test_item>& all, const std::set<item_key>& keys);

/// The keys of `items`.
std::set<item_key> keys_of(const std::vector<test_item>& items);

/// The keys a session_init_ack lists in audio_received and frames_received.
std::set<item_key> keys_of_ack(const json& init_ack);

/// "a3 f7 ..." of items, for messages.
std::string describe(const std::vector<test_item>& items);

/// Joins failures into one message ("" if none).
std::string join(const std::vector<std::string>& failures);

/// Runs `session(i)` for i in [0, n), each on its own thread, and returns each one's failures
/// (an exception counts as one).
std::vector<std::vector<std::string>> run_concurrently(
  size_t n, const std::function<std::vector<std::string>(size_t)>& session);

/// Appends `more` to `failures` with a prefix naming where they came from.
void append(std::vector<std::string>& failures, const std::string& where, std::vector<std::string> more);

} // namespace mediaspool::test
