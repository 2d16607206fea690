// A message's top-level members read with the SAX parser (net/message_fields.hpp) must be what
// a nlohmann DOM of the same text holds: the same verdict on the text, and for each member the
// same kind and value (the last one when a key repeats).
#include "net/message_fields.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace mediaspool::net;
using nlohmann::json;

namespace {

void check_same_as_dom(const std::string& text) {
  INFO("text: ", text);
  message_fields f;
  const auto outcome = f.parse(text);
  const json dom = json::parse(text, nullptr, false);
  if (dom.is_discarded()) {
    CHECK(outcome == message_fields::outcome::not_json);
    return;
  }
  if (!dom.is_object()) {
    CHECK(outcome == message_fields::outcome::not_object);
    return;
  }
  REQUIRE(outcome == message_fields::outcome::object);
  for (const auto& [key, value] : dom.items()) {
    INFO("member: ", key);
    const auto* v = f.find(key);
    REQUIRE(v != nullptr);
    using k = field_value::kind;
    if (value.is_null()) {
      CHECK(v->type == k::null);
    } else if (value.is_boolean()) {
      REQUIRE(v->type == k::boolean);
      CHECK(v->boolean == value.get<bool>());
    } else if (value.is_number_unsigned()) {
      REQUIRE(v->type == k::non_negative);
      CHECK(v->non_negative == value.get<uint64_t>());
    } else if (value.is_number_integer()) {
      REQUIRE(v->type == k::negative);
      CHECK(v->negative == value.get<int64_t>());
    } else if (value.is_number_float()) {
      CHECK(v->type == k::floating);
    } else if (value.is_string()) {
      REQUIRE(v->type == k::string);
      CHECK(v->text == value.get<std::string>());
    } else {
      CHECK(v->type == k::structured);
    }
  }
  CHECK(f.find("no such member") == nullptr);
}

} // namespace

TEST_SUITE("net.message_fields") {
  TEST_CASE("members of every kind read as the DOM holds them") {
    check_same_as_dom(R"({"type":"audio_metadata","session_id":"0F8FAD5B-D9CB-469F-A165-70867728950E",
      "chunk_index":3,"size":160652,"duration_ms":-1,"start_timestamp":"2025-12-17T09:21:15.134Z",
      "mime_type":null,"flag":true,"off":false,"ratio":1.5,"exp":1e3,"big":18446744073709551615,
      "min":-9223372036854775808,"esc":"a\"b\\c\n\u00e9\ud83c\udfa4\u0000"})");
  }

  TEST_CASE("nested values are skipped, their kind kept, their members not mistaken for the root's") {
    check_same_as_dom(R"({"a":{"type":"nested","session_id":"x","deep":[1,{"chunk_index":9}]},"b":[],"c":{},
      "type":"frame_metadata","d":[[["z"]]],"frame_index":2})");
    message_fields f;
    REQUIRE(f.parse(R"({"x":{"frame_index":9},"y":[{"size":1}]})") == message_fields::outcome::object);
    CHECK(f.find("frame_index") == nullptr);
    CHECK(f.find("size") == nullptr);
  }

  TEST_CASE("a repeated key reads as its last value") {
    check_same_as_dom(R"({"chunk_index":1,"chunk_index":2})");
    check_same_as_dom(R"({"k":"s","k":{"o":1}})");
    check_same_as_dom(R"({"k":[1],"k":null})");
    message_fields f;
    REQUIRE(f.parse(R"({"i":1,"i":7})") == message_fields::outcome::object);
    CHECK(f.find("i")->non_negative == 7);
  }

  TEST_CASE("texts that are not JSON or not an object get the DOM's verdict") {
    for (const std::string text : {"", "not json", "{\"type\":", "{} {}", "{\"a\":1,}", "[1,2]", "7", "\"s\"", "null",
                                   "{\"a\":\"\xff\"}", "{\"a\":\"\\ud800\"}", " {\"a\" : 1 } ", "{}"})
      check_same_as_dom(text);
  }

  TEST_CASE("a message_fields reused for a second text keeps nothing of the first") {
    message_fields f;
    REQUIRE(f.parse(R"({"a":1})") == message_fields::outcome::object);
    REQUIRE(f.parse(R"({"b":2})") == message_fields::outcome::object);
    CHECK(f.find("a") == nullptr);
    CHECK(f.find("b") != nullptr);
  }
}
