#include "support/media_session.hpp"

#include "actors/wire.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <thread>

namespace mediaspool::test {

namespace fs = std::filesystem;

namespace {

// "2025-12-17T09:00:00.134Z" plus `seconds`; `stored` gives the server's normalised form.
std::string timestamp(uint32_t seconds, bool stored) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "2025-12-17T%02u:%02u:%02u.134%s", 9 + seconds / 3600, seconds / 60 % 60,
                seconds % 60, stored ? "000+00:00" : "Z");
  return buf;
}

std::string read_all(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string key_text(char kind, uint32_t index) {
  return std::string(1, kind) + std::to_string(index);
}

// The rate limit's notice: reads slowed down, nothing was refused, so it answers no request.
bool is_rate_notice(const json& j) {
  return j.value("type", "") == "error" && j.value("code", "") == "rate_limited";
}

} // namespace

std::string test_sid(uint32_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "3f2b8c1e-7e57-4000-8000-%012x", n);
  return buf;
}

std::string seeded_bytes(uint64_t seed, size_t size) {
  std::mt19937_64 gen{seed};
  std::string out(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    uint64_t x = gen();
    for (size_t j = 0; j < 8 && i + j < size; ++j, x >>= 8)
      out[i + j] = static_cast<char>(x & 0xff);
  }
  return out;
}

test_item make_item(char kind, uint32_t index, uint64_t seed, size_t min_size, size_t max_size) {
  std::mt19937_64 gen{seed * 1000003u + static_cast<uint64_t>(kind) * 7919u + index};
  test_item it;
  it.kind = kind;
  it.index = index;
  it.meta_first = (gen() & 1) == 0;
  const size_t size = min_size + gen() % (max_size - min_size + 1);
  it.payload = seeded_bytes(gen(), size);
  return it;
}

std::vector<test_item> make_mix(uint64_t seed, uint32_t audio, uint32_t frames) {
  std::vector<test_item> out;
  uint32_t f = 0;
  for (uint32_t a = 0; a < audio; ++a) {
    out.push_back(make_item('a', a, seed, 20u << 10, 160u << 10));
    // Spread the frames evenly between the chunks, the rest after the last one.
    const uint32_t until = audio == 0 ? frames : frames * (a + 1) / audio;
    for (; f < until; ++f)
      out.push_back(make_item('f', f, seed, 5u << 10, 45u << 10));
  }
  for (; f < frames; ++f)
    out.push_back(make_item('f', f, seed, 5u << 10, 45u << 10));
  return out;
}

json init_msg(const std::string& sid) {
  return {{"type", "session_init"}, {"session_id", sid}, {"interview_session_id", 42},
          {"user_id", 7},           {"timestamp", timestamp(0, false)}};
}

json metadata_msg(const std::string& sid, const test_item& item) {
  if (item.kind == 'a')
    return {{"type", "audio_metadata"},
            {"session_id", sid},
            {"chunk_index", item.index},
            {"start_timestamp", timestamp(item.index * 10, false)},
            {"end_timestamp", timestamp(item.index * 10 + 9, false)},
            {"duration_ms", 9990},
            {"size", item.payload.size()}};
  return {{"type", "frame_metadata"},
          {"session_id", sid},
          {"frame_index", item.index},
          {"timestamp", timestamp(item.index * 3, false)},
          {"chunk_index", item.index / 3},
          {"offset_ms", item.index % 3 * 3000},
          {"size", item.payload.size()}};
}

json response_msg(const std::string& sid, uint32_t question_id) {
  return {{"type", "response_metadata"},
          {"session_id", sid},
          {"question_id", question_id},
          {"question_text", "question " + std::to_string(question_id)},
          {"start_timestamp", timestamp(question_id * 60, false)},
          {"end_timestamp", timestamp(question_id * 60 + 50, false)}};
}

json end_msg(const std::string& sid) {
  return {{"type", "session_end"}, {"session_id", sid}};
}

std::string audio_start_stored(uint32_t index) {
  return timestamp(index * 10, true);
}

void send_item(ws_test_client& c, const std::string& sid, const test_item& item) {
  const auto kind = item.kind == 'a' ? item_kind::audio : item_kind::frame;
  if (item.meta_first)
    c.send_json(metadata_msg(sid, item));
  c.send_blob(sid, kind, item.index, item.payload);
  if (!item.meta_first)
    c.send_json(metadata_msg(sid, item));
}

