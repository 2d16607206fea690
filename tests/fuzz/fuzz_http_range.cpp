// Fuzz target: the HTTP Range parser (net/http_range.hpp). The first 8 bytes are the file size,
// the rest the header. A partial range always lies inside the file.
#include "net/http_range.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace mediaspool::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8)
    return 0;
  uint64_t file_size = 0;
  std::memcpy(&file_size, data, 8);
  file_size %= uint64_t{1} << 48;
  auto r = parse_range(std::string_view(reinterpret_cast<const char*>(data + 8), size - 8), file_size);
  if (r.kind == range_kind::partial && (r.first > r.last || r.last >= file_size || r.length() == 0))
    std::abort();
  return 0;
}
