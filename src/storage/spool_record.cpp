#include "storage/spool_record.hpp"

namespace mediaspool::storage::record_format {

namespace {

// Record layout (see encode_value). Bump the version when the header changes; a record with an
// unknown version is reported as corruption rather than guessed at. Version 1 held the payload
// inline (still read, so a spool written by an older server recovers); version 2 holds a
// locator into the payload log.
constexpr uint8_t record_version_inline = 1;
constexpr uint8_t record_version = 2;
constexpr size_t locator_bytes = 4 * 8;
constexpr size_t fixed_header_bytes = 1 + 8 + 2 + 4;

template <class T>
void put_le(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

template <class T>
T get_le(const char* in) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<T>(static_cast<uint8_t>(in[i])) << (8 * i);
  return value;
}

} // namespace

std::string session_prefix(const std::string& session_id) {
  std::string out;
  out.reserve(records_prefix.size() + session_id.size() + 1);
  out.append(records_prefix).append(session_id).push_back('/');
  return out;
}

std::string encode_key(const item_key& key) {
  std::string out = session_prefix(key.session_id);
  out.push_back(key.kind);
  out.push_back('/');
  // Big-endian, so the byte order of keys is the numeric order of indexes.
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((key.index >> shift) & 0xff));
  return out;
}

namespace {

// Long enough for "i/", a session id of at least one byte and the suffix, and under "i/".
bool has_record_key_shape(std::string_view raw) {
  return raw.size() >= records_prefix.size() + 1 + key_suffix_bytes
         && raw.substr(0, records_prefix.size()) == records_prefix;
}

class key_without_index_transform final : public rocksdb::SliceTransform {
public:
  const char* Name() const override { return "mediaspool.key_without_index"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), key.size() - key_index_bytes};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return has_record_key_shape({key.data(), key.size()});
  }
};

} // namespace

std::shared_ptr<const rocksdb::SliceTransform> key_without_index() {
  static const auto transform = std::make_shared<const key_without_index_transform>();
  return transform;
}

std::optional<item_key> decode_key(std::string_view raw) {
  if (!has_record_key_shape(raw))
    return std::nullopt;
  auto suffix = raw.substr(raw.size() - key_suffix_bytes);
  if (raw[raw.size() - key_suffix_bytes - 1] != '/' || suffix[1] != '/')
    return std::nullopt;
  item_key key;
  auto id_size = raw.size() - records_prefix.size() - key_suffix_bytes - 1;
  key.session_id = std::string{raw.substr(records_prefix.size(), id_size)};
  key.kind = suffix[0];
  for (size_t i = 2; i < key_suffix_bytes; ++i)
    key.index = (key.index << 8) | static_cast<uint8_t>(suffix[i]);
  return key;
}

void encode_value(const spool_entry& e, const payload_locator& loc, std::string& out) {
  out.clear();
  out.reserve(fixed_header_bytes + e.file_name.size() + e.element.size() + locator_bytes);
  out.push_back(static_cast<char>(record_version));
  put_le<uint64_t>(out, e.hash);
  put_le<uint16_t>(out, static_cast<uint16_t>(e.file_name.size()));
  out.append(e.file_name);
  put_le<uint32_t>(out, static_cast<uint32_t>(e.element.size()));
  out.append(e.element);
  put_le<uint64_t>(out, loc.segment);
  put_le<uint64_t>(out, loc.offset);
  put_le<uint64_t>(out, loc.length);
  put_le<uint64_t>(out, loc.checksum);
}

std::optional<header_view> decode_value(std::string_view raw) {
  if (raw.size() < fixed_header_bytes)
    return std::nullopt;
  const auto version = static_cast<uint8_t>(raw[0]);
  if (version != record_version && version != record_version_inline)
    return std::nullopt;
  header_view h;
  size_t pos = 1;
  h.hash = get_le<uint64_t>(raw.data() + pos);
  pos += 8;
  size_t name_len = get_le<uint16_t>(raw.data() + pos);
  pos += 2;
  if (raw.size() - pos < name_len + 4)
    return std::nullopt;
  h.file_name = raw.substr(pos, name_len);
  pos += name_len;
  size_t element_len = get_le<uint32_t>(raw.data() + pos);
  pos += 4;
  if (raw.size() - pos < element_len)
    return std::nullopt;
  h.element = raw.substr(pos, element_len);
  pos += element_len;
  if (version == record_version_inline) {
    h.inline_payload = true;
    h.payload = raw.substr(pos);
    return h;
  }
  if (raw.size() - pos != locator_bytes)
    return std::nullopt;
  h.loc.segment = get_le<uint64_t>(raw.data() + pos);
  h.loc.offset = get_le<uint64_t>(raw.data() + pos + 8);
  h.loc.length = get_le<uint64_t>(raw.data() + pos + 16);
  h.loc.checksum = get_le<uint64_t>(raw.data() + pos + 24);
  return h;
}

} // namespace mediaspool::storage::record_format