std::vector<std::string> send_and_check_acks(ws_test_client& c, const std::string& sid,
                                             const std::vector<test_item>& items, size_t window,
                                             const std::set<item_key>& held,
                                             std::chrono::milliseconds timeout) {
  std::vector<std::string> failures;
  std::map<item_key, const test_item*> outstanding;
  auto relevant = [](const json& j) {
    auto t = j.value("type", "");
    return t == "audio_ack" || t == "frame_ack" || (t == "error" && !is_rate_notice(j));
  };
  // Takes one ack or error and checks it; false if nothing came in time.
  auto take_one = [&]() {
    auto msg = c.wait_for(relevant, timeout);
    if (!msg) {
      failures.push_back("no ack within " + std::to_string(timeout.count()) + " ms; still un-acked: "
                         + std::to_string(outstanding.size()) + (c.is_closed() ? " (connection closed)" : "")
                         + (c.last_error().empty() ? "" : " last error: " + c.last_error()));
      return false;
    }
    if (msg->value("type", "") == "error") {
      failures.push_back("unexpected error: " + msg->dump());
      return true;
    }
    const bool audio = msg->value("type", "") == "audio_ack";
    const char kind = audio ? 'a' : 'f';
    const uint32_t index = msg->value(audio ? "chunk_index" : "frame_index", 0u);
    auto it = outstanding.find({kind, index});
    if (it == outstanding.end()) {
      failures.push_back("ack for an item not waiting for one: " + msg->dump());
      return true;
    }
    const bool dup = held.count({kind, index}) > 0;
    if (msg->value("session_id", "") != sid || msg->value("file_size", uint64_t{0}) != it->second->payload.size()
        || msg->value("duplicate", !dup) != dup)
      failures.push_back("wrong ack for " + key_text(kind, index) + " (" + std::to_string(it->second->payload.size())
                         + " bytes, duplicate expected " + (dup ? "true" : "false") + "): " + msg->dump());
    outstanding.erase(it);
    return true;
  };
  for (auto& item : items) {
    while (outstanding.size() >= std::max<size_t>(1, window))
      if (!take_one())
        return failures;
    outstanding.emplace(item_key{item.kind, item.index}, &item);
    send_item(c, sid, item);
  }
  while (!outstanding.empty())
    if (!take_one())
      return failures;
  return failures;
}

std::vector<std::string> init_and_check(ws_test_client& c, const std::string& sid, bool resumed,
                                        const std::vector<test_item>& held, std::chrono::milliseconds timeout) {
  c.send_json(init_msg(sid));
  auto ack = c.wait_for(is_type("session_init_ack"), timeout);
  if (!ack)
    return {"no session_init_ack for " + sid + (c.is_closed() ? " (connection closed)" : "")};
  std::vector<uint32_t> audio, frames;
  for (auto& it : held)
    (it.kind == 'a' ? audio : frames).push_back(it.index);
  const json want_audio = to_ranges(audio), want_frames = to_ranges(frames);
  std::vector<std::string> failures;
  if (ack->value("session_id", "") != sid || ack->value("resumed", !resumed) != resumed
      || ack->value("audio_received", json()) != want_audio || ack->value("frames_received", json()) != want_frames)
    failures.push_back("session_init_ack " + ack->dump() + " expected resumed=" + (resumed ? "true" : "false")
                       + " audio_received=" + want_audio.dump() + " frames_received=" + want_frames.dump());
  return failures;
}

std::vector<std::string> end_and_check(ws_test_client& c, const std::string& sid, size_t chunks, size_t frames,
                                       std::chrono::milliseconds timeout) {
  c.send_json(end_msg(sid));
  // Not answers to session_end: a rate_limited notice (it may only be read late) and an error
  // about an earlier item (it has a ref, e.g. orphan_expired).
  auto ack = c.wait_for(
    [](const json& j) {
      auto type = j.value("type", "");
      return type == "session_end_ack" || (type == "error" && !is_rate_notice(j) && !j.contains("ref"));
    },
    timeout);
  if (!ack)
    return {"no session_end_ack for " + sid + (c.is_closed() ? " (connection closed)" : "")};
  if (ack->value("type", "") != "session_end_ack" || ack->value("session_id", "") != sid
      || ack->value("total_chunks", size_t{0}) != chunks || ack->value("total_frames", size_t{0}) != frames)
    return {"session_end_ack " + ack->dump() + " expected total_chunks=" + std::to_string(chunks)
            + " total_frames=" + std::to_string(frames)};
  return {};
}

