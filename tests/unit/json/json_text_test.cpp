// JSON text written by appending (src/json/json_text.hpp): whatever it writes must parse, with
// nlohmann, back to exactly the values given, and its UTF-8 check must agree with a parser's.
#include "json/json_text.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace mediaspool;
using nlohmann::json;

namespace {

std::string literal_of(std::string_view s) {
  std::string out;
  json_text::append_string(out, s);
  return out;
}

} // namespace

TEST_SUITE("json.json_text") {
  TEST_CASE("every ASCII byte, alone and amid text, round-trips through a string literal") {
    for (int c = 0; c < 0x80; ++c) {
      const std::string one(1, static_cast<char>(c));
      CHECK_MESSAGE(json::parse(literal_of(one)).get<std::string>() == one, "byte ", c);
      const std::string amid = "ab" + one + "cd" + one;
      CHECK_MESSAGE(json::parse(literal_of(amid)).get<std::string>() == amid, "byte ", c);
    }
    CHECK(literal_of("") == "\"\"");
    CHECK(literal_of("plain") == "\"plain\"");
  }

  TEST_CASE("multi-byte UTF-8 is copied as it is") {
    const std::string s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xa4 \xef\xbf\xbf";
    CHECK(literal_of(s) == "\"" + s + "\"");
    CHECK(json::parse(literal_of(s)).get<std::string>() == s);
  }

  TEST_CASE("valid_utf8 agrees with nlohmann's parser on edge sequences") {
    const std::vector<std::string> cases{
      "", "ascii", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80",
      "\xf4\x8f\xbf\xbf",
      // refused: stray continuation, overlong, surrogate, past U+10FFFF, truncated, bad lead bytes
      "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf",
      "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe", "\xc3", "\xe2\x82", "\xf0\x9f\x8e", "a\xc3(b",
      "\xe2\x28\xa1"};
    for (const auto& s : cases) {
      const bool parser_accepts = json::accept("\"" + s + "\"");
      CHECK_MESSAGE(json_text::valid_utf8(s) == parser_accepts, "case ", &s - cases.data());
    }
  }

  TEST_CASE("an object holds each member in order with its value") {
    std::string out = "prefix:";
    json_text::object{out}
      .string("s", "a\"b\\c\n")
      .number("u32", std::numeric_limits<uint32_t>::max())
      .number("u64", std::numeric_limits<uint64_t>::max())
      .number("i64", std::numeric_limits<int64_t>::min())
      .number("zero", 0)
      .boolean("t", true)
      .boolean("f", false)
      .null("n")
      .raw("raw", R"({"x":[1,2]})")
      .string_or_null("some", std::optional<std::string>{"v"})
      .string_or_null("none", std::optional<std::string>{})
      .number_or_null("some_n", std::optional<int64_t>{-5})
      .number_or_null("none_n", std::optional<uint32_t>{})
      .close();
    REQUIRE(out.rfind("prefix:", 0) == 0);
    const auto j = json::parse(out.substr(7));
    CHECK(j["s"] == "a\"b\\c\n");
    CHECK(j["u32"].get<uint64_t>() == std::numeric_limits<uint32_t>::max());
    CHECK(j["u64"].get<uint64_t>() == std::numeric_limits<uint64_t>::max());
    CHECK(j["i64"].get<int64_t>() == std::numeric_limits<int64_t>::min());
    CHECK(j["zero"] == 0);
    CHECK(j["t"] == true);
    CHECK(j["f"] == false);
    CHECK(j["n"].is_null());
    CHECK(j["raw"] == json::parse(R"({"x":[1,2]})"));
    CHECK(j["some"] == "v");
    CHECK(j["none"].is_null());
    CHECK(j["some_n"] == -5);
    CHECK(j["none_n"].is_null());
    CHECK(j.size() == 13);
    // Member order is the order written (the element's stored text is read by people too).
    CHECK(out.find("\"s\":") < out.find("\"u32\":"));
    CHECK(out.find("\"raw\":") < out.find("\"none_n\":"));
  }

  TEST_CASE("an empty object") {
    std::string out;
    json_text::object{out}.close();
    CHECK(out == "{}");
  }
}
