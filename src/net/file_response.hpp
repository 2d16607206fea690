#pragma once
// A file on disk as an HTTP answer: 200 with the whole file, 206 for one satisfiable Range, 416
// past the end, 404 if it cannot be opened; HEAD gets the same headers without the body. Beast
// streams the bytes from disk (http::file_body, or a byte window for 206).
#include "net/http_router.hpp"

#include <string>
#include <string_view>

namespace mediaspool::net {

/// `path` empty = 404. `etag` (optional) is sent quoted, and an If-None-Match that names it
/// answers 304.
http_response serve_file(const http_request& req, const std::string& path, const std::string& mime,
                         std::string_view cache_control, std::string_view etag = {});

} // namespace mediaspool::net
