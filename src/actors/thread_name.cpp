#include "actors/thread_name.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace mediaspool {

void name_this_thread(const char* name) {
  std::string shortened{name, std::min<size_t>(std::strlen(name), 15)};
  pthread_setname_np(pthread_self(), shortened.c_str());
}

} // namespace mediaspool
