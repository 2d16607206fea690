#pragma once
// Turns a run_result into the human summary (stdout) and the machine-readable result (JSON) that
// bench/scripts plot. Milliseconds everywhere in the output; MB is 10^6 bytes of payload.
#include "loadgen/options.hpp"
#include "loadgen/runner.hpp"

#include <nlohmann/json_fwd.hpp>

#include <iosfwd>

namespace loadgen {

void print_summary(std::ostream& out, const options& o, const run_result& r);
nlohmann::json to_json(const options& o, const run_result& r);

} // namespace loadgen