fs::path item_file(const fs::path& media_root, const std::string& sid, const test_item& item) {
  return item.kind == 'a' ? media_root / sid / "audio" / ("chunk_" + std::to_string(item.index) + ".webm")
                          : media_root / sid / "frames" / ("frame_" + std::to_string(item.index) + ".jpg");
}

std::vector<std::string> check_files(const fs::path& media_root, const std::string& sid,
                                     const std::vector<test_item>& items) {
  std::vector<std::string> failures;
  for (auto& it : items) {
    auto p = item_file(media_root, sid, it);
    if (!fs::exists(p)) {
      failures.push_back("missing file " + p.string());
      continue;
    }
    auto bytes = read_all(p);
    if (bytes != it.payload)
      failures.push_back("file " + p.string() + " differs from what was sent (" + std::to_string(bytes.size())
                         + " bytes stored, " + std::to_string(it.payload.size()) + " sent)");
  }
  // Exactly the items and nothing else: no stray or temp files next to them.
  size_t files = 0;
  for (auto sub : {"audio", "frames"})
    if (fs::exists(media_root / sid / sub))
      files += static_cast<size_t>(std::distance(fs::directory_iterator(media_root / sid / sub), fs::directory_iterator()));
  if (files != items.size())
    failures.push_back(std::to_string(files) + " files in " + (media_root / sid).string() + ", expected "
                       + std::to_string(items.size()));
  return failures;
}

