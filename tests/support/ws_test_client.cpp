#include "support/ws_test_client.hpp"

#include "net/codec.hpp"

#include <fcntl.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace mediaspool::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct ws_test_client::impl {
  // -- io thread only ---------------------------------------------------------------
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer rbuf;
  struct pending_write {
    bool binary = false;
    std::string bytes;
    std::optional<bool> fin; ///< set: one frame of a fragmented binary message (fin: its last)
  };
  std::deque<pending_write> writes; ///< front is in flight
  std::optional<uint16_t> close_after_writes;
  bool ended = false; ///< io-thread copy of `closed`, read without the lock

  // -- shared with the test thread, under `mu` ----------------------------------------
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<json> inbox;
  bool connect_done = false;
  std::string connect_error;
  bool closed = false;
  uint16_t close_code = 0;
  std::string error;
  size_t writes_pending = 0; ///< posted or queued sends not yet written or failed

  std::thread thread; // last: started after everything above exists

  impl() : thread([this] { ioc.run(); }) {}

  ~impl() {
    // Handlers capture `this`: drop the socket so every pending operation completes, let the
    // io_context run out of work, and join before any member is destroyed.
    asio::post(ioc, [this] {
      beast::error_code ignored;
      beast::get_lowest_layer(ws).socket().close(ignored);
    });
    guard.reset();
    thread.join();
  }

  void connect(uint16_t port, std::chrono::milliseconds timeout, const std::string& target) {
    auto& tcp_layer = beast::get_lowest_layer(ws);
    // Opened here to be close-on-exec (Asio's own open is not): a process the test starts while
    // this client is connected (pg_ctl starting PostgreSQL, a server restart) would otherwise
    // hold the socket, and closing the client would then not close the connection.
    beast::error_code open_ec;
    tcp_layer.socket().open(tcp::v4(), open_ec);
    if (!open_ec)
      ::fcntl(tcp_layer.socket().native_handle(), F_SETFD, FD_CLOEXEC);
    tcp_layer.expires_after(timeout);
    tcp_layer.async_connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port},
                            [this, port, timeout, target](beast::error_code ec) {
                              if (ec)
                                return connected(ec);
                              auto& s = beast::get_lowest_layer(ws);
                              s.socket().set_option(tcp::no_delay(true));
                              // The websocket's own timeouts replace the tcp_stream's from here.
                              s.expires_never();
                              websocket::stream_base::timeout t;
                              t.handshake_timeout = timeout;
                              t.idle_timeout = websocket::stream_base::none();
                              t.keep_alive_pings = false;
                              ws.set_option(t);
                              websocket::permessage_deflate pmd;
                              pmd.client_enable = false; // media does not compress (as the server)
                              ws.set_option(pmd);
                              ws.auto_fragment(false);
                              ws.async_handshake("127.0.0.1:" + std::to_string(port), target,
                                                 [this](beast::error_code e) { connected(e); });
                            });
  }

  void connected(beast::error_code ec) {
    {
      std::lock_guard lk{mu};
      connect_done = true;
      if (ec) {
        connect_error = ec.message();
        closed = true;
      }
    }
    cv.notify_all();
    if (ec)
      ended = true;
    else
      do_read();
  }

  void do_read() {
    ws.async_read(rbuf, [this](beast::error_code ec, size_t) { on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      ended = true;
      {
        std::lock_guard lk{mu};
        closed = true;
        // A close frame that arrived counts even if the handshake after it failed: Boost 1.74's
        // async_teardown closes the server's socket after one read, so when the client was still
        // sending, its close reply meets a reset (EPIPE) although the server's code did arrive.
        close_code = static_cast<uint16_t>(ws.reason().code);
        if (ec != websocket::error::closed && error.empty() && ec != asio::error::operation_aborted)
          error = "read: " + ec.message();
      }
      cv.notify_all();
      return;
    }
    json msg;
    if (ws.got_text()) {
      auto text = beast::buffers_to_string(rbuf.data());
      msg = json::parse(text, nullptr, false);
      if (msg.is_discarded())
        msg = json{{"type", "<not json>"}, {"raw", text}};
    } else {
      msg = json{{"type", "<binary>"}, {"size", rbuf.size()}};
    }
    rbuf.consume(rbuf.size());
    {
      std::lock_guard lk{mu};
      inbox.push_back(std::move(msg));
    }
    cv.notify_all();
    do_read();
  }

  void enqueue(bool binary, std::string bytes, std::optional<bool> fin) {
    if (ended || close_after_writes) {
      finish_writes(1, "write after close");
      return;
    }
    writes.push_back({binary, std::move(bytes), fin});
    if (writes.size() == 1)
      do_write();
  }

  void do_write() {
    auto& w = writes.front();
    ws.binary(w.binary);
    if (w.fin)
      return ws.async_write_some(*w.fin, asio::buffer(w.bytes), [this](beast::error_code ec, size_t) { on_write(ec); });
    ws.async_write(asio::buffer(w.bytes), [this](beast::error_code ec, size_t) { on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writes.pop_front();
    if (ec) {
      // The server may close while a write is in flight (1009, 1008): the rest cannot go out.
      size_t dropped = 1 + writes.size();
      writes.clear();
      finish_writes(dropped, "write: " + ec.message());
      return;
    }
    finish_writes(1, {});
    if (!writes.empty())
      return do_write();
    if (close_after_writes)
      do_close();
  }

  void finish_writes(size_t n, const std::string& err) {
    {
      std::lock_guard lk{mu};
      writes_pending -= std::min(writes_pending, n);
      if (!err.empty() && error.empty() && !closed)
        error = err;
    }
    cv.notify_all();
  }

  void request_close(uint16_t code) {
    if (ended || close_after_writes)
      return;
    close_after_writes = code;
    if (writes.empty())
      do_close();
  }

  void do_close() {
    ws.async_close(websocket::close_reason{*close_after_writes}, [this](beast::error_code ec) {
      // The pending read normally ends with `closed` and records the server's code; this
      // covers a close that ends without that read.
      ended = true;
      {
        std::lock_guard lk{mu};
        if (!closed) {
          closed = true;
          close_code = static_cast<uint16_t>(ws.reason().code);
          if (ec && error.empty())
            error = "close: " + ec.message();
        }
      }
      cv.notify_all();
    });
  }

  void post_send(bool binary, std::string bytes, std::optional<bool> fin = std::nullopt) {
    {
      std::lock_guard lk{mu};
      ++writes_pending;
    }
    asio::post(ioc, [this, binary, fin, b = std::move(bytes)]() mutable { enqueue(binary, std::move(b), fin); });
  }
};

ws_test_client::ws_test_client(uint16_t port, std::chrono::milliseconds timeout, const std::string& target)
  : impl_(std::make_unique<impl>()) {
  asio::post(impl_->ioc, [this, port, timeout, target] { impl_->connect(port, timeout, target); });
  std::unique_lock lk{impl_->mu};
  // The tcp_stream and handshake timeouts end the attempt; the extra second is for the wakeup.
  if (!impl_->cv.wait_for(lk, timeout + 1s, [this] { return impl_->connect_done; }))
    throw std::runtime_error("ws_test_client: no connection to port " + std::to_string(port) + " in time");
  if (!impl_->connect_error.empty())
    throw std::runtime_error("ws_test_client: cannot connect to port " + std::to_string(port) + ": "
                             + impl_->connect_error);
}

ws_test_client::~ws_test_client() = default;

void ws_test_client::send_text(std::string text) {
  impl_->post_send(false, std::move(text));
}

void ws_test_client::send_binary(std::string bytes) {
  impl_->post_send(true, std::move(bytes));
}

void ws_test_client::send_binary_fragment(std::string bytes, bool last) {
  impl_->post_send(true, std::move(bytes), last);
}

void ws_test_client::send_text_fragment(std::string bytes, bool last) {
  impl_->post_send(false, std::move(bytes), last);
}

void ws_test_client::send_blob(const std::string& session_id, item_kind kind, uint32_t index,
                               const std::string& payload) {
  send_binary(net::make_blob_header(session_id, kind, index) + payload);
}

bool ws_test_client::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lk{impl_->mu};
  return impl_->cv.wait_for(lk, timeout, [this] { return impl_->writes_pending == 0; });
}

std::optional<ws_test_client::json> ws_test_client::next(std::chrono::milliseconds timeout) {
  return wait_for([](const json&) { return true; }, timeout);
}

std::optional<ws_test_client::json> ws_test_client::wait_for(const predicate& pred,
                                                             std::chrono::milliseconds timeout) {
  std::unique_lock lk{impl_->mu};
  auto& inbox = impl_->inbox;
  size_t scanned = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; scanned < inbox.size(); ++scanned) {
      if (pred(inbox[scanned])) {
        json found = std::move(inbox[scanned]);
        inbox.erase(inbox.begin() + static_cast<std::ptrdiff_t>(scanned));
        return found;
      }
    }
    if (impl_->closed)
      return std::nullopt;
    if (!impl_->cv.wait_until(lk, deadline, [&] { return inbox.size() > scanned || impl_->closed; }))
      return std::nullopt;
  }
}

