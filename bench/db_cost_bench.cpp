// What one frame costs PostgreSQL as a session grows: the batched design (media_items rows +
// occasional array rebuilds, through pg_store) against the original design (one
// `video_frames = video_frames || $1` UPDATE per frame). One session receives --items frames;
// time and WAL per item are reported for the first and the last 100 items.
//
//   db_cost_bench [--db-url URL] [--items 2000] [--batch 20] [--fraction 0.25]
//   URL defaults to $MEDIASPOOL_DB_URL (e.g. scripts/pg.sh url <dir> <port>).
//
// Batched mode replays the db_batcher's policy at full pace: every write_batch carries --batch
// frames, and the frames array is rebuilt in the same transaction when the frames written since
// the last rebuild reach max(1, ceil(fraction * array length)) (refresh_policy, without its
// min_interval, which only matters at real-time pace).
// WAL is pg_wal_lsn_diff of pg_current_wal_insert_lsn() around each transaction (the insert
// position, so it is exact even where the write position lags); it includes full-page images
// after the CHECKPOINT taken before each mode, as a real server would. Everything runs in a
// throwaway schema that is dropped at the end.
#include "storage/pg_store.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace mediaspool::storage;
using clock_type = std::chrono::steady_clock;

struct options {
  std::string db_url;
  uint32_t items = 2000;
  uint32_t batch = 20;
  double fraction = 0.25;
};

// One measured transaction.
struct sample {
  uint32_t first = 0;   // index of its first item
  uint32_t count = 0;   // items in it
  bool refresh = false; // the frames array was rebuilt in it
  double micros = 0;
  double wal_bytes = 0;
};

struct window_result {
  std::string mode;
  std::string label;
  uint32_t lo = 0, hi = 0; // item range [lo, hi)
  uint32_t items = 0, txns = 0, refreshes = 0;
  double micros = 0, wal = 0;
};

options parse(int argc, char** argv) {
  options o;
  if (const char* env = std::getenv("MEDIASPOOL_DB_URL"))
    o.db_url = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--db-url")
      o.db_url = value();
    else if (arg == "--items")
      o.items = static_cast<uint32_t>(std::stoul(value()));
    else if (arg == "--batch")
      o.batch = std::max(1u, static_cast<uint32_t>(std::stoul(value())));
    else if (arg == "--fraction")
      o.fraction = std::stod(value());
    else
      throw std::invalid_argument("unknown option " + arg);
  }
  if (o.db_url.empty())
    throw std::invalid_argument("no database: pass --db-url or set MEDIASPOOL_DB_URL");
  if (o.items < 200)
    throw std::invalid_argument("--items must be at least 200 (two windows of 100)");
  return o;
}

// The libpq URL with search_path = schema (the tests' pg_fixture does the same).
std::string url_with_schema(const std::string& url, const std::string& schema) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    return url + (url.find('?') == std::string::npos ? '?' : '&') + "options=-csearch_path%3D" + schema;
  return url + " options='-csearch_path=" + schema + "'";
}

// A frame element as PROTOCOL.md section 3 shows it (about 200 bytes).
std::string frame_element(const std::string& sid, uint32_t n) {
  return nlohmann::json{{"frame_index", n},
                        {"file_path", sid + "/frames/frame_" + std::to_string(n) + ".jpg"},
                        {"file_size", 45000 + (n * 7919) % 20000},
                        {"mime_type", "image/jpeg"},
                        {"timestamp", "2025-12-17T09:21:15.134000+00:00"},
                        {"chunk_index", n / 5},
                        {"offset_ms", (n % 5) * 2000}}
    .dump();
}

// Reads the WAL insert position around a transaction on its own connection.
class wal_probe {
public:
  explicit wal_probe(const std::string& url) : conn_(url) {}

  void start() {
    pqxx::nontransaction n{conn_};
    lsn_ = n.exec("SELECT pg_current_wal_insert_lsn()::text")[0][0].as<std::string>();
  }

  double bytes_since_start() {
    pqxx::nontransaction n{conn_};
    return n.exec_params("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)", lsn_)[0][0]
      .as<double>();
  }

