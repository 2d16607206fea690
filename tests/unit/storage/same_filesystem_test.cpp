#include "storage/same_filesystem.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

using mediaspool::storage::same_filesystem;
using mediaspool::test::temp_dir;

TEST_SUITE("storage.same_filesystem") {
  TEST_CASE("two folders of one filesystem are one, also before they are made") {
    temp_dir dir;
    CHECK(same_filesystem(dir / "spool", dir / "media") == true);
    CHECK(same_filesystem(dir.path(), dir / "not" / "made" / "yet") == true);
  }

  TEST_CASE("a folder on another filesystem is not the same one") {
    temp_dir dir;
    // /proc is a filesystem of its own wherever Linux runs.
    struct stat proc{}, here{};
    REQUIRE(::stat("/proc", &proc) == 0);
    REQUIRE(::stat(dir.path().c_str(), &here) == 0);
    REQUIRE(proc.st_dev != here.st_dev);
    CHECK(same_filesystem(dir / "spool", "/proc") == false);
    CHECK(same_filesystem("/proc/self", dir.path()) == false);
  }
}
