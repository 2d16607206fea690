#pragma once

// Names the calling thread (Linux keeps 15 characters), so `top -H`, `perf` and the benchmark's
// thread split show which actor a detached thread runs instead of CAF's "caf.actor" for all.
// Called from a detached actor's initialisation, which CAF 0.17 runs on the actor's own thread.

namespace mediaspool {

void name_this_thread(const char* name);

} // namespace mediaspool
