#include "storage/errc.hpp"

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
  }
  return "io_error";
}

} // namespace mediaspool::storage
