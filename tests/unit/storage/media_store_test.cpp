#include "storage/media_store.hpp"
#include "storage/media_file_ops.hpp"

#include "faults/faults.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mediaspool::storage;
using mediaspool::test::temp_dir;
namespace fs = std::filesystem;

namespace {

const std::string sid = "0f8fad5b-d9cb-469f-a165-70867728950e";
const std::string other_sid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

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

// One entry of a batch; `data` must outlive the write_batch call.
media_write entry(std::string_view session_id, std::string_view folder, std::string_view name,
                  const std::string& data) {
  return media_write{session_id, folder, name, data.data(), data.size()};
}

// How many of a file's pages are in the page cache (mincore does not fault them in).
size_t resident_pages(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE_MESSAGE(fd >= 0, "cannot open " << p);
  struct stat st{};
  REQUIRE(::fstat(fd, &st) == 0);
  const auto size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  REQUIRE(map != MAP_FAILED);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((size + page - 1) / page);
  const int rc = ::mincore(map, size, in_core.data());
  ::munmap(map, size);
  REQUIRE(rc == 0);
  size_t n = 0;
  for (unsigned char c : in_core)
    n += c & 1U;
  return n;
}

void check_no_temp_files(const fs::path& root) {
  for (const auto& f : files_under(root))
    CHECK_MESSAGE(f.extension() != ".tmp", "left behind: " << f);
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

  TEST_CASE("path_of accepts only the audio, frames and cache folders") {
    temp_dir dir;
    media_store ms{dir.path()};
    CHECK(ms.path_of(sid, "audio", "a"));
    CHECK(ms.path_of(sid, "frames", "a"));
    CHECK(ms.path_of(sid, "cache", "recording.webm"));
    for (const char* bad : {"", ".", "..", "Audio", "frames/..", "video", "cache/..", "Cache"})
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

  TEST_CASE("sweep removes the old temp files of the listed sessions only, and leaves the rest") {
    temp_dir dir;
    media_store ms{dir.path()};
    REQUIRE(write(ms, "audio", "chunk_0.webm", "keep").ok());
    plant(dir / sid / "audio" / "chunk_1.webm.123.0.tmp", "partial");
    plant(dir / sid / "frames" / "frame_0.jpg.9.9.tmp", "partial");
    plant(dir / sid / "frames" / "notes.tmp.txt", "keep");
    fs::create_directories(dir / sid / "frames" / "dir.tmp");
    plant(dir / other_sid / "audio" / "chunk_0.webm.5.5.tmp", "another session's, not in the spool");
    plant(dir / "loose.tmp", "not a session folder");
    const auto cutoff = fs::file_time_type::clock::now() + std::chrono::seconds(1);
    CHECK(ms.sweep_temp_files({sid}, cutoff) == 2);
    CHECK(fs::exists(dir / sid / "audio" / "chunk_0.webm"));
    CHECK(fs::exists(dir / sid / "frames" / "notes.tmp.txt"));
    CHECK_MESSAGE(fs::is_directory(dir / sid / "frames" / "dir.tmp"), "only regular files are swept");
    CHECK_MESSAGE(fs::exists(dir / other_sid / "audio" / "chunk_0.webm.5.5.tmp"), "only the listed sessions' folders are read");
    CHECK(fs::exists(dir / "loose.tmp"));
    CHECK(ms.sweep_temp_files({sid}, cutoff) == 0);
  }

  TEST_CASE("sweep leaves temp files written since the cut-off (a write in flight, here or on another node)") {
    temp_dir dir;
    media_store ms{dir.path()};
    plant(dir / sid / "audio" / "chunk_1.webm.123.0.tmp", "old");
    fs::last_write_time(dir / sid / "audio" / "chunk_1.webm.123.0.tmp",
                        fs::file_time_type::clock::now() - std::chrono::minutes(5));
    const auto cutoff = fs::file_time_type::clock::now() - std::chrono::minutes(1);
    plant(dir / sid / "audio" / "chunk_2.webm.124.0.tmp", "in flight");
    CHECK(ms.sweep_temp_files({sid}, cutoff) == 1);
    CHECK_FALSE(fs::exists(dir / sid / "audio" / "chunk_1.webm.123.0.tmp"));
    CHECK(fs::exists(dir / sid / "audio" / "chunk_2.webm.124.0.tmp"));
  }

  TEST_CASE("sweep stops when told, and skips missing folders and ids that are not UUIDs") {
    temp_dir dir;
    media_store ms{dir / "root"};
    plant(dir / "root" / sid / "audio" / "a.tmp", "x");
    const auto cutoff = fs::file_time_type::clock::now() + std::chrono::seconds(1);
    std::atomic<bool> stop{true};
    CHECK(ms.sweep_temp_files({sid}, cutoff, &stop) == 0);
    CHECK(ms.sweep_temp_files({"../..", other_sid}, cutoff) == 0);
    fs::remove_all(dir / "root");
    CHECK(ms.sweep_temp_files({sid}, cutoff) == 0);
  }

  TEST_CASE("write_batch writes files of two sessions in one batch with exactly their bytes") {
    temp_dir dir;
    media_store ms{dir / "media"};
    const std::string a0{"\0webm\xff\x01 a0", 10};
    const std::string a1(70000, '\x7f');
    const std::string f0{"jpeg\0\0\xd9", 7};
    const std::string empty;
    const std::string b0 = "other session";
    std::vector<media_write> batch{entry(sid, "audio", "chunk_0.webm", a0), entry(sid, "audio", "chunk_1.webm", a1),
                                   entry(sid, "frames", "frame_0.jpg", f0), entry(sid, "frames", "frame_1.jpg", empty),
                                   entry(other_sid, "audio", "chunk_0.webm", b0)};
    auto results = ms.write_batch(batch);
    REQUIRE(results.size() == batch.size());
    for (size_t i = 0; i < results.size(); ++i)
      CHECK_MESSAGE(results[i].ok(), "entry " << i << ": " << results[i].message);
    CHECK(read_file(*ms.path_of(sid, "audio", "chunk_0.webm")) == a0);
    CHECK(read_file(*ms.path_of(sid, "audio", "chunk_1.webm")) == a1);
    CHECK(read_file(*ms.path_of(sid, "frames", "frame_0.jpg")) == f0);
    CHECK(read_file(*ms.path_of(sid, "frames", "frame_1.jpg")).empty());
    CHECK_MESSAGE(read_file(*ms.path_of(other_sid, "audio", "chunk_0.webm")) == b0,
                  "same name in another session is another file");
    CHECK_MESSAGE(files_under(dir.path()).size() == batch.size(), "exactly one file per entry");
    check_no_temp_files(dir.path());
  }

  TEST_CASE("write_batch creates folders only when they are missing, also after someone removed them") {
    // Files go straight into their folder; only a missing folder (ENOENT) makes the store create
    // it and write again, so a folder removed between batches comes back.
    temp_dir dir;
    media_store ms{dir / "media"};
    const std::string a = "first", b = "second", c = "third";
    auto first = ms.write_batch({entry(sid, "audio", "chunk_0.webm", a)});
    REQUIRE_MESSAGE(first[0].ok(), first[0].message);
    auto second = ms.write_batch({entry(sid, "audio", "chunk_1.webm", b), entry(sid, "frames", "frame_0.jpg", c)});
    for (auto& r : second)
      CHECK_MESSAGE(r.ok(), r.message);
    std::filesystem::remove_all(dir / "media" / sid);
    auto third = ms.write_batch({entry(sid, "frames", "frame_1.jpg", c), entry(sid, "audio", "chunk_2.webm", a)});
    for (auto& r : third)
      CHECK_MESSAGE(r.ok(), r.message);
    CHECK(read_file(*ms.path_of(sid, "frames", "frame_1.jpg")) == c);
    CHECK(read_file(*ms.path_of(sid, "audio", "chunk_2.webm")) == a);
    CHECK(files_under(dir.path()).size() == 2);
    check_no_temp_files(dir.path());
  }

  TEST_CASE("write_batch leaves the files it wrote out of the page cache") {
    // Media is cold once durable: its pages are dropped so the next batch reuses them.
    temp_dir dir;
    media_store ms{dir / "media"};
    const std::string a(256 * 1024, '\x5a');
    auto results = ms.write_batch({entry(sid, "audio", "chunk_0.webm", a)});
    REQUIRE_MESSAGE(results[0].ok(), results[0].message);
    auto path = *ms.path_of(sid, "audio", "chunk_0.webm");
    CHECK_MESSAGE(resident_pages(path) == 0, "pages of " << path << " still cached");
    CHECK(read_file(path) == a);
    CHECK_MESSAGE(resident_pages(path) > 0, "reading it brings it back (the check can see cached pages)");
  }

  TEST_CASE("write_batch of no files returns no results and creates nothing") {
    temp_dir dir;
    media_store ms{dir.path()};
    CHECK(ms.write_batch({}).empty());
    CHECK(entries_under(dir.path()) == 0);
  }

  TEST_CASE("write_batch refuses bad entries with invalid_argument and writes the others") {
    temp_dir dir;
    media_store ms{dir.path()};
    const std::string good = "good bytes";
    const std::string bad = "never written";
    std::vector<media_write> batch{entry(sid, "audio", "chunk_0.webm", good),
                                   entry(sid, "audio", "../escape", bad),
                                   entry("not-a-uuid", "audio", "chunk_1.webm", bad),
                                   entry(sid, "video", "chunk_2.webm", bad),
                                   media_write{sid, "audio", "chunk_3.webm", nullptr, 5},
                                   entry(other_sid, "frames", "frame_0.jpg", good)};
    auto results = ms.write_batch(batch);
    REQUIRE(results.size() == batch.size());
    CHECK_MESSAGE(results[0].ok(), results[0].message);
    for (size_t i = 1; i <= 4; ++i) {
      CAPTURE(i);
      CHECK(results[i].code == errc::invalid_argument);
      CHECK_FALSE(results[i].message.empty());
    }
    CHECK_MESSAGE(results[5].ok(), results[5].message);
    CHECK(read_file(*ms.path_of(sid, "audio", "chunk_0.webm")) == good);
    CHECK(read_file(*ms.path_of(other_sid, "frames", "frame_0.jpg")) == good);
    CHECK_MESSAGE(files_under(dir.path()).size() == 2, "nothing may be written for a refused entry");
    CHECK_FALSE(fs::exists(dir.path() / sid / "escape"));
    CHECK_FALSE(fs::exists(dir.path() / sid / "video"));
    CHECK_FALSE(fs::exists(dir.path() / "not-a-uuid"));
  }

  TEST_CASE("write_batch larger than the unnamed-file limit writes every file, in parts of 256 with their own syncs") {
    // 600 entries, a third of them replacing files written before (a replay): parts of 256, 256
    // and 88 files, each written unnamed (O_TMPFILE) and made durable by its own two syncfs
    // calls. The 3rd sync (the 2nd part's data) fails: exactly that part's files fail, the
    // others are stored. (One batch of 600 would sync twice and never fail.)
    temp_dir dir;
    media_store ms{dir.path()};
    for (int i = 0; i < 600; i += 3)
      REQUIRE(write(ms, "frames", "frame_" + std::to_string(i) + ".jpg", "old bytes, longer than the new ones").ok());
    std::vector<std::string> names, data;
    for (int i = 0; i < 600; ++i) {
      names.push_back("frame_" + std::to_string(i) + ".jpg");
      data.push_back("frame " + std::to_string(i));
    }
    std::vector<media_write> batch;
    for (int i = 0; i < 600; ++i)
      batch.push_back(entry(sid, "frames", names[i], data[i]));
    mediaspool::faults::arm_io_faults({mediaspool::faults::io_fault{mediaspool::faults::io_scope::media, mediaspool::faults::io_op::sync, 3}});
    auto results = ms.write_batch(batch);
    mediaspool::faults::arm_io_faults({});
    REQUIRE(results.size() == batch.size());
    for (int i = 0; i < 600; ++i) {
      CAPTURE(i);
      const bool in_failed_part = i >= 256 && i < 512;
      CHECK(results[i].ok() == !in_failed_part);
      auto path = *ms.path_of(sid, "frames", names[i]);
      if (!in_failed_part)
        CHECK(read_file(path) == data[i]);
      else if (i % 3 == 0)
        CHECK(read_file(path) == "old bytes, longer than the new ones"); // the earlier version stays
      else
        CHECK_FALSE(fs::exists(path));
    }
    CHECK(files_under(dir.path()).size() == 600 - 256 + 85); // 85 older files in the failed part
    check_no_temp_files(dir.path());
  }

  TEST_CASE("write_batch overwrites an existing file with exactly the new bytes") {
    temp_dir dir;
    media_store ms{dir.path()};
    REQUIRE(write(ms, "frames", "frame_1.jpg", std::string(5000, 'x')).ok());
    const std::string fresh = "short";
    const std::string next = "next";
    auto results = ms.write_batch({entry(sid, "frames", "frame_1.jpg", fresh), entry(sid, "frames", "frame_2.jpg", next)});
    REQUIRE(results.size() == 2);
    CHECK_MESSAGE(results[0].ok(), results[0].message);
    CHECK_MESSAGE(results[1].ok(), results[1].message);
    CHECK_MESSAGE(read_file(*ms.path_of(sid, "frames", "frame_1.jpg")) == fresh,
                  "no tail of the longer old file may remain");
    CHECK(read_file(*ms.path_of(sid, "frames", "frame_2.jpg")) == next);
    CHECK(files_under(dir.path()).size() == 2);
    check_no_temp_files(dir.path());
  }

  TEST_CASE("write_batch fails only the entry whose folder is a regular file") {
    temp_dir dir;
    media_store ms{dir.path()};
    plant(dir / sid / "audio", "i am not a folder");
    const std::string a = "audio bytes";
    const std::string f = "frame bytes";
    auto results = ms.write_batch({entry(sid, "frames", "frame_0.jpg", f), entry(sid, "audio", "chunk_0.webm", a),
                                   entry(other_sid, "audio", "chunk_0.webm", a)});
    REQUIRE(results.size() == 3);
    CHECK_MESSAGE(results[0].ok(), results[0].message);
    CHECK(results[1].code == errc::io_error);
    CHECK_FALSE(results[1].message.empty());
    CHECK_MESSAGE(results[2].ok(), results[2].message);
    CHECK(read_file(dir / sid / "audio") == "i am not a folder");
    CHECK(read_file(*ms.path_of(sid, "frames", "frame_0.jpg")) == f);
    CHECK(read_file(*ms.path_of(other_sid, "audio", "chunk_0.webm")) == a);
    CHECK_MESSAGE(files_under(dir.path()).size() == 3, "the planted file and the two written ones");
    check_no_temp_files(dir.path());
  }

  TEST_CASE("an unnamed file is linked with its bytes either way, and a taken or missing name fails with its errno") {
    using media_ops::link_way;
    temp_dir dir;
    for (auto way : {link_way::empty_path, link_way::proc}) {
      CAPTURE(way == link_way::empty_path ? "AT_EMPTY_PATH" : "/proc/self/fd");
      const std::string bytes = way == link_way::empty_path ? "by descriptor" : "through proc";
      int fd = ::open(dir.path().c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
      REQUIRE(fd >= 0);
      REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
      const auto name = dir.path() / (bytes + ".bin");
      CHECK(media_ops::link_fd_via(fd, name.c_str(), way) == 0);
      CHECK(read_file(name) == bytes);
      errno = 0;
      CHECK(media_ops::link_fd_via(fd, name.c_str(), way) == -1);
      CHECK(errno == EEXIST);
      const auto nowhere = dir.path() / "missing" / "x.bin";
      errno = 0;
      CHECK(media_ops::link_fd_via(fd, nowhere.c_str(), way) == -1);
      CHECK(errno == ENOENT);
      CHECK_FALSE(fs::exists(nowhere.parent_path()));
      ::close(fd);
    }
    int fd = ::open(dir.path().c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    errno = 0;
    CHECK(media_ops::checked_link_fd(fd, (dir.path() / "missing" / "y.bin").c_str()) == -1);
    CHECK(errno == ENOENT);
    CHECK(media_ops::checked_link_fd(fd, (dir.path() / "z.bin").c_str()) == 0);
    ::close(fd);
    CHECK(files_under(dir.path()).size() == 3);
  }
}
