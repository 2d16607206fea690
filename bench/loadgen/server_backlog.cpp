#include "loadgen/server_backlog.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>

namespace loadgen {

namespace asio = boost::asio;

std::optional<double> metric_value(const std::string& body, const std::string& name) {
  for (size_t at = 0; at < body.size();) {
    size_t end = body.find('\n', at);
    if (end == std::string::npos)
      end = body.size();
    // A sample line without labels: the name, one space, the value.
    if (end - at > name.size() + 1 && body.compare(at, name.size(), name) == 0 && body[at + name.size()] == ' ') {
      std::string value = body.substr(at + name.size() + 1, end - at - name.size() - 1);
      char* used = nullptr;
      double v = std::strtod(value.c_str(), &used);
      if (used != value.c_str())
        return v;
    }
    at = end + 1;
  }
  return std::nullopt;
}

std::optional<double> items_pending(const std::string& host, const std::string& port,
                                    std::chrono::milliseconds timeout) {
  // HTTP/1.0 and read to EOF: one plain request, so Beast stays in connection.cpp alone.
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  std::string request = "GET /metrics HTTP/1.0\r\nHost: " + host + ":" + port + "\r\nConnection: close\r\n\r\n";
  std::string response;
  bool failed = false;
  asio::ip::tcp::resolver resolver(ioc);
  asio::async_connect(socket, resolver.resolve(host, port), [&](boost::system::error_code connect_ec, const auto&) {
    if (connect_ec)
      return void(failed = true);
    asio::async_write(socket, asio::buffer(request), [&](boost::system::error_code write_ec, size_t) {
      if (write_ec)
        return void(failed = true);
      asio::async_read(socket, asio::dynamic_buffer(response), [&](boost::system::error_code read_ec, size_t) {
        failed = read_ec && read_ec != asio::error::eof;
      });
    });
  });
  ioc.run_for(timeout);
  bool ok = response.compare(0, 12, "HTTP/1.1 200") == 0 || response.compare(0, 12, "HTTP/1.0 200") == 0;
  if (failed || !ioc.stopped() || !ok)
    return std::nullopt;
  return metric_value(response, "mediaspool_items_pending");
}

} // namespace loadgen
