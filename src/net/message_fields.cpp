#include "net/message_fields.hpp"

#include <nlohmann/json.hpp>

namespace mediaspool::net {

namespace {

using json = nlohmann::json;

// Keeps the root object's members with scalar values; counts depth to skip nested ones.
class collector : public nlohmann::json_sax<json> {
public:
  explicit collector(std::vector<std::pair<std::string, field_value>>& members) : members_(members) {}

  bool root_object = false;

  bool null() override { return scalar({}); }
  bool boolean(bool v) override {
    field_value f;
    f.type = field_value::kind::boolean;
    f.boolean = v;
    return scalar(std::move(f));
  }
  bool number_integer(number_integer_t v) override {
    field_value f;
    f.type = v < 0 ? field_value::kind::negative : field_value::kind::non_negative;
    f.negative = v;
    f.non_negative = static_cast<uint64_t>(v);
    return scalar(std::move(f));
  }
  bool number_unsigned(number_unsigned_t v) override {
    field_value f;
    f.type = field_value::kind::non_negative;
    f.non_negative = v;
    return scalar(std::move(f));
  }
  bool number_float(number_float_t, const string_t&) override {
    field_value f;
    f.type = field_value::kind::floating;
    return scalar(std::move(f));
  }
  bool string(string_t& v) override {
    field_value f;
    f.type = field_value::kind::string;
    f.text = std::move(v);
    return scalar(std::move(f));
  }
  bool binary(binary_t&) override { return scalar(structured()); }
  bool start_object(std::size_t) override {
    if (depth_ == 0)
      root_object = true;
    else
      nested();
    ++depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1)
      key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    nested();
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
  static field_value structured() {
    field_value f;
    f.type = field_value::kind::structured;
    return f;
  }
  // A value that opens an object or array: a member of the root is kept as structured.
  void nested() {
    if (depth_ == 1)
      members_.emplace_back(std::move(key_), structured());
  }
  bool scalar(field_value f) {
    if (depth_ == 1)
      members_.emplace_back(std::move(key_), std::move(f));
    return true;
  }

  std::vector<std::pair<std::string, field_value>>& members_;
  std::string key_;
  int depth_ = 0;
};

} // namespace

message_fields::outcome message_fields::parse(std::string_view text) {
  members_.clear();
  collector c{members_};
  if (!json::sax_parse(text.begin(), text.end(), &c))
    return outcome::not_json;
  return c.root_object ? outcome::object : outcome::not_object;
}

const field_value* message_fields::find(std::string_view key) const {
  for (auto it = members_.rbegin(); it != members_.rend(); ++it)
    if (it->first == key)
      return &it->second;
  return nullptr;
}

} // namespace mediaspool::net
