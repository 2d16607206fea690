#include "actors/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace mediaspool::metrics {

namespace {

// Shortest text that reads back as the same double; integers without a fraction.
std::string number(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return std::to_string(static_cast<long long>(v));
  char buf[32];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  return buf;
}

std::string escape(const std::string& s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    if (ch == '\\')
      out += "\\\\";
    else if (ch == '\n')
      out += "\\n";
    else if (quote && ch == '"')
      out += "\\\"";
    else
      out += ch;
  }
  return out;
}

// {a="x",le="0.5"}: the series labels plus an optional extra one; empty if there are none.
std::string label_text(const labels& l, const char* extra_key = nullptr, const std::string& extra_value = {}) {
  if (l.empty() && !extra_key)
    return {};
  std::string out = "{";
  bool first = true;
  auto put = [&](const std::string& k, const std::string& v) {
    if (!first)
      out += ',';
    first = false;
    out += k + "=\"" + escape(v, true) + '"';
  };
  for (auto& [k, v] : l)
    put(k, v);
  if (extra_key)
    put(extra_key, extra_value);
  return out + "}";
}

} // namespace

// -- histogram ------------------------------------------------------------------------

histogram::histogram(std::vector<double> upper_bounds)
  : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 1; i < bounds_.size(); ++i)
    if (!(bounds_[i - 1] < bounds_[i]))
      throw std::invalid_argument("histogram bounds must be strictly ascending");
  for (size_t i = 0; i <= bounds_.size(); ++i)
    buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i])
    ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  auto cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed))
    ;
}

histogram::totals histogram::total() const noexcept {
  totals t;
  for (size_t i = 0; i <= bounds_.size(); ++i)
    t.count += buckets_[i].load(std::memory_order_relaxed);
  t.sum = sum_.load(std::memory_order_relaxed);
  return t;
}

histogram::snapshot histogram::snap() const {
  snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = acc;
  }
  s.count = acc;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// -- registry -------------------------------------------------------------------------

registry::series& registry::add(const std::string& name, const std::string& help, const char* type, labels l) {
  std::lock_guard<std::mutex> guard{mtx_};
  family* fam = nullptr;
  for (auto& f : families_)
    if (f.name == name)
      fam = &f;
  if (!fam) {
    families_.push_back(family{name, help, type, {}});
    fam = &families_.back();
  } else if (fam->type != type) {
    throw std::invalid_argument("metric " + name + " registered as " + fam->type + " and " + type);
  }
  fam->items.push_back(series{std::move(l), nullptr, nullptr, nullptr, nullptr});
  return fam->items.back();
}

counter& registry::add_counter(const std::string& name, const std::string& help, labels l) {
  auto& s = add(name, help, "counter", std::move(l));
  s.c = std::make_unique<counter>();
  return *s.c;
}

gauge& registry::add_gauge(const std::string& name, const std::string& help, labels l) {
  auto& s = add(name, help, "gauge", std::move(l));
  s.g = std::make_unique<gauge>();
  return *s.g;
}

histogram& registry::add_histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                                   labels l) {
  auto h = std::make_unique<histogram>(std::move(bounds));
  auto& s = add(name, help, "histogram", std::move(l));
  s.h = std::move(h);
  return *s.h;
}

void registry::add_callback(const std::string& name, const std::string& help, std::function<double()> fn,
                            labels l) {
  add(name, help, "gauge", std::move(l)).fn = std::move(fn);
}

std::string registry::render() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string out;
  for (auto& f : families_) {
    out += "# HELP " + f.name + ' ' + escape(f.help, false) + '\n';
    out += "# TYPE " + f.name + ' ' + f.type + '\n';
    for (auto& s : f.items) {
      if (s.c) {
        out += f.name + label_text(s.lbl) + ' ' + std::to_string(s.c->value()) + '\n';
      } else if (s.g) {
        out += f.name + label_text(s.lbl) + ' ' + std::to_string(s.g->value()) + '\n';
      } else if (s.fn) {
        out += f.name + label_text(s.lbl) + ' ' + number(s.fn()) + '\n';
      } else if (s.h) {
        auto snap = s.h->snap();
        auto& b = s.h->bounds();
        for (size_t i = 0; i <= b.size(); ++i)
          out += f.name + "_bucket" + label_text(s.lbl, "le", i < b.size() ? number(b[i]) : "+Inf") + ' '
               + std::to_string(snap.cumulative[i]) + '\n';
        out += f.name + "_sum" + label_text(s.lbl) + ' ' + number(snap.sum) + '\n';
        out += f.name + "_count" + label_text(s.lbl) + ' ' + std::to_string(snap.count) + '\n';
      }
    }
  }
  return out;
}

std::vector<double> exponential_buckets(double start, double factor, size_t n) {
  std::vector<double> out;
  for (double v = start; out.size() < n; v *= factor)
    out.push_back(v);
  return out;
}

double process_rss_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  unsigned long long size = 0, resident = 0;
  if (!(statm >> size >> resident))
    return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

} // namespace mediaspool::metrics
