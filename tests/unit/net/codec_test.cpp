#include "net/codec.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace mediaspool;
using namespace mediaspool::net;
using json = nlohmann::json;

namespace {

const std::string sid = "0f8fad5b-d9cb-469f-a165-70867728950e";
const codec_limits limits{};

template <class T>
T parse_ok(const std::string& text) {
  auto r = parse_text(text, limits);
  REQUIRE_MESSAGE(std::holds_alternative<client_text>(r), text);
  auto& msg = std::get<client_text>(r);
  REQUIRE_MESSAGE(std::holds_alternative<T>(msg), text);
  return std::get<T>(msg);
}

ec parse_err(const std::string& text) {
  auto r = parse_text(text, limits);
  if (auto e = std::get_if<error_reply>(&r))
    return e->code;
  return ec::none;
}

shared_bytes bytes(const std::string& s) {
  return shared_bytes{std::make_shared<const byte_vector>(s.begin(), s.end()), 0};
}

} // namespace

TEST_SUITE("net.codec") {
  // Found by fuzz_codec: the error quoted the unknown type cut at 64 bytes, inside a UTF-8
  // character, and serializing that error threw (nlohmann type_error 316).
  TEST_CASE("an error quoting client text cut inside a UTF-8 character still serializes") {
    std::string type = std::string(63, 'Q') + "\xe5\x9a\x8d" + "tail";
    auto r = parse_text(json{{"type", type}}.dump(), codec_limits{});
    REQUIRE(std::holds_alternative<error_reply>(r));
    std::string text;
    REQUIRE_NOTHROW(text = serialize(std::get<error_reply>(r)));
    auto back = json::parse(text, nullptr, false);
    REQUIRE_FALSE(back.is_discarded());
    CHECK(back["code"] == "bad_message");
    // Whatever a message holds, serialize never throws.
    REQUIRE_NOTHROW(text = serialize(error_reply{ec::bad_message, "raw \xff\xfe bytes", std::nullopt}));
    CHECK_FALSE(json::parse(text, nullptr, false).is_discarded());
  }

  TEST_CASE("parses session_init with and without optional fields") {
    auto m = parse_ok<session_init>(R"({"type":"session_init","session_id":")" + sid +
                                    R"(","interview_session_id":42,"user_id":1,"timestamp":"2025-12-17T09:21:15.134Z"})");
    CHECK(m.session_id == sid);
    CHECK(m.interview_session_id == 42);
    CHECK(m.user_id == 1);
    auto bare = parse_ok<session_init>(R"({"type":"session_init","session_id":")" + sid + R"("})");
    CHECK(!bare.user_id);
  }

  TEST_CASE("lower-cases the session id") {
    std::string upper = "0F8FAD5B-D9CB-469F-A165-70867728950E";
    auto m = parse_ok<session_init>(R"({"type":"session_init","session_id":")" + upper + R"("})");
    CHECK(m.session_id == sid);
  }

  TEST_CASE("turns audio_metadata into the stored JSONB element") {
    auto m = parse_ok<item_metadata>(
      R"({"type":"audio_metadata","session_id":")" + sid +
      R"(","chunk_index":3,"start_timestamp":"2025-12-17T09:21:15.134Z","end_timestamp":"2025-12-17T09:21:25.124Z","duration_ms":9990,"size":160652})");
    CHECK(m.kind == item_kind::audio);
    CHECK(m.index == 3);
    CHECK(m.size == 160652);
    CHECK(m.file_name == "chunk_3.webm");
    auto el = json::parse(m.element);
    CHECK(el["chunk_index"] == 3);
    CHECK(el["file_path"] == sid + "/audio/chunk_3.webm");
    CHECK(el["file_size"] == 160652);
    CHECK(el["mime_type"] == "audio/webm");
    CHECK(el["start_timestamp"] == "2025-12-17T09:21:15.134000+00:00");
    CHECK(el["end_timestamp"] == "2025-12-17T09:21:25.124000+00:00");
    CHECK(el["duration_ms"] == 9990);
    CHECK(el["transcription"].is_null());
    CHECK(el["processed"] == false);
  }

  TEST_CASE("stores audio/mp4 chunks as .mp4") {
    auto m = parse_ok<item_metadata>(R"({"type":"audio_metadata","session_id":")" + sid +
                                     R"(","chunk_index":0,"size":10,"mime_type":"audio/mp4;codecs=opus"})");
    CHECK(m.file_name == "chunk_0.mp4");
    CHECK(json::parse(m.element)["mime_type"] == "audio/mp4");
    CHECK(parse_err(R"({"type":"audio_metadata","session_id":")" + sid +
                    R"(","chunk_index":0,"size":10,"mime_type":"audio/ogg"})") == ec::bad_message);
  }

  TEST_CASE("turns frame_metadata into the stored JSONB element") {
    auto m = parse_ok<item_metadata>(R"({"type":"frame_metadata","session_id":")" + sid +
                                     R"(","frame_index":7,"timestamp":"2025-12-17T09:21:29Z","chunk_index":1,"offset_ms":4000,"size":45230})");
    CHECK(m.kind == item_kind::frame);
    CHECK(m.file_name == "frame_7.jpg");
    auto el = json::parse(m.element);
    CHECK(el["file_path"] == sid + "/frames/frame_7.jpg");
    CHECK(el["mime_type"] == "image/jpeg");
    CHECK(el["offset_ms"] == 4000);
    CHECK(el["chunk_index"] == 1);
  }

  TEST_CASE("parses response_metadata and session_end") {
    auto r = parse_ok<response_item>(R"({"type":"response_metadata","session_id":")" + sid +
                                     R"(","question_id":2,"question_text":"Why?","start_timestamp":"2025-12-17T09:21:15Z","end_timestamp":"2025-12-17T09:22:15Z"})");
    CHECK(r.question_id == 2);
    CHECK(json::parse(r.element)["question_text"] == "Why?");
    auto e = parse_ok<session_end>(R"({"type":"session_end","session_id":")" + sid + R"("})");
    CHECK(e.session_id == sid);
  }

  TEST_CASE("answers malformed text with its error code") {
    CHECK(parse_err("not json") == ec::bad_json);
    CHECK(parse_err("{\"type\":") == ec::bad_json);
    CHECK(parse_err("[1,2]") == ec::bad_message);
    CHECK(parse_err("{}") == ec::bad_message);
    CHECK(parse_err(R"({"type":7})") == ec::bad_message);
    CHECK(parse_err(R"({"type":"hello"})") == ec::bad_message);
    CHECK(parse_err(R"({"type":"session_init"})") == ec::bad_message);
    CHECK(parse_err(R"({"type":"session_init","session_id":"../../etc"})") == ec::bad_message);
    CHECK(parse_err(R"({"type":"session_init","session_id":")" + sid + R"(","user_id":"x"})") == ec::bad_message);
    std::string audio = R"({"type":"audio_metadata","session_id":")" + sid + "\"";
    CHECK(parse_err(audio + R"(,"size":10})") == ec::bad_message);
    CHECK(parse_err(audio + R"(,"chunk_index":-1,"size":10})") == ec::bad_message);
    CHECK(parse_err(audio + R"(,"chunk_index":4294967296,"size":10})") == ec::bad_message);
    CHECK(parse_err(audio + R"(,"chunk_index":1.5,"size":10})") == ec::bad_message);
    CHECK(parse_err(audio + R"(,"chunk_index":1})") == ec::bad_message);
    CHECK(parse_err(audio + R"(,"chunk_index":1,"size":10,"start_timestamp":"soon"})") == ec::bad_message);
    CHECK(parse_err(audio + R"(,"chunk_index":1,"size":999999999})") == ec::too_large);
    CHECK(parse_err(R"({"type":"frame_metadata","session_id":")" + sid + R"(","frame_index":1,"size":999999999})") ==
          ec::too_large);
    CHECK(parse_err(R"({"type":"response_metadata","session_id":")" + sid + R"("})") == ec::bad_message);
    CHECK(parse_err(R"({"type":"session_end"})") == ec::bad_message);
    CHECK(parse_err(std::string(limits.max_text_bytes + 1, ' ')) == ec::too_large);
  }

  // Both would be stored, then refused by PostgreSQL for good: jsonb has no U+0000, and the
  // columns are 32-bit. A refused row used to stop every later row of the node (the batcher
  // retried it at the head of its queue), so they are bad messages at the door instead.
  TEST_CASE("refuses what PostgreSQL cannot store: U+0000 in a text and ids past 32 bits") {
    const std::string response = R"({"type":"response_metadata","session_id":")" + sid + R"(","question_id":1,)";
    CHECK(parse_err(response + R"("question_text":"a\u0000b"})") == ec::bad_message);
    CHECK(parse_ok<response_item>(response + R"("question_text":"a\u0001b"})").question_id == 1);
    const std::string init = R"({"type":"session_init","session_id":")" + sid + "\",";
    CHECK(parse_err(init + R"("user_id":2147483648})") == ec::bad_message);
    CHECK(parse_err(init + R"("user_id":-2147483649})") == ec::bad_message);
    CHECK(parse_err(init + R"("interview_session_id":3000000000})") == ec::bad_message);
    CHECK(parse_ok<session_init>(init + R"("user_id":2147483647,"interview_session_id":-2147483648})").user_id == 2147483647);
  }

  TEST_CASE("reads the binary header and shares the payload without copying") {
    auto frame = bytes(make_blob_header(sid, item_kind::frame, 0x01020304) + "JPEGDATA");
    auto r = parse_blob(frame, limits);
    REQUIRE(std::holds_alternative<blob>(r));
    auto& b = std::get<blob>(r);
    CHECK(b.session_id == sid);
    CHECK(b.kind == item_kind::frame);
    CHECK(b.index == 0x01020304);
    CHECK(std::string(b.payload.data(), b.payload.size()) == "JPEGDATA");
    CHECK(b.payload.buf == frame.buf);
  }

  TEST_CASE("rejects short, unknown-kind and bad-id binary frames") {
    auto err = [](const std::string& s) {
      auto r = parse_blob(bytes(s), limits);
      return std::holds_alternative<error_reply>(r) ? std::get<error_reply>(r).code : ec::none;
    };
    CHECK(err("") == ec::bad_message);
    CHECK(err(make_blob_header(sid, item_kind::audio, 1).substr(0, 40)) == ec::bad_message);
    auto h = make_blob_header(sid, item_kind::audio, 1);
    h[36] = 'x';
    CHECK(err(h) == ec::bad_message);
    CHECK(err(make_blob_header("../../../../etc/passwd", item_kind::audio, 1)) == ec::bad_message);
    CHECK(err(make_blob_header(sid, item_kind::audio, 1)) == ec::none); // empty payload parses
  }

  TEST_CASE("rejects a binary payload above its kind's limit") {
    codec_limits small{100, 50, 1024};
    auto code = [&](item_kind kind, size_t n) {
      auto r = parse_blob(bytes(make_blob_header(sid, kind, 3) + std::string(n, 'x')), small);
      return std::holds_alternative<error_reply>(r) ? std::get<error_reply>(r).code : ec::none;
    };
    CHECK(code(item_kind::audio, 100) == ec::none);
    CHECK(code(item_kind::audio, 101) == ec::too_large);
    CHECK(code(item_kind::frame, 50) == ec::none);
    CHECK(code(item_kind::frame, 51) == ec::too_large);
  }

  TEST_CASE("serializes every server message") {
    auto j = json::parse(serialize(init_ack{sid, true, {{0, 41}, {43, 57}}, {{0, 210}}}));
    CHECK(j["type"] == "session_init_ack");
    CHECK(j["resumed"] == true);
    CHECK(j["audio_received"] == json::parse("[[0,41],[43,57]]"));
    CHECK(j["server_time"].is_string());
    j = json::parse(serialize(item_ack{sid, item_kind::audio, 4, 100, true}));
    CHECK(j["type"] == "audio_ack");
    CHECK(j["chunk_index"] == 4);
    CHECK(j["duplicate"] == true);
    j = json::parse(serialize(item_ack{sid, item_kind::frame, 5, 100, false}));
    CHECK(j["type"] == "frame_ack");
    CHECK(j["frame_index"] == 5);
    j = json::parse(serialize(response_ack{sid, 2}));
    CHECK(j["question_id"] == 2);
    j = json::parse(serialize(end_ack{sid, 58, 290}));
    CHECK(j["total_frames"] == 290);
    j = json::parse(serialize(error_reply{ec::conflict, "stored bytes differ", std::make_pair(item_kind::audio, 7u)}));
    CHECK(j["code"] == "conflict");
    CHECK(j["ref"]["kind"] == "a");
    CHECK(j["ref"]["index"] == 7);
  }

  TEST_CASE("makes index ranges") {
    CHECK(to_ranges({}) == index_ranges{});
    CHECK(to_ranges({3, 1, 2, 2, 7, 9, 8}) == index_ranges{{1, 3}, {7, 9}});
    index_ranges r;
    add_range(r, 5, 6);
    add_range(r, 7, 7);      // adjacent after: extends
    add_range(r, 10, 12);    // a gap: a new range
    add_range(r, 0, 1);      // before all
    CHECK(r == index_ranges{{0, 1}, {5, 7}, {10, 12}});
    add_range(r, 3, 3);      // between, touching neither
    add_range(r, 8, 9);      // joins {5,7} and {10,12}
    CHECK(r == index_ranges{{0, 1}, {3, 3}, {5, 12}});
    add_range(r, 2, 20);     // swallows everything after 1, and joins it
    CHECK(r == index_ranges{{0, 20}});
    add_range(r, 4, 6);      // already held
    add_range(r, UINT32_MAX, UINT32_MAX);
    add_range(r, UINT32_MAX - 1, UINT32_MAX - 1);
    CHECK(r == index_ranges{{0, 20}, {UINT32_MAX - 1, UINT32_MAX}});
    CHECK(range_count(r) == 23);
    CHECK(in_ranges(r, 0));
    CHECK(in_ranges(r, 20));
    CHECK_FALSE(in_ranges(r, 21));
    CHECK(in_ranges(r, UINT32_MAX));
    CHECK_FALSE(in_ranges(index_ranges{}, 0));
    index_ranges front;
    add_range(front, 7, 5); // given backwards
    add_range(front, 3, 4); // adjacent in front: one range
    CHECK(front == index_ranges{{3, 7}});
  }
}
