#pragma once
// A fresh folder under /tmp for one test, removed with everything in it on destruction, so
// tests with real RocksDB and real files never see each other's data.
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace mediaspool::test {

/// RAII owner of a folder made by mkdtemp.
class temp_dir {
public:
  temp_dir() {
    std::string pattern = "/tmp/mediaspool-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }

  ~temp_dir() {
    std::error_code ec; // a destructor must not throw; a leftover in /tmp is harmless
    std::filesystem::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

  /// A path inside the folder (not created).
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

} // namespace mediaspool::test
