#include "sink_session.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

namespace sink {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using json = nlohmann::json;

constexpr size_t header_size = 41;
constexpr uint64_t none = UINT64_MAX;

std::string now_iso() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

class session : public std::enable_shared_from_this<session> {
public:
  session(asio::ip::tcp::socket&& s, const sink_limits& limits, sink_stats& stats)
    : ws_(std::move(s)), limits_(limits), stats_(stats) {
    stats_.connections++;
    stats_.open_connections++;
  }
  ~session() { stats_.open_connections--; }

  void run() {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    websocket::permessage_deflate pmd;
    pmd.server_enable = false;
    ws_.set_option(pmd);
    ws_.read_message_max(limits_.read_message_max);
    ws_.auto_fragment(false);
    ws_.async_accept([self = shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->do_read();
    });
  }

private:
  void do_read() {
    ws_.async_read_some(buf_, limits_.read_slice,
                        [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  // Slices of one message arrive in order; the header of a binary message is kept, the rest of
  // its payload is only counted.
  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return;
    if (!in_message_) {
      in_message_ = true;
      is_text_ = ws_.got_text();
      head_len_ = 0;
      length_ = 0;
      text_.clear();
    }
    auto data = static_cast<const char*>(buf_.data().data());
    size_t n = buf_.size();
    if (is_text_) {
      if (text_.size() + n <= limits_.max_text)
        text_.append(data, n);
      length_ += n;
    } else {
      size_t take = std::min(n, header_size - head_len_);
      std::copy_n(data, take, head_.data() + head_len_);
      head_len_ += take;
      length_ += n;
    }
    buf_.consume(n);
    if (ws_.is_message_done()) {
      in_message_ = false;
      if (is_text_)
        on_text();
      else
        on_blob();
      // An idle connection should not pin a slice-sized buffer (10,000 sessions x 64 KiB);
      // one malloc per message is cheap next to copying and unmasking the payload.
      if (buf_.capacity() > 4096)
        buf_.shrink_to_fit();
    }
    do_read();
  }

  void on_text() {
    if (length_ > limits_.max_text)
      return error("too_large", "text message too large");
    json j = json::parse(text_, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return error("bad_json", "text frame is not a JSON object");
    auto type = j.value("type", std::string());
    try {
      if (type == "session_init") {
        sid_ = j.value("session_id", std::string());
        send("{\"type\":\"session_init_ack\",\"session_id\":\"" + sid_ +
             "\",\"resumed\":false,\"audio_received\":[],\"frames_received\":[],\"server_time\":\"" + now_iso() + "\"}");
      } else if (type == "audio_metadata") {
        half('a', j.at("chunk_index").get<uint32_t>(), j.at("size").get<uint64_t>(), none);
      } else if (type == "frame_metadata") {
        half('f', j.at("frame_index").get<uint32_t>(), j.at("size").get<uint64_t>(), none);
      } else if (type == "session_end") {
        char buf[200];
        std::snprintf(buf, sizeof buf,
                      "{\"type\":\"session_end_ack\",\"session_id\":\"%s\",\"total_chunks\":%llu,\"total_frames\":%llu}",
                      sid_.c_str(), static_cast<unsigned long long>(chunks_), static_cast<unsigned long long>(frames_));
        send(buf);
      } else if (type == "response_metadata") {
        send("{\"type\":\"response_ack\",\"session_id\":\"" + sid_ + "\",\"question_id\":" +
             std::to_string(j.value("question_id", 0u)) + "}");
      } else {
        error("bad_message", "unknown message type");
      }
    } catch (const json::exception&) {
      error("bad_message", "a required field is missing or has the wrong type");
    }
  }

  void on_blob() {
    if (head_len_ < header_size || (head_[36] != 'a' && head_[36] != 'f'))
      return error("bad_message", "binary frame without a valid 41-byte header");
    auto u = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(head_[37 + i])); };
    uint32_t index = u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
    half(head_[36], index, none, length_ - header_size);
  }

  // Records one half of a pair; the second half completes it and is acked at once.
  void half(char kind, uint32_t index, uint64_t meta_size, uint64_t blob_size) {
    auto key = uint64_t{kind == 'a'} << 32 | index;
    auto& h = unpaired_[key];
    if (meta_size != none)
      h.meta = meta_size;
    if (blob_size != none)
      h.blob = blob_size;
    if (h.meta == none || h.blob == none)
      return;
    uint64_t size = h.blob;
    bool match = h.meta == h.blob;
    unpaired_.erase(key);
    if (!match)
      return error("size_mismatch", "size differs from the payload length", kind, index);
    (kind == 'a' ? chunks_ : frames_)++;
    stats_.items.fetch_add(1, std::memory_order_relaxed);
    stats_.payload_bytes.fetch_add(size, std::memory_order_relaxed);
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "{\"type\":\"%s\",\"session_id\":\"%s\",\"%s\":%u,\"file_size\":%llu,\"duplicate\":false}",
                  kind == 'a' ? "audio_ack" : "frame_ack", sid_.c_str(), kind == 'a' ? "chunk_index" : "frame_index",
                  index, static_cast<unsigned long long>(size));
    send(buf);
  }

  void error(const char* code, const char* message, char kind = 0, uint32_t index = 0) {
    stats_.errors.fetch_add(1, std::memory_order_relaxed);
    std::string s = std::string("{\"type\":\"error\",\"code\":\"") + code + "\",\"message\":\"" + message + "\"";
    if (kind)
      s += std::string(",\"ref\":{\"kind\":\"") + kind + "\",\"index\":" + std::to_string(index) + "}";
    send(s + "}");
  }

  void send(std::string text) {
    writes_.push_back(std::move(text));
    if (writes_.size() == 1)
      do_write();
  }

  void do_write() {
    ws_.text(true);
    ws_.async_write(asio::buffer(writes_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      self->writes_.pop_front();
      if (!self->writes_.empty())
        self->do_write();
    });
  }

  struct halves {
    uint64_t meta = none;
    uint64_t blob = none;
  };

  websocket::stream<beast::tcp_stream> ws_;
  const sink_limits& limits_;
  sink_stats& stats_;
  beast::flat_buffer buf_;
  bool in_message_ = false;
  bool is_text_ = false;
  std::string text_;
  std::array<char, header_size> head_{};
  size_t head_len_ = 0;
  uint64_t length_ = 0;
  std::string sid_;
  std::unordered_map<uint64_t, halves> unpaired_;
  uint64_t chunks_ = 0;
  uint64_t frames_ = 0;
  std::deque<std::string> writes_;
};

} // namespace

void start_session(asio::ip::tcp::socket socket, const sink_limits& limits, sink_stats& stats) {
  beast::error_code ec;
  // Without TCP_NODELAY every small ack waits ~40 ms for Nagle + delayed ACK (STACK.md).
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  std::make_shared<session>(std::move(socket), limits, stats)->run();
}

} // namespace sink
