#include "storage/fault_fs.hpp"

#include "faults/faults.hpp"

#include <rocksdb/file_system.h>

#include <cerrno>
#include <cstring>

namespace mediaspool::storage {

namespace {

using faults::io_op;

// ENOSPC becomes RocksDB's NoSpace, so the spool reports a full disk as such.
rocksdb::IOStatus injected(io_op op) {
  int e = faults::injected_io_error(faults::io_scope::spool, op);
  if (e == 0)
    return rocksdb::IOStatus::OK();
  if (e == ENOSPC)
    return rocksdb::IOStatus::NoSpace("injected", std::strerror(e));
  return rocksdb::IOStatus::IOError("injected", std::strerror(e));
}

class fault_file : public rocksdb::FSWritableFileOwnerWrapper {
public:
  using FSWritableFileOwnerWrapper::FSWritableFileOwnerWrapper;

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = injected(io_op::write); !s.ok())
      return s;
    return target()->Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    if (auto s = injected(io_op::write); !s.ok())
      return s;
    return target()->Append(data, o, info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto s = injected(io_op::write); !s.ok())
      return s;
    return target()->PositionedAppend(data, offset, o, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = injected(io_op::sync); !s.ok())
      return s;
    return target()->Sync(o, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = injected(io_op::sync); !s.ok())
      return s;
    return target()->Fsync(o, dbg);
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    if (auto s = injected(io_op::sync); !s.ok())
      return s;
    return target()->RangeSync(offset, nbytes, o, dbg);
  }
};

class fault_fs : public rocksdb::FileSystemWrapper {
public:
  using FileSystemWrapper::FileSystemWrapper;

  const char* Name() const override { return "MediaspoolFaultFS"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return wrap(target()->NewWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return wrap(target()->ReopenWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return wrap(target()->ReuseWritableFile(f, old, o, r, dbg), r);
  }
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    if (auto s = injected(io_op::rename); !s.ok())
      return s;
    return target()->RenameFile(from, to, o, dbg);
  }

private:
  static rocksdb::IOStatus wrap(rocksdb::IOStatus s, std::unique_ptr<rocksdb::FSWritableFile>* r) {
    if (s.ok())
      *r = std::make_unique<fault_file>(std::move(*r));
    return s;
  }
};

} // namespace

std::unique_ptr<rocksdb::Env> make_fault_injecting_env() {
  return rocksdb::NewCompositeEnv(std::make_shared<fault_fs>(rocksdb::FileSystem::Default()));
}

} // namespace mediaspool::storage