std::optional<ws_test_client::json> ws_test_client::wait_for_type(const std::string& type,
                                                                  std::chrono::milliseconds timeout) {
  return wait_for(is_type(type), timeout);
}

std::vector<ws_test_client::json> ws_test_client::drain() {
  std::lock_guard lk{impl_->mu};
  std::vector<json> out(std::make_move_iterator(impl_->inbox.begin()),
                        std::make_move_iterator(impl_->inbox.end()));
  impl_->inbox.clear();
  return out;
}

bool ws_test_client::close(uint16_t code, std::chrono::milliseconds timeout) {
  asio::post(impl_->ioc, [this, code] { impl_->request_close(code); });
  return wait_closed(timeout).has_value();
}

void ws_test_client::abort() {
  asio::post(impl_->ioc, [this] {
    beast::error_code ignored;
    beast::get_lowest_layer(impl_->ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(impl_->ws).socket().close(ignored);
  });
  wait_closed(5s);
}

std::optional<uint16_t> ws_test_client::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lk{impl_->mu};
  if (!impl_->cv.wait_for(lk, timeout, [this] { return impl_->closed; }))
    return std::nullopt;
  return impl_->close_code;
}

bool ws_test_client::is_closed() const {
  std::lock_guard lk{impl_->mu};
  return impl_->closed;
}

std::string ws_test_client::last_error() const {
  std::lock_guard lk{impl_->mu};
  return impl_->error;
}

ws_test_client::predicate is_item_ack(char kind, uint32_t index) {
  const bool audio = kind == 'a';
  return [audio, index](const ws_test_client::json& j) {
    const char* field = audio ? "chunk_index" : "frame_index";
    return j.value("type", "") == (audio ? "audio_ack" : "frame_ack") && j.contains(field)
           && j[field] == index;
  };
}

ws_test_client::predicate is_type(const std::string& type, const std::string& code) {
  return [type, code](const ws_test_client::json& j) {
    return j.value("type", "") == type && (code.empty() || j.value("code", "") == code);
  };
}

} // namespace mediaspool::test