std::vector<std::string> check_rows(const pg_fixture& db, const std::string& sid, const std::vector<test_item>& items,
                                    const std::vector<uint32_t>& responses) {
  std::vector<std::string> failures;
  auto fail = [&](const std::string& what) { failures.push_back("row of " + sid + ": " + what); };
  const std::string where = " WHERE session_id = '" + sid + "'"; // a UUID: nothing to quote
  auto row = db.query("SELECT status, completed_at IS NOT NULL, total_chunks, total_frames, "
                      "jsonb_array_length(audio_chunks), jsonb_array_length(video_frames), "
                      "interview_session_id, user_id FROM media_sessions" + where);
  if (row.size() != 1)
    return {"expected one media_sessions row for " + sid + ", found " + std::to_string(row.size())};
  std::vector<test_item> audio, frames;
  for (auto& it : items)
    (it.kind == 'a' ? audio : frames).push_back(it);
  auto by_index = [](const test_item& x, const test_item& y) { return x.index < y.index; };
  std::sort(audio.begin(), audio.end(), by_index);
  std::sort(frames.begin(), frames.end(), by_index);
  auto r = row[0];
  if (r[0].as<std::string>() != "completed" || !r[1].as<bool>())
    fail("status " + r[0].as<std::string>() + ", expected completed with completed_at");
  if (r[2].as<size_t>() != audio.size() || r[4].as<size_t>() != audio.size())
    fail("total_chunks " + r[2].as<std::string>() + " and jsonb_array_length " + r[4].as<std::string>()
         + ", expected " + std::to_string(audio.size()));
  if (r[3].as<size_t>() != frames.size() || r[5].as<size_t>() != frames.size())
    fail("total_frames " + r[3].as<std::string>() + " and jsonb_array_length " + r[5].as<std::string>()
         + ", expected " + std::to_string(frames.size()));
  if (r[6].is_null() || r[6].as<int>() != 42 || r[7].is_null() || r[7].as<int>() != 7)
    fail("interview_session_id/user_id not 42/7");

  // Array elements in array order: sorted by index, one per item, with the contract's fields.
  auto elements = [&](const std::string& column, const std::string& index_field) {
    return db.query("SELECT e->>'" + index_field + "', e->>'file_path', (e->>'file_size')::bigint, "
                    "e->>'mime_type', e->>'start_timestamp', e->>'duration_ms', e->>'chunk_index' "
                    "FROM media_sessions, jsonb_array_elements(" + column + ") WITH ORDINALITY AS t(e, o)"
                    + where + " ORDER BY o");
  };
  auto check_elements = [&](const pqxx::result& rows, const std::vector<test_item>& want, bool is_audio) {
    for (size_t i = 0; i < rows.size() && i < want.size(); ++i) {
      const auto& it = want[i];
      const std::string path = sid + (is_audio ? "/audio/chunk_" : "/frames/frame_") + std::to_string(it.index)
                               + (is_audio ? ".webm" : ".jpg");
      bool ok = rows[i][0].as<uint32_t>() == it.index && rows[i][1].as<std::string>() == path
                && rows[i][2].as<size_t>() == it.payload.size()
                && rows[i][3].as<std::string>() == (is_audio ? "audio/webm" : "image/jpeg");
      if (is_audio)
        ok = ok && !rows[i][4].is_null() && rows[i][4].as<std::string>() == audio_start_stored(it.index)
             && rows[i][5].as<std::string>() == "9990";
      else
        ok = ok && !rows[i][6].is_null() && rows[i][6].as<uint32_t>() == it.index / 3;
      if (!ok)
        fail("element " + std::to_string(i) + " of " + (is_audio ? "audio_chunks" : "video_frames") + " is index "
             + rows[i][0].c_str() + " path " + rows[i][1].c_str() + " size " + rows[i][2].c_str() + ", expected "
             + key_text(it.kind, it.index) + " " + path + " " + std::to_string(it.payload.size()));
    }
  };
  auto a = elements("audio_chunks", "chunk_index");
  auto f = elements("video_frames", "frame_index");
  if (a.size() != audio.size() || f.size() != frames.size())
    fail(std::to_string(a.size()) + " audio and " + std::to_string(f.size()) + " frame elements, expected "
         + std::to_string(audio.size()) + " and " + std::to_string(frames.size()));
  check_elements(a, audio, true);
  check_elements(f, frames, false);

  // The record of truth agrees: one media_items row per item.
  auto counts = db.query("SELECT count(*) FILTER (WHERE kind = 'a'), count(*) FILTER (WHERE kind = 'f'), "
                         "count(*) FILTER (WHERE kind = 'r') FROM media_items" + where);
  if (counts[0][0].as<size_t>() != audio.size() || counts[0][1].as<size_t>() != frames.size()
      || counts[0][2].as<size_t>() != responses.size())
    fail("media_items holds " + std::string(counts[0][0].c_str()) + "/" + counts[0][1].c_str() + "/"
         + counts[0][2].c_str() + " a/f/r rows, expected " + std::to_string(audio.size()) + "/"
         + std::to_string(frames.size()) + "/" + std::to_string(responses.size()));

  auto resp = db.query("SELECT e->>'question_id' FROM media_sessions, jsonb_array_elements(responses) "
                       "WITH ORDINALITY AS t(e, o)" + where + " ORDER BY o");
  std::vector<uint32_t> want = responses, got;
  std::sort(want.begin(), want.end());
  for (auto&& rr : resp)
    got.push_back(rr[0].as<uint32_t>());
  if (got != want)
    fail("responses hold " + std::to_string(got.size()) + " question ids, not the " + std::to_string(want.size())
         + " expected ones in order");
  return failures;
}

std::vector<std::string> check_stored(const fs::path& media_root, const pg_fixture& db, const std::string& sid,
                                      const std::vector<test_item>& items, const std::vector<uint32_t>& responses) {
  auto failures = check_files(media_root, sid, items);
  append(failures, "rows", check_rows(db, sid, items, responses));
  return failures;
}

std::vector<std::string> resume_end_and_check(uint16_t port, const fs::path& media_root, const pg_fixture& db,
                                              const std::string& sid, const std::vector<test_item>& items) {
  std::vector<std::string> failures;
  {
    ws_test_client c{port};
    append(failures, "resume", init_and_check(c, sid, true, items));
    size_t chunks = 0;
    for (auto& it : items)
      chunks += it.kind == 'a';
    append(failures, "end", end_and_check(c, sid, chunks, items.size() - chunks));
    if (!c.close(1000))
      failures.push_back("the server did not complete the close handshake");
  }
  append(failures, "stored", check_stored(media_root, db, sid, items));
  return failures;
}

