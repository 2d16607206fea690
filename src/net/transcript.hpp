#pragma once
// GET /api/sessions/{sid}/transcript: the session row (as the detail route returns it) turned
// into a transcript with absolute timings and question sections. Pure: no I/O, no actors.
//
// Time axis: a segment's absolute time is its chunk's `start_timestamp` plus the word offsets the
// engine gave; its offset (`start_s`) counts from the first chunk's start, which is also where
// `recording.webm` starts (the assembler places chunks by the same clock), so the VTT cues line
// up with the whole recording. Chunks without words become one segment spanning the chunk.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mediaspool::net {

struct transcript_segment {
  uint32_t chunk_index = 0;
  int64_t start_us = 0; ///< absolute, microseconds since the epoch (client clock)
  int64_t end_us = 0;
  std::string text;
  std::optional<int64_t> question_id; ///< the answer whose time span holds the segment's start
};

struct transcript_question {
  int64_t question_id = 0;
  std::string question_text;
  int64_t start_us = 0;
  int64_t end_us = 0;
};

struct transcript {
  std::string session_id;
  int64_t origin_us = 0;     ///< start of the first chunk: offset 0 of every timing
  uint32_t chunks = 0;       ///< audio chunks in the session
  uint32_t pending = 0;      ///< chunks not transcribed yet
  uint32_t failed = 0;       ///< chunks marked processed with a transcription_error
  std::vector<transcript_segment> segments;   ///< in time order
  std::vector<transcript_question> questions; ///< in time order
};

/// Builds the transcript from a session row (`audio_chunks`, `responses`, ...). Never throws on
/// odd elements: fields that are missing or malformed are skipped.
transcript build_transcript(const nlohmann::json& session);

/// {"session_id", "started_at", "complete", "chunks", "pending", "failed", "segments":[{chunk_index,
/// start, end, start_s, end_s, text, question_id}], "questions":[{question_id, question_text,
/// start, end, start_s, end_s, text}]}
std::string transcript_json(const transcript& t);

/// Plain text: one line per segment "[hh:mm:ss.mmm] text", a heading per question.
std::string transcript_txt(const transcript& t);

/// WebVTT: one cue per segment (offsets from the recording start), a NOTE per question.
std::string transcript_vtt(const transcript& t);

/// "hh:mm:ss.mmm" for a non-negative offset in microseconds.
std::string format_offset(int64_t micros);

} // namespace mediaspool::net
