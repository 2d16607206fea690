#include "storage/errc.hpp"

#include <cerrno>
#include <cstring>

namespace mediaspool::storage {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::io_error: return "io_error";
    case errc::no_space: return "no_space";
    case errc::over_budget: return "over_budget";
    case errc::corruption: return "corruption";
    case errc::invalid_argument: return "invalid_argument";
    case errc::db_unavailable: return "db_unavailable";
    case errc::db_error: return "db_error";
    case errc::db_rejected: return "db_rejected";
  }
  return "io_error";
}

status errno_status(int err, const std::string& what) {
  return {err == ENOSPC ? errc::no_space : errc::io_error, what + ": " + std::strerror(err)};
}

} // namespace mediaspool::storage
