// The web pages: GET / (the recorder), GET /review/ (the review pages), GET /debug/ (live actors)
// and their assets, served from server.web-root. Only plain file names in the known folders are served (no "..", no
// hidden files, no sub-folders), and a symlink leading out of the web root is refused.
#include "net/api.hpp"
#include "net/head_response.hpp"
#include "net/net.hpp"

#include <array>
#include <filesystem>
#include <string_view>
#include <utility>

namespace mediaspool::net {

namespace {

namespace fs = std::filesystem;

std::string_view content_type(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 10> types{{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
  }};
  for (const auto& [ext, type] : types)
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext)
      return type;
  return {};
}

bool plain_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.')
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

http_response serve(const std::string& web_root, const http_request& req, std::string_view folder,
                    const std::string& name) {
  auto type = content_type(name);
  if (!plain_name(name) || type.empty())
    return error_response(req, http::status::not_found, "not_found", "no such page");
  std::error_code fec;
  const auto root = fs::weakly_canonical(web_root, fec);
  auto path = fs::weakly_canonical(fs::path(web_root) / folder / name, fec);
  const auto rel = path.lexically_relative(root);
  if (fec || rel.empty() || *rel.begin() == ".." || !fs::is_regular_file(path, fec))
    return error_response(req, http::status::not_found, "not_found", "no such page");
  beast::error_code ec;
  http::file_body::value_type body;
  body.open(path.c_str(), beast::file_mode::scan, ec);
  if (ec)
    return error_response(req, http::status::not_found, "not_found", "no such page");
  file_response res{std::piecewise_construct, std::make_tuple(std::move(body)),
                    std::make_tuple(http::status::ok, req.version())};
  res.set(http::field::content_type, beast::string_view(type.data(), type.size()));
  // Pages change with the server version; revalidating keeps a reload current.
  res.set(http::field::cache_control, "no-cache");
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return head_or_full(req, std::move(res));
}

string_response redirect(const http_request& req, std::string location) {
  string_response res{http::status::moved_permanently, req.version()};
  res.set(http::field::location, std::move(location));
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

} // namespace

void register_static_routes(http_router& router, server_context& ctx) {
  auto folder_route = [&ctx](std::string_view folder) {
    return [&ctx, folder](const http_request& req, const route_params& p, responder respond) {
      respond(serve(ctx.web_root, req, folder, p.path.at("file")));
    };
  };
  router.add(http::verb::get, "/", [&ctx](const http_request& req, const route_params&, responder respond) {
    respond(serve(ctx.web_root, req, "", "index.html"));
  });
  router.add(http::verb::get, "/app/{file}", folder_route("app"));
  router.add(http::verb::get, "/lib/{file}", folder_route("lib"));
  // "/review" and "/debug": the folder's index.html, at a URL ending in '/' so relative links work.
  auto index_route = [&ctx](std::string folder) {
    return [&ctx, folder](const http_request& req, const route_params&, responder respond) {
      auto target = std::string_view(req.target().data(), req.target().size());
      auto path = target.substr(0, target.find('?'));
      if (path.empty() || path.back() != '/')
        return respond(redirect(req, "/" + folder + "/" + std::string(target.substr(path.size()))));
      respond(serve(ctx.web_root, req, folder, "index.html"));
    };
  };
  router.add(http::verb::get, "/review", index_route("review"));
  router.add(http::verb::get, "/review/{file}", folder_route("review"));
  router.add(http::verb::get, "/debug", index_route("debug"));
  router.add(http::verb::get, "/debug/{file}", folder_route("debug"));
}

} // namespace mediaspool::net