  void checkpoint() {
    pqxx::nontransaction n{conn_};
    n.exec("CHECKPOINT");
  }

private:
  pqxx::connection conn_;
  std::string lsn_;
};

// Runs `txn` (one transaction) and records its time and WAL.
sample measure(wal_probe& probe, uint32_t first, uint32_t count, bool refresh,
               const std::function<void()>& txn) {
  probe.start();
  auto t0 = clock_type::now();
  txn();
  auto t1 = clock_type::now();
  sample s{first, count, refresh, std::chrono::duration<double, std::micro>(t1 - t0).count(), 0};
  s.wal_bytes = probe.bytes_since_start();
  return s;
}

void check(const status& st, const char* what) {
  if (!st.ok())
    throw std::runtime_error(std::string{what} + ": " + to_string(st.code) + ": " + st.message);
}

// The db_batcher's way: batches through pg_store, frames array rebuilt per the refresh policy.
std::vector<sample> run_batched(const options& o, const std::string& url, wal_probe& probe) {
  const std::string sid = "b0000000-0000-4000-8000-000000000001";
  pg_store store{url};
  bool existed = false;
  check(store.ensure_session({sid, 1, 1, sid, std::nullopt}, existed), "ensure_session");
  std::vector<sample> out;
  uint64_t length = 0, pending = 0;
  for (uint32_t first = 0; first < o.items; first += o.batch) {
    const uint32_t n = std::min(o.batch, o.items - first);
    std::vector<pg_item> items;
    for (uint32_t i = first; i < first + n; ++i)
      items.push_back({{sid, 'f', i}, 0x9e3779b97f4a7c15ull * (i + 1), 45000, frame_element(sid, i)});
    pending += n;
    const auto threshold = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(o.fraction * static_cast<double>(length))));
    const bool refresh = pending >= threshold;
    std::vector<pg_refresh> r;
    if (refresh)
      r.push_back({sid, false, true, false});
    out.push_back(measure(probe, first, n, refresh, [&] { check(store.write_batch({}, items, r), "write_batch"); }));
    if (refresh) {
      length += pending;
      pending = 0;
    }
  }
  pg_totals totals;
  auto fin = measure(probe, 0, 0, true, [&] { check(store.finalize(sid, true, totals), "finalize"); });
  std::cout << "batched: finalize (rebuild of all " << totals.frames << " frames): " << std::fixed
            << std::setprecision(0) << fin.micros << " us, " << fin.wal_bytes << " B WAL\n";
  return out;
}

// The original design: one append UPDATE per frame, each its own transaction.
std::vector<sample> run_naive(const options& o, const std::string& url, wal_probe& probe) {
  const std::string sid = "b0000000-0000-4000-8000-000000000002";
  pg_store store{url};
  bool existed = false;
  check(store.ensure_session({sid, 1, 1, sid, std::nullopt}, existed), "ensure_session");
  pqxx::connection c{url};
  // The original design's table compressed its arrays the server's default way (pglz), not
  // with the lz4 the migration sets.
  pqxx::nontransaction{c}.exec("ALTER TABLE media_sessions ALTER COLUMN video_frames SET COMPRESSION default");
  c.prepare("append", "UPDATE media_sessions SET video_frames = video_frames || $1::jsonb, "
                      "total_frames = total_frames + 1, last_activity = now() WHERE session_id = $2");
  std::vector<sample> out;
  for (uint32_t i = 0; i < o.items; ++i) {
    const std::string element = "[" + frame_element(sid, i) + "]";
    out.push_back(measure(probe, i, 1, false, [&] {
      pqxx::work w{c};
      w.exec_prepared0("append", element, sid);
      w.commit();
    }));
  }
  return out;
}

window_result window(const std::string& mode, const std::vector<sample>& samples, uint32_t lo,
                     uint32_t hi, const std::string& label) {
  window_result w{mode, label, lo, hi, 0, 0, 0, 0, 0};
  for (const auto& s : samples) {
    if (s.first < lo || s.first >= hi)
      continue;
    w.items += s.count;
    w.txns += 1;
    w.refreshes += s.refresh ? 1 : 0;
    w.micros += s.micros;
    w.wal += s.wal_bytes;
  }
  return w;
}

