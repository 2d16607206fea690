#include "storage/media_store.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace mediaspool::storage;
using mediaspool::test::temp_dir;
namespace fs = std::filesystem;

namespace {

const std::string sid = "0f8fad5b-d9cb-469f-a165-70867728950e";

std::string read_file(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  REQUIRE_MESSAGE(in.good(), "cannot open " << p);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void plant(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream out{p, std::ios::binary};
  out << content;
  REQUIRE(out.good());
}

std::vector<fs::path> files_under(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator{root})
    if (e.is_regular_file())
      out.push_back(e.path());
  return out;
}

size_t entries_under(const fs::path& root) {
  auto it = fs::recursive_directory_iterator{root};
  return static_cast<size_t>(std::distance(it, fs::recursive_directory_iterator{}));
}

status write(const media_store& ms, std::string_view folder, std::string_view name,
             const std::string& data) {
  return ms.write_atomic(sid, folder, name, data.data(), data.size());
}

} // namespace

TEST_SUITE("storage.media_store") {
  TEST_CASE("creates the root and writes exactly the given bytes") {
    temp_dir dir;
    media_store ms{dir / "media" / "nested"};
    CHECK(fs::is_directory(dir / "media" / "nested"));
    std::string data{"\0webm\xff\x01 data", 12};
    auto st = write(ms, "audio", "chunk_0.webm", data);
    REQUIRE_MESSAGE(st.ok(), st.message);
    auto p = ms.path_of(sid, "audio", "chunk_0.webm");
    REQUIRE(p);
    CHECK(*p == dir / "media" / "nested" / sid / "audio" / "chunk_0.webm");
    CHECK(read_file(*p) == data);
  }

  TEST_CASE("an overwrite keeps exactly the new bytes") {
    temp_dir dir;
    media_store ms{dir.path()};
    REQUIRE(write(ms, "frames", "frame_1.jpg", std::string(5000, 'x')).ok());
    REQUIRE(write(ms, "frames", "frame_1.jpg", "short").ok());
    CHECK_MESSAGE(read_file(*ms.path_of(sid, "frames", "frame_1.jpg")) == "short",
                  "no tail of the longer old file may remain");
  }

  TEST_CASE("leaves no temp file after a successful write") {
    temp_dir dir;
    media_store ms{dir.path()};
    REQUIRE(write(ms, "audio", "chunk_1.webm", "a").ok());
    REQUIRE(write(ms, "audio", "chunk_2.webm", "").ok());
    auto files = files_under(dir.path());
    CHECK(files.size() == 2);
    for (const auto& f : files)
      CHECK_MESSAGE(f.extension() != ".tmp", "left behind: " << f);
    CHECK(fs::file_size(*ms.path_of(sid, "audio", "chunk_2.webm")) == 0);
  }

  TEST_CASE("path_of rejects names that could leave the folder or are not plain") {
    temp_dir dir;
    media_store ms{dir.path()};
    std::vector<std::string> bad_names{"../x", "a/b", "", ".", "..", "/etc", "a b", "x\\y",
                                       "chunk.tmp", "na\xc3\xafve", std::string(129, 'n'),
                                       std::string("a\0b", 3)};
    for (const auto& bad : bad_names)
      CHECK_MESSAGE(!ms.path_of(sid, "audio", bad), "accepted name '" << bad << "'");
    CHECK(ms.path_of(sid, "audio", std::string(128, 'n')));
    CHECK(ms.path_of(sid, "audio", "-chunk_3.v2.webm"));
  }

  TEST_CASE("path_of accepts only the audio and frames folders") {
    temp_dir dir;
    media_store ms{dir.path()};
    CHECK(ms.path_of(sid, "audio", "a"));
    CHECK(ms.path_of(sid, "frames", "a"));
    for (const char* bad : {"", ".", "..", "Audio", "frames/..", "video"})
      CHECK_MESSAGE(!ms.path_of(sid, bad, "a"), "accepted folder '" << bad << "'");
  }

  TEST_CASE("path_of accepts upper and lower case UUIDs and nothing else") {
    temp_dir dir;
    media_store ms{dir.path()};
    CHECK(ms.path_of(sid, "audio", "a"));
    CHECK(ms.path_of("0F8FAD5B-D9CB-469F-A165-70867728950E", "audio", "a"));
    for (const char* bad : {"", "..", "0f8fad5b-d9cb-469f-a165-70867728950", // one short
                            "0f8fad5b-d9cb-469f-a165-70867728950e0",          // one long
                            "0f8fad5bd-9cb-469f-a165-70867728950e",           // dash moved
                            "0f8fad5g-d9cb-469f-a165-70867728950e",           // not hex
                            "../../../../../../../../../../../etc",
                            "0f8fad5b/d9cb-469f-a165-70867728950e"})
      CHECK_MESSAGE(!ms.path_of(bad, "audio", "a"), "accepted session id '" << bad << "'");
  }

  TEST_CASE("write_atomic with a bad name returns invalid_argument and creates nothing") {
    temp_dir dir;
    media_store ms{dir.path()};
    CHECK(write(ms, "audio", "../escape", "x").code == errc::invalid_argument);
    CHECK(ms.write_atomic("not-a-uuid", "audio", "a", "x", 1).code == errc::invalid_argument);
    CHECK(write(ms, "video", "a", "x").code == errc::invalid_argument);
    CHECK_MESSAGE(entries_under(dir.path()) == 0, "nothing may be created for a refused path");
  }

  TEST_CASE("a folder that is a regular file fails the write and leaves no file") {
    temp_dir dir;
    media_store ms{dir.path()};
    plant(dir / sid / "audio", "i am not a folder");
    auto st = write(ms, "audio", "chunk_0.webm", "payload");
    CHECK_FALSE(st.ok());
    CHECK(st.code == errc::io_error);
    CHECK_FALSE(st.message.empty());
    auto files = files_under(dir.path());
    REQUIRE_MESSAGE(files.size() == 1, "only the planted file remains");
    CHECK(read_file(dir / sid / "audio") == "i am not a folder");
    CHECK_MESSAGE(write(ms, "frames", "f.jpg", "ok").ok(), "the other folder still works");
  }

  TEST_CASE("sweep removes nested temp files and leaves the others") {
    temp_dir dir;
    media_store ms{dir.path()};
    REQUIRE(write(ms, "audio", "chunk_0.webm", "keep").ok());
    plant(dir / sid / "audio" / "chunk_1.webm.123.0.tmp", "partial");
    plant(dir / sid / "frames" / "frame_0.jpg.9.9.tmp", "partial");
    plant(dir / "loose.tmp", "partial");
    plant(dir / sid / "frames" / "notes.tmp.txt", "keep");
    fs::create_directories(dir / "dir.tmp");
    CHECK(ms.sweep_temp_files() == 3);
    CHECK(fs::exists(dir / sid / "audio" / "chunk_0.webm"));
    CHECK(fs::exists(dir / sid / "frames" / "notes.tmp.txt"));
    CHECK_MESSAGE(fs::is_directory(dir / "dir.tmp"), "only regular files are swept");
    for (const auto& f : files_under(dir.path()))
      CHECK_MESSAGE(f.extension() != ".tmp", "not swept: " << f);
    CHECK(ms.sweep_temp_files() == 0);
  }

  TEST_CASE("sweep of a missing root returns zero without throwing") {
    temp_dir dir;
    media_store ms{dir / "root"};
    fs::remove_all(dir / "root");
    CHECK(ms.sweep_temp_files() == 0);
  }
}