std::set<item_key> keys_of(const std::vector<test_item>& items) {
  std::set<item_key> out;
  for (auto& it : items)
    out.emplace(it.kind, it.index);
  return out;
}

std::set<item_key> keys_of_ack(const json& init_ack) {
  std::set<item_key> out;
  for (auto [field, kind] : {std::pair{"audio_received", 'a'}, std::pair{"frames_received", 'f'}})
    if (init_ack.contains(field) && init_ack[field].is_array())
      for (auto& range : init_ack[field]) {
        // 64-bit bounds, and a cap: a wrong range must fail the test, not loop for ever.
        const uint64_t lo = range.at(0).get<uint32_t>(), hi = range.at(1).get<uint32_t>();
        for (uint64_t i = lo; i <= hi && i < lo + 100000; ++i)
          out.emplace(kind, static_cast<uint32_t>(i));
      }
  return out;
}

std::vector<test_item> select(const std::vector<test_item>& all, const std::set<item_key>& keys) {
  std::vector<test_item> out;
  for (auto& it : all)
    if (keys.count({it.kind, it.index}))
      out.push_back(it);
  return out;
}

std::string describe(const std::vector<test_item>& items) {
  std::string out;
  for (auto& it : items)
    out += (out.empty() ? "" : " ") + key_text(it.kind, it.index);
  return out;
}

std::string join(const std::vector<std::string>& failures) {
  std::string out;
  for (auto& f : failures)
    out += f + "\n";
  return out;
}

void append(std::vector<std::string>& failures, const std::string& where, std::vector<std::string> more) {
  for (auto& m : more)
    failures.push_back(where + ": " + std::move(m));
}

std::optional<item_key> ref_of(const json& msg) {
  auto type = msg.value("type", "");
  if (type == "audio_ack")
    return item_key{'a', msg["chunk_index"].get<uint32_t>()};
  if (type == "frame_ack")
    return item_key{'f', msg["frame_index"].get<uint32_t>()};
  if (type == "error" && msg.contains("ref"))
    return item_key{msg["ref"]["kind"].get<std::string>()[0], msg["ref"]["index"].get<uint32_t>()};
  return std::nullopt;
}

outcomes send_each(ws_test_client& c, const std::string& sid, const std::vector<test_item>& items,
                   std::chrono::milliseconds each) {
  outcomes out;
  for (auto& it : items) {
    const auto t0 = std::chrono::steady_clock::now();
    send_item(c, sid, it);
    auto m = c.wait_for([&](const json& msg) { return ref_of(msg) == item_key{it.kind, it.index}; }, each);
    auto after = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    out[{it.kind, it.index}] = {!m                        ? ""
                                : (*m)["type"] == "error" ? "error:" + (*m)["code"].get<std::string>()
                                                          : "ack",
                                after};
  }
  return out;
}

std::set<item_key> resend_until_acked(ws_test_client& c, const std::string& sid, const std::vector<test_item>& items,
                                      std::set<item_key> acked, std::chrono::milliseconds deadline) {
  for (auto until = std::chrono::steady_clock::now() + deadline;;) {
    std::vector<test_item> todo;
    for (auto& it : items)
      if (!acked.count({it.kind, it.index}))
        todo.push_back(it);
    if (todo.empty() || std::chrono::steady_clock::now() >= until)
      return keys_of(todo);
    for (auto& key : acked_of(send_each(c, sid, todo)))
      acked.insert(key);
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // between rounds, bounded by the deadline
  }
}

std::set<item_key> acked_of(const outcomes& o) {
  std::set<item_key> out;
  for (auto& [k, r] : o)
    if (r.result == "ack")
      out.insert(k);
  return out;
}

size_t count_of(const outcomes& o, const std::string& result) {
  size_t n = 0;
  for (auto& [k, r] : o)
    n += r.result == result;
  return n;
}

std::vector<std::vector<std::string>> run_concurrently(
  size_t n, const std::function<std::vector<std::string>(size_t)>& session) {
  std::vector<std::vector<std::string>> failures(n);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      try {
        failures[i] = session(i);
      } catch (const std::exception& e) {
        failures[i].push_back(std::string("exception: ") + e.what());
      }
    });
  for (auto& t : threads)
    t.join();
  return failures;
}

} // namespace mediaspool::test
