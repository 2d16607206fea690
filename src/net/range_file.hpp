#pragma once
// A Beast File that exposes one byte window [first, first + length) of a file, so that
// http::basic_file_body<range_file> streams a 206 response from disk (file_body itself always
// sends the whole file: its writer sends size() bytes from the current position).
#include <boost/beast/core/file.hpp>

#include <algorithm>
#include <cstdint>

namespace mediaspool::net {

class range_file {
public:
  using native_handle_type = boost::beast::file::native_handle_type;

  range_file() = default;

  /// Restricts the open file to the window; seeks to its start.
  void set_window(uint64_t first, uint64_t length, boost::beast::error_code& ec) {
    first_ = first;
    length_ = length;
    file_.seek(first, ec);
  }

  bool is_open() const { return file_.is_open(); }
  native_handle_type native_handle() const { return file_.native_handle(); }
  void native_handle(native_handle_type fd) { file_.native_handle(fd); }
  void close(boost::beast::error_code& ec) { file_.close(ec); }
  void open(char const* path, boost::beast::file_mode mode, boost::beast::error_code& ec) {
    file_.open(path, mode, ec);
    if (!ec)
      length_ = file_.size(ec);
  }
  std::uint64_t size(boost::beast::error_code& ec) const {
    ec = {};
    return length_;
  }
  std::uint64_t pos(boost::beast::error_code& ec) const { return file_.pos(ec) - first_; }
  void seek(std::uint64_t offset, boost::beast::error_code& ec) { file_.seek(first_ + offset, ec); }
  std::size_t read(void* buffer, std::size_t n, boost::beast::error_code& ec) const {
    return file_.read(buffer, n, ec);
  }
  std::size_t write(void const* buffer, std::size_t n, boost::beast::error_code& ec) {
    return file_.write(buffer, n, ec);
  }

private:
  boost::beast::file file_;
  uint64_t first_ = 0;
  uint64_t length_ = 0;
};

} // namespace mediaspool::net
