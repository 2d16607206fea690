#pragma once
// JSON text written by appending to a string, for the per-item paths that used to build a
// nlohmann DOM only to dump it: each item's stored element, its ack, and the DB batch rows.
// Those DOMs (a std::map or vector node and a string per member) were ~30 % of the network
// thread's parse cost and ~2/3 of the DB thread's CPU at 1 KiB items. Parsing stays nlohmann's.
// A leaf: it includes nothing of ours, so every layer may use it.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace mediaspool::json_text {

/// True if `s` is well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates or
/// code points past U+10FFFF (what a JSON parser and PostgreSQL accept).
bool valid_utf8(std::string_view s) noexcept;

/// Appends `s` as a JSON string literal: quotes, backslashes and control characters escaped,
/// every other byte as it is. `s` must be valid_utf8, or the result is not valid JSON text.
void append_string(std::string& out, std::string_view s);

template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
void append_number(std::string& out, Int x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  out.append(buf, res.ptr);
}

/// One JSON object written member by member, in order:
/// `object{out}.number("a", 1).string("b", s).close();`. Keys are ours (literals) and are written
/// as given; string values must be valid_utf8.
class object {
public:
  explicit object(std::string& out) : out_(out) { out_ += '{'; }

  object& string(std::string_view key, std::string_view value) {
    name(key);
    append_string(out_, value);
    return *this;
  }
  template <class Int>
  object& number(std::string_view key, Int value) {
    name(key);
    append_number(out_, value);
    return *this;
  }
  object& boolean(std::string_view key, bool value) {
    name(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  object& null(std::string_view key) {
    name(key);
    out_ += "null";
    return *this;
  }
  /// `value` is already JSON text (one value), copied as it is.
  object& raw(std::string_view key, std::string_view value) {
    name(key);
    out_ += value;
    return *this;
  }
  /// null when absent.
  object& string_or_null(std::string_view key, const std::optional<std::string>& value) {
    return value ? string(key, std::string_view{*value}) : null(key);
  }
  template <class Int>
  object& number_or_null(std::string_view key, const std::optional<Int>& value) {
    return value ? number(key, *value) : null(key);
  }
  void close() { out_ += '}'; }

private:
  void name(std::string_view key) {
    if (!first_)
      out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += key;
    out_ += "\":";
  }

  std::string& out_;
  bool first_ = true;
};

} // namespace mediaspool::json_text