// The last complete rebuild cycle ending at or before `hi`: the batches after the previous
// rebuild up to and including the rebuild. Its per-item cost is the amortised steady state at
// that array length, whatever phase a 100-item window happens to catch.
window_result last_cycle(const std::vector<sample>& samples, uint32_t hi) {
  int end = -1;
  for (int i = 0; i < static_cast<int>(samples.size()); ++i)
    if (samples[i].refresh && samples[i].first + samples[i].count <= hi)
      end = i;
  if (end < 0)
    return {};
  int begin = end;
  while (begin > 0 && !samples[begin - 1].refresh)
    --begin;
  const uint32_t lo = samples[begin].first, top = samples[end].first + samples[end].count;
  return window("batched", samples, lo, top, "cycle");
}

void print(const std::vector<window_result>& rows, const options& o) {
  std::cout << "\n" << std::left << std::setw(9) << "mode" << std::setw(8) << "rows" << std::right
            << std::setw(13) << "items" << std::setw(6) << "txns" << std::setw(10) << "rebuilds"
            << std::setw(12) << "us/item" << std::setw(14) << "WAL B/item" << "\n";
  auto json = nlohmann::json::array();
  for (const auto& r : rows) {
    if (r.items == 0)
      continue;
    const double us = r.micros / r.items, wal = r.wal / r.items;
    std::cout << std::left << std::setw(9) << r.mode << std::setw(8) << r.label << std::right
              << std::setw(13) << (std::to_string(r.lo) + "-" + std::to_string(r.hi)) << std::setw(6)
              << r.txns << std::setw(10) << r.refreshes << std::setw(12) << std::fixed
              << std::setprecision(1) << us << std::setw(14) << std::setprecision(0) << wal << "\n";
    json.push_back({{"mode", r.mode}, {"rows", r.label}, {"from", r.lo}, {"to", r.hi},
                    {"items", r.items}, {"txns", r.txns}, {"rebuilds", r.refreshes},
                    {"us_per_item", std::round(us * 10) / 10}, {"wal_bytes_per_item", std::round(wal)}});
  }
  std::cout << "\n"
            << nlohmann::json{{"bench", "db_cost"}, {"items", o.items}, {"batch", o.batch},
                              {"fraction", o.fraction}, {"results", json}}
                 .dump()
            << "\n";
}

std::string random_schema() {
  std::mt19937_64 gen{std::random_device{}()};
  std::string s = "bench_";
  for (uint64_t x = gen(), i = 0; i < 12; ++i, x >>= 4)
    s += "0123456789abcdef"[x & 15];
  return s;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "db_cost_bench: " << e.what() << "\n"
              << "usage: db_cost_bench [--db-url URL] [--items N] [--batch N] [--fraction F]\n";
    return 2;
  }
  const std::string schema = random_schema();
  int rc = 0;
  try {
    pqxx::connection admin{o.db_url};
    pqxx::nontransaction{admin}.exec("CREATE SCHEMA " + admin.quote_name(schema));
    const std::string url = url_with_schema(o.db_url, schema);
    pg_store store{url};
    check(store.migrate(), "migrate");
    wal_probe probe{url};
    const uint32_t last = o.items - 100;

    probe.checkpoint();
    auto batched = run_batched(o, url, probe);
    probe.checkpoint();
    auto naive = run_naive(o, url, probe);

    print({window("batched", batched, 0, 100, "window"),
           window("batched", batched, last, o.items, "window"),
           last_cycle(batched, o.items),
           window("naive", naive, 0, 100, "window"),
           window("naive", naive, last, o.items, "window")},
          o);
  } catch (const std::exception& e) {
    std::cerr << "db_cost_bench: " << e.what() << "\n";
    rc = 1;
  }
  try {
    pqxx::connection admin{o.db_url};
    pqxx::nontransaction{admin}.exec("DROP SCHEMA IF EXISTS " + admin.quote_name(schema) + " CASCADE");
  } catch (const std::exception& e) {
    std::cerr << "db_cost_bench: could not drop schema " << schema << ": " << e.what() << "\n";
  }
  return rc;
}
