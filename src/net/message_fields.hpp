#pragma once
// A client message's top-level members, read with nlohmann's SAX parser into a flat list instead
// of a DOM: every item's metadata used to become a std::map tree (a node, a key and a json value
// per member) only to read a few fields, ~40 % of the network thread's parse cost at 1 KiB items.
// No message field is nested, so nested values are skipped and only their kind is kept.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mediaspool::net {

struct field_value {
  enum class kind { null, boolean, negative, non_negative, floating, string, structured };
  kind type = kind::null;
  bool boolean = false;
  int64_t negative = 0;      ///< kind::negative (a JSON integer below 0)
  uint64_t non_negative = 0; ///< kind::non_negative (a JSON integer from 0)
  std::string text;          ///< kind::string
};

class message_fields {
public:
  enum class outcome { object, not_json, not_object };

  /// Parses `text` (strict JSON: one value, UTF-8 checked) and keeps the root object's members.
  outcome parse(std::string_view text);

  /// The member named `key` (the last one when a key repeats, as a DOM keeps), or nullptr.
  const field_value* find(std::string_view key) const;

private:
  std::vector<std::pair<std::string, field_value>> members_;
};

} // namespace mediaspool::net
