#pragma once
// Fault injection for tests and drills (issue 6): I/O calls that fail on purpose and named points
// where the process kills itself. Both are off unless armed; an unarmed check is one relaxed
// atomic load, so the hooks stay compiled into the production binary and the tests exercise the
// code that ships. Armed from the config (debug.io-faults, debug.crash-at) or, when
// debug.fault-injection is on, at run time through PUT /api/debug/faults.
//
// This folder is a leaf: storage/, actors/ and net/ may include it; it includes none of them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mediaspool::faults {

/// Which store an I/O call belongs to.
enum class io_scope : uint8_t { spool, media };

/// The kind of I/O call: write covers write()/append, sync covers fsync/fdatasync/syncfs and
/// RocksDB's Sync/Fsync/RangeSync, rename covers rename().
enum class io_op : uint8_t { write, sync, rename };

/// "The nth matching call from now fails with `error`; with `persistent`, every later one too."
/// With `slow_ms`, the call first waits that long (a disk that got slow, not one that fails);
/// `error` 0 then lets it proceed.
struct io_fault {
  io_scope scope = io_scope::spool;
  io_op op = io_op::sync;
  uint64_t nth = 1;
  bool persistent = false;
  int error = 5; ///< errno: EIO (5) or ENOSPC (28); 0 only with slow_ms
  uint32_t slow_ms = 0;
};

/// Parses "<spool|media>.<write|sync|rename>[@N][:persistent][:EIO|:ENOSPC][:slow=MS]", several
/// separated by ','. `slow=MS` alone delays the call and lets it succeed; with EIO or ENOSPC it
/// delays, then fails. Returns nullopt and sets `error` on bad input.
std::optional<std::vector<io_fault>> parse_io_faults(std::string_view spec, std::string& error);

/// Replaces the armed I/O faults (an empty list disarms them all).
void arm_io_faults(std::vector<io_fault> faults);

/// The errno an I/O call in `scope` of kind `op` must fail with, or 0 to proceed. Counts the
/// call against every armed rule that matches it, and first sleeps as long as a slow rule that
/// fires asks (on the caller's thread: the writers are detached actors).
int injected_io_error(io_scope scope, io_op op) noexcept;

/// For POSIX call sites: true, with errno set as the kernel would, if an armed fault fails this
/// call (the caller then skips the real call and takes its error path).
bool fail_call(io_scope scope, io_op op) noexcept;

/// A named place in the data path where the process can be killed (SIGKILL, no clean-up).
struct crash_point {
  std::string name; ///< after-spool-sync, after-file-before-db, mid-batch
  uint64_t nth = 1; ///< on the nth passage from now
};

/// Parses "<name>[@N]" with a known name; nullopt and `error` otherwise.
std::optional<crash_point> parse_crash_point(std::string_view spec, std::string& error);

/// Arms one crash point (nullopt disarms).
void arm_crash_point(std::optional<crash_point> point);

/// Called where a named point is: kills the process with SIGKILL if it is the armed point's nth
/// passage.
void reach(std::string_view point) noexcept;

/// What is armed, and how many injected failures fired, as text for the debug API and logs.
std::string describe();

/// Injected I/O failures and delays since start.
uint64_t io_failures_injected() noexcept;

} // namespace mediaspool::faults
