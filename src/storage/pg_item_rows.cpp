#include "storage/pg_item_rows.hpp"

#include "json/json_text.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace mediaspool::storage {

namespace {

std::string name_of(const item_key& k) {
  return k.session_id + "/" + std::string(1, k.kind) + "/" + std::to_string(k.index);
}

} // namespace

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
    if (!json_text::valid_utf8(it->key.session_id))
      return {errc::invalid_argument, "session id of " + name_of(it->key) + " is not UTF-8"};
    if (out.size() > 1)
      out += ',';
    json_text::object{out}
      .string("session_id", it->key.session_id)
      .string("kind", std::string_view{&it->key.kind, 1})
      .number("idx", it->key.index)
      .number("hash", static_cast<int64_t>(it->hash)) // a BIGINT bit for bit: PostgreSQL has no unsigned type
      .number("size", static_cast<int64_t>(it->size))
      .raw("element", it->element)
      .close();
  }
  out += ']';
  return status::success();
}

} // namespace mediaspool::storage
