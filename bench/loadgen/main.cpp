// loadgen: browser recorders at scale against a mediaspool server (or bench/sink). See --help.
#include "loadgen/options.hpp"
#include "loadgen/recorder_model.hpp"
#include "loadgen/report.hpp"
#include "loadgen/runner.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sys/resource.h>
#include <unistd.h>

namespace {

using namespace loadgen;

// 10,000 sessions need 10,000 descriptors; the soft limit is often 1,024.
void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int emit_payload(const options& o) {
  unsigned session = 0, index = 0;
  char k = 0;
  if (std::sscanf(o.emit_payload.c_str(), "%u,%c,%u", &session, &k, &index) != 3 || (k != 'a' && k != 'f')) {
    std::cerr << "loadgen: --emit-payload wants SESSION,a|f,INDEX\n";
    return 2;
  }
  recorder_model m(o);
  auto bytes = m.payload(session, k == 'a' ? kind::audio : kind::frame, index);
  std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::cerr << "session " << session << " is " << m.session_uuid(session) << " (run id " << o.run_id << "); "
            << bytes.size() << " bytes\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  int code = 0;
  if (!parse_options(argc, argv, o, code))
    return code;
  if (o.run_id == 0) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    o.run_id = mix(static_cast<uint64_t>(now), static_cast<uint64_t>(getpid())) & 0xffffffffffffull;
  }
  if (!o.emit_payload.empty())
    return emit_payload(o);
  raise_nofile();
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < o.sessions + 64)
    std::cerr << "loadgen: warning: the descriptor limit " << rl.rlim_cur << " is below " << o.sessions
              << " sessions; connects will fail\n";

  std::string origin = o.origin == "auto" ? "http://" + o.host + ":" + o.port : o.origin == "none" ? "" : o.origin;
  try {
    recorder_model model(o);
    auto r = run(o, model, origin);
    print_summary(std::cout, o, r);
    if (!o.json_path.empty()) {
      std::ofstream out(o.json_path);
      out << to_json(o, r).dump(1) << "\n";
      if (!out) {
        std::cerr << "loadgen: cannot write " << o.json_path << "\n";
        return 1;
      }
    }
    return r.total->missing == 0 && r.total->sessions_failed == 0 ? 0 : 3;
  } catch (const std::exception& e) {
    std::cerr << "loadgen: " << e.what() << "\n";
    return 1;
  }
}
