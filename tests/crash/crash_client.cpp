#include "crash/crash_client.hpp"

#include <doctest/doctest.h>

#include <set>

namespace mediaspool::test {

namespace {

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::set<uint32_t> expand(const nlohmann::json& ranges) {
  std::set<uint32_t> out;
  for (auto& r : ranges)
    for (auto i = r[0].get<uint32_t>(); i <= r[1].get<uint32_t>(); ++i)
      out.insert(i);
  return out;
}

} // namespace

std::string crash_payload(const std::string& session_id, char kind, uint32_t index) {
  uint64_t seed = std::hash<std::string>{}(session_id) ^ (static_cast<uint64_t>(kind) << 40) ^ index;
  auto size = 300 + splitmix(seed) % 48000;
  std::string out(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    auto v = splitmix(seed);
    for (size_t k = 0; k < 8 && i + k < size; ++k)
      out[i + k] = static_cast<char>(v >> (8 * k));
  }
  return out;
}

crash_client::crash_client(std::string session_id, uint32_t audio_items, uint32_t frame_items, uint32_t window)
  : sid_(std::move(session_id)), audio_(audio_items), frames_(frame_items), window_(window) {
  for (uint32_t i = 0; i < audio_; ++i)
    items_[{'a', i}] = state::unsent;
  for (uint32_t i = 0; i < frames_; ++i)
    items_[{'f', i}] = state::unsent;
}

crash_client::state crash_client::item_state(char kind, uint32_t index) const {
  return items_.at({kind, index});
}

void crash_client::send_item(ws_test_client& c, char kind, uint32_t index) {
  auto payload = crash_payload(sid_, kind, index);
  nlohmann::json meta;
  if (kind == 'a')
    meta = {{"type", "audio_metadata"}, {"session_id", sid_}, {"chunk_index", index}, {"size", payload.size()},
            {"start_timestamp", "2025-12-17T09:21:15.134Z"}, {"duration_ms", 10000}};
  else
    meta = {{"type", "frame_metadata"}, {"session_id", sid_}, {"frame_index", index}, {"size", payload.size()},
            {"timestamp", "2025-12-17T09:21:15.134Z"}};
  // Both orders, so pairing is exercised across crashes as well.
  bool meta_first = (sent_count_++ % 3) != 0;
  if (meta_first)
    c.send_json(meta);
  c.send_blob(sid_, static_cast<item_kind>(kind), index, payload);
  if (!meta_first)
    c.send_json(meta);
  auto& st = items_[{kind, index}];
  if (st == state::unsent)
    st = state::sent;
}

void crash_client::check_ranges(const nlohmann::json& ack) {
  auto audio = expand(ack["audio_received"]);
  auto frames = expand(ack["frames_received"]);
  for (auto& [key, st] : items_) {
    auto& held = key.first == 'a' ? audio : frames;
    bool is_held = held.count(key.second) > 0;
    if (st == state::acked && !is_held)
      violations_.push_back(sid_ + ": acked item " + key.first + std::to_string(key.second) +
                            " missing from session_init_ack");
    if (st == state::unsent && is_held)
      violations_.push_back(sid_ + ": never-sent item " + key.first + std::to_string(key.second) + " reported held");
  }
}

bool crash_client::run_connection(uint16_t port, ack_counter& counter) {
  std::unique_ptr<ws_test_client> c;
  try {
    // Generous: a killed server closes the socket at once; a restarted one may be re-driving its
    // spool on a loaded machine before it answers.
    c = std::make_unique<ws_test_client>(port, std::chrono::milliseconds(10000));
  } catch (const std::exception&) {
    return false;
  }
  c->send_json({{"type", "session_init"}, {"session_id", sid_}, {"user_id", 7}, {"interview_session_id", 1}});
  auto ack = c->wait_for_type("session_init_ack", std::chrono::milliseconds(20000));
  if (!ack)
    return false;
  check_ranges(*ack);
  // Work list: everything not acked, in order; items the server reports held are resent too and
  // must come back as duplicates (that is how a browser outbox behaves after a crash).
  std::vector<std::pair<char, uint32_t>> todo;
  for (auto& [key, st] : items_)
    if (st != state::acked)
      todo.push_back(key);
  size_t next = 0, inflight = 0;
  std::set<std::pair<char, uint32_t>> outstanding;
  while (next < todo.size() || !outstanding.empty()) {
    while (next < todo.size() && inflight < window_) {
      send_item(*c, todo[next].first, todo[next].second);
      outstanding.insert(todo[next]);
      ++next;
      ++inflight;
    }
    auto msg = c->next(std::chrono::milliseconds(20000));
    if (!msg)
      return false; // connection dropped (the server was killed) or stalled
    auto type = (*msg)["type"].get<std::string>();
    if (type == "audio_ack" || type == "frame_ack") {
      char kind = type == "audio_ack" ? 'a' : 'f';
      auto index = (*msg)[kind == 'a' ? "chunk_index" : "frame_index"].get<uint32_t>();
      auto expected = crash_payload(sid_, kind, index).size();
      if ((*msg)["file_size"].get<size_t>() != expected)
        violations_.push_back(sid_ + ": ack with wrong file_size for " + kind + std::to_string(index));
      items_[{kind, index}] = state::acked;
      if (outstanding.erase({kind, index}) > 0)
        --inflight;
      counter.add();
    } else if (type == "error") {
      violations_.push_back(sid_ + ": unexpected error " + msg->dump());
    }
  }
  return true;
}

bool crash_client::end_session(uint16_t port, uint64_t& chunks, uint64_t& frames) {
  ws_test_client c{port};
  c.send_json({{"type", "session_init"}, {"session_id", sid_}});
  if (!c.wait_for_type("session_init_ack", std::chrono::milliseconds(5000)))
    return false;
  c.send_json({{"type", "session_end"}, {"session_id", sid_}});
  auto ack = c.wait_for_type("session_end_ack", std::chrono::milliseconds(20000));
  if (!ack)
    return false;
  chunks = (*ack)["total_chunks"].get<uint64_t>();
  frames = (*ack)["total_frames"].get<uint64_t>();
  c.close();
  return true;
}

} // namespace mediaspool::test
