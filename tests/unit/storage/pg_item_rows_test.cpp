// The rows a batch of items is inserted from (storage/pg_item_rows.hpp), written by appending:
// they must say exactly what the nlohmann DOM said before (the same values once parsed), keep
// each element as sent, and refuse what PostgreSQL would refuse mid-transaction.
#include "storage/pg_item_rows.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace mediaspool::storage;
using nlohmann::json;

namespace {

pg_item item(std::string sid, char kind, uint32_t index, uint64_t hash, uint64_t size, std::string element) {
  return pg_item{item_key{std::move(sid), kind, index}, hash, size, std::move(element)};
}

std::vector<const pg_item*> pointers(const std::vector<pg_item>& items) {
  std::vector<const pg_item*> out;
  for (const auto& it : items)
    out.push_back(&it);
  return out;
}

// What the DOM built for one row (the former item_row).
json dom_row(const pg_item& it) {
  return {{"session_id", it.key.session_id}, {"kind", std::string(1, it.key.kind)}, {"idx", it.key.index},
          {"hash", static_cast<int64_t>(it.hash)}, {"size", static_cast<int64_t>(it.size)},
          {"element", json::parse(it.element)}};
}

} // namespace

TEST_SUITE("storage.pg_item_rows") {
  TEST_CASE("rows parse to what the DOM built, in order, the hash as a BIGINT bit for bit") {
    const std::vector<pg_item> items{
      item("0b7c9a52-3f1e-4c1a-9d2e-5f6a7b8c9d0e", 'a', 0, 0x0123456789abcdefull, 160000,
           R"({"chunk_index":0,"file_path":"a/b.webm","mime_type":"audio/webm","start_timestamp":"2026-01-01T00:00:00Z"})"),
      item("0b7c9a52-3f1e-4c1a-9d2e-5f6a7b8c9d0e", 'f', 4294967295u, 0xfedcba9876543210ull, 0,
           "  {\"nested\": {\"list\": [1, 2.5, null, true, \"\\u00e9\\n\"]}}\n"),
      item("s", 'r', 7, 0, 1, R"("just a string")")};
    std::string out;
    REQUIRE(item_rows_json(pointers(items), out).ok());
    const auto parsed = json::parse(out);
    REQUIRE(parsed.is_array());
    REQUIRE(parsed.size() == items.size());
    for (size_t i = 0; i < items.size(); ++i)
      CHECK_MESSAGE(parsed[i] == dom_row(items[i]), "row ", i, ": ", parsed[i].dump());
    CHECK(parsed[1]["hash"].get<int64_t>() < 0);
    CHECK(static_cast<uint64_t>(parsed[1]["hash"].get<int64_t>()) == 0xfedcba9876543210ull);
  }

  TEST_CASE("an empty batch is an empty array") {
    std::string out = "left over";
    REQUIRE(item_rows_json({}, out).ok());
    CHECK(out == "[]");
  }

  TEST_CASE("session ids with quotes, backslashes, control bytes and non-ASCII come back unchanged") {
    const std::vector<std::string> ids{"a\"b", "back\\slash", std::string("nul\0tab\t\x1f", 9), "caf\xc3\xa9 \xe2\x82\xac"};
    for (const auto& sid : ids) {
      std::vector<pg_item> items{item(sid, 'a', 1, 2, 3, "{}")};
      std::string out;
      REQUIRE(item_rows_json(pointers(items), out).ok());
      const auto parsed = json::parse(out);
      CHECK(parsed[0]["session_id"].get<std::string>() == sid);
    }
  }

  TEST_CASE("an element that is not one JSON value, or not UTF-8, is refused and named") {
    const std::vector<std::string> bad{"{not json", "", "{} {}", "{\"a\":1,}", "\"\xff\xfe\"", "[1, 2"};
    for (size_t i = 0; i < bad.size(); ++i) {
      std::vector<pg_item> items{item("sid", 'a', 0, 1, 1, "{}"), item("sid", 'f', 9, 1, 1, bad[i])};
      std::string out;
      auto st = item_rows_json(pointers(items), out);
      CHECK_MESSAGE(st.code == errc::invalid_argument, "bad element ", i);
      CHECK(st.message.find("sid/f/9") != std::string::npos);
    }
  }

  TEST_CASE("a session id that is not UTF-8 is refused") {
    std::vector<pg_item> items{item("bad\xc3", 'a', 0, 1, 1, "{}")};
    std::string out;
    CHECK(item_rows_json(pointers(items), out).code == errc::invalid_argument);
  }
}
