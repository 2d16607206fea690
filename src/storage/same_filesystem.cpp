#include "storage/same_filesystem.hpp"

#include <system_error>

#include <sys/stat.h>

namespace mediaspool::storage {

namespace fs = std::filesystem;

namespace {

std::optional<dev_t> device_of(const fs::path& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (ec)
    return std::nullopt;
  for (;;) {
    struct stat st{};
    if (::stat(p.c_str(), &st) == 0)
      return st.st_dev;
    if (!p.has_parent_path() || p.parent_path() == p)
      return std::nullopt;
    p = p.parent_path();
  }
}

} // namespace

std::optional<bool> same_filesystem(const fs::path& a, const fs::path& b) {
  auto da = device_of(a), db = device_of(b);
  if (!da || !db)
    return std::nullopt;
  return *da == *db;
}

} // namespace mediaspool::storage
