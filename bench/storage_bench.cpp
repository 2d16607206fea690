// storage_bench: the ceilings of the two durable stores alone, with no network, actors or
// PostgreSQL: how many items per second the spool (payload log + RocksDB records, synced group
// commits) and the media store (atomic files, two syncfs per batch) take on this machine's disk.
// They bound what the server can ack (spool) and store as files (media) whatever else it does.
//
//   storage_bench --dir /path/on/the/disk [--size 1024] [--count 50000] [--batch 200] [--writers 2]
#include "storage/media_store.hpp"
#include "storage/spool.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace mediaspool::storage;

namespace {

struct options {
  std::string dir;
  size_t size = 1024;
  size_t count = 50000;
  size_t batch = 200;
  size_t writers = 2;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir")
      o.dir = v;
    else if (k == "--size")
      o.size = std::stoul(v);
    else if (k == "--count")
      o.count = std::stoul(v);
    else if (k == "--batch")
      o.batch = std::stoul(v);
    else if (k == "--writers")
      o.writers = std::stoul(v);
    else
      return false;
  }
  return !o.dir.empty() && o.size > 0 && o.count > 0 && o.batch > 0 && o.writers > 0;
}

std::string sid_of(size_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "5707a9e0-0000-4000-8000-%012zu", n);
  return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Group commits of `batch` items, one thread (the spool writer is one actor).
double spool_items_per_s(const options& o, const std::string& payload) {
  status st;
  auto sp = spool::open(spool_options{o.dir + "/spool", 64u << 20}, st);
  if (!sp) {
    std::fprintf(stderr, "storage_bench: %s\n", st.message.c_str());
    std::exit(1);
  }
  std::vector<item_key> keys;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t done = 0; done < o.count;) {
    std::vector<spool_entry> entries;
    for (size_t i = 0; i < o.batch && done < o.count; ++i, ++done) {
      item_key key{sid_of(done % 50), 'f', static_cast<uint32_t>(done)};
      entries.push_back(spool_entry{key, done, "frame_" + std::to_string(done) + ".jpg", "{}", payload.data(), payload.size()});
      keys.push_back(key);
    }
    if (auto s = sp->write_durable(entries); !s.ok()) {
      std::fprintf(stderr, "storage_bench: spool: %s\n", s.message.c_str());
      std::exit(1);
    }
    // Remove what the previous batch wrote, as the server does once files and rows exist.
    if (keys.size() > 2 * o.batch) {
      std::vector<item_key> old(keys.begin(), keys.begin() + static_cast<long>(o.batch));
      keys.erase(keys.begin(), keys.begin() + static_cast<long>(o.batch));
      sp->remove(old);
    }
  }
  return static_cast<double>(o.count) / seconds_since(t0);
}

// `writers` threads, each writing batches of `batch` files (the file-writer actors).
double media_files_per_s(const options& o, const std::string& payload) {
  media_store store{o.dir + "/media"};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (size_t w = 0; w < o.writers; ++w)
    threads.emplace_back([&, w] {
      std::vector<std::string> sids, names;
      for (size_t done = w; done < o.count;) {
        std::vector<media_write> files;
        sids.clear();
        names.clear();
        for (size_t i = 0; i < o.batch && done < o.count; ++i, done += o.writers) {
          sids.push_back(sid_of(done % 50));
          names.push_back("frame_" + std::to_string(done) + ".jpg");
        }
        for (size_t i = 0; i < sids.size(); ++i)
          files.push_back({sids[i], "frames", names[i], payload.data(), payload.size()});
        for (auto& r : store.write_batch(files))
          if (!r.ok()) {
            std::fprintf(stderr, "storage_bench: media: %s\n", r.message.c_str());
            std::exit(1);
          }
      }
    });
  for (auto& t : threads)
    t.join();
  return static_cast<double>(o.count) / seconds_since(t0);
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: storage_bench --dir DIR [--size BYTES] [--count N] [--batch N] [--writers N]\n");
    return 2;
  }
  std::filesystem::remove_all(o.dir);
  std::filesystem::create_directories(o.dir);
  std::string payload(o.size, '\0');
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(i * 131 + 7);
  const double spool = spool_items_per_s(o, payload);
  const double media = media_files_per_s(o, payload);
  std::filesystem::remove_all(o.dir);
  nlohmann::json j{{"size", o.size},
                   {"count", o.count},
                   {"batch", o.batch},
                   {"writers", o.writers},
                   {"spool_items_per_s", spool},
                   {"spool_mb_per_s", spool * static_cast<double>(o.size) / 1e6},
                   {"media_files_per_s", media},
                   {"media_mb_per_s", media * static_cast<double>(o.size) / 1e6}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
