#pragma once
// The spool's RocksDB file system: the default one, with every append, sync and rename first
// asked whether an injected fault (faults/) should fail it. Unarmed, a call costs one atomic load.
#include <rocksdb/env.h>

#include <memory>

namespace mediaspool::storage {

/// An Env whose file system consults faults::injected_io_error(io_scope::spool, ...).
std::unique_ptr<rocksdb::Env> make_fault_injecting_env();

} // namespace mediaspool::storage
