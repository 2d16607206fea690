#include "net/file_response.hpp"

#include "net/head_response.hpp"
#include "net/http_range.hpp"
#include "net/net.hpp"

namespace mediaspool::net {

namespace {

struct file_headers {
  const std::string& mime;
  std::string_view cache_control;
  std::string_view etag;
};

template <class Response>
void set_common(Response& res, const http_request& req, const file_headers& h) {
  res.set(http::field::content_type, h.mime);
  res.set(http::field::accept_ranges, "bytes");
  res.set(http::field::cache_control, std::string(h.cache_control));
  if (!h.etag.empty())
    res.set(http::field::etag, "\"" + std::string(h.etag) + "\"");
  res.keep_alive(req.keep_alive());
}

} // namespace

http_response serve_file(const http_request& req, const std::string& path, const std::string& mime,
                         std::string_view cache_control, std::string_view etag) {
  if (path.empty())
    return error_response(req, http::status::not_found, "not_found", "no such file");
  const file_headers h{mime, cache_control, etag};
  if (!etag.empty()) {
    auto inm = req[http::field::if_none_match];
    if (std::string_view(inm.data(), inm.size()).find(etag) != std::string_view::npos) {
      string_response res{http::status::not_modified, req.version()};
      res.set(http::field::etag, "\"" + std::string(etag) + "\"");
      res.set(http::field::cache_control, std::string(cache_control));
      res.keep_alive(req.keep_alive());
      return res;
    }
  }
  beast::error_code ec;
  http::file_body::value_type body;
  body.open(path.c_str(), beast::file_mode::scan, ec);
  if (ec)
    return error_response(req, http::status::not_found, "not_found", "no such file");
  const uint64_t size = body.size();
  auto range_header = req[http::field::range];
  auto range = range_header.empty() ? byte_range{}
                                    : parse_range(std::string_view(range_header.data(), range_header.size()), size);
  if (range.kind == range_kind::unsatisfiable) {
    auto res = error_response(req, http::status::range_not_satisfiable, "range_not_satisfiable",
                              "the range starts past the end of the file");
    res.set(http::field::content_range, "bytes */" + std::to_string(size));
    res.set(http::field::accept_ranges, "bytes");
    return res;
  }
  if (range.kind == range_kind::partial) {
    range_file rf;
    rf.open(path.c_str(), beast::file_mode::scan, ec);
    if (!ec)
      rf.set_window(range.first, range.length(), ec);
    http::basic_file_body<range_file>::value_type window;
    if (!ec)
      window.reset(std::move(rf), ec);
    if (ec)
      return error_response(req, http::status::internal_server_error, "internal", "cannot read the file");
    range_response res{std::piecewise_construct, std::make_tuple(std::move(window)),
                       std::make_tuple(http::status::partial_content, req.version())};
    set_common(res, req, h);
    res.set(http::field::content_range, "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last)
                                          + "/" + std::to_string(size));
    res.prepare_payload();
    return head_or_full(req, std::move(res));
  }
  file_response res{std::piecewise_construct, std::make_tuple(std::move(body)),
                    std::make_tuple(http::status::ok, req.version())};
  set_common(res, req, h);
  res.prepare_payload();
  return head_or_full(req, std::move(res));
}

} // namespace mediaspool::net
