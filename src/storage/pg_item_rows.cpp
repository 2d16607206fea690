#include "storage/pg_item_rows.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>

namespace mediaspool::storage {

namespace {

template <class Int>
void append_number(std::string& out, Int x) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  out.append(buf, end);
}

std::string name_of(const item_key& k) {
  return k.session_id + "/" + std::string(1, k.kind) + "/" + std::to_string(k.index);
}

} // namespace

status append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  bool ascii = true;
  for (unsigned char c : s)
    ascii = ascii && c < 0x80;
  if (!ascii) {
    // Rare (session ids are UUIDs): nlohmann checks the UTF-8 and escapes as the DOM did.
    try {
      out += nlohmann::json(std::string{s}).dump();
      return status::success();
    } catch (const nlohmann::json::exception&) {
      return {errc::invalid_argument, "a string of the batch is not UTF-8"};
    }
  }
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return status::success();
}

status item_rows_json(const std::vector<const pg_item*>& items, std::string& out) {
  out.clear();
  size_t bytes = 2;
  for (const auto* it : items)
    bytes += it->element.size() + it->key.session_id.size() + 96;
  out.reserve(bytes);
  out += '[';
  for (const auto* it : items) {
    // accept() checks syntax and UTF-8 without building values: the element is inserted as it is.
    if (!nlohmann::json::accept(it->element))
      return {errc::invalid_argument, "element of " + name_of(it->key) + " is not JSON"};
    if (out.size() > 1)
      out += ',';
    out += "{\"session_id\":";
    if (auto st = append_json_string(out, it->key.session_id); !st.ok())
      return {errc::invalid_argument, "session id of " + name_of(it->key) + " is not UTF-8"};
    out += ",\"kind\":";
    if (auto st = append_json_string(out, std::string_view{&it->key.kind, 1}); !st.ok())
      return {errc::invalid_argument, "kind of " + name_of(it->key) + " is not UTF-8"};
    out += ",\"idx\":";
    append_number(out, it->key.index);
    out += ",\"hash\":";
    append_number(out, static_cast<int64_t>(it->hash)); // a BIGINT bit for bit: PostgreSQL has no unsigned type
    out += ",\"size\":";
    append_number(out, static_cast<int64_t>(it->size));
    out += ",\"element\":";
    out += it->element;
    out += '}';
  }
  out += ']';
  return status::success();
}

} // namespace mediaspool::storage
