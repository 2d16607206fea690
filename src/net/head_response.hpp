#pragma once
// HEAD: the headers a GET would send (Content-Length included) and no body. Beast writes a
// message's body whatever the request method was, so a HEAD answer must be a body-less message.
#include "net/http_router.hpp"

namespace mediaspool::net {

template <class Response>
http_response head_or_full(const http_request& req, Response&& res) {
  if (req.method() != http::verb::head)
    return http_response{std::forward<Response>(res)};
  string_response out{res.base()};
  return out; // Content-Length of the GET answer stays; the empty body is not re-measured
}

} // namespace mediaspool::net
