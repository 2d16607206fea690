#pragma once
// The spool writer's steps shared by its data path (spool_writer.cpp) and its recovery
// (spool_recovery.cpp). Private to those two files; each runs in the spool writer actor.
#include "actors/spool_writer.hpp"

#include <string>

namespace mediaspool::spool_writer_detail {

/// Hands each file writer its queued jobs in one message.
void send_files(spool_writer_pointer self);

/// Queues a durable item's file and returns its row for the batcher.
storage::pg_item dispatch(spool_writer_pointer self, storage::item_key key, uint64_t hash,
                          std::string file_name, std::string element, shared_bytes payload);

/// Answers the session's end waiters once its items are files and rows.
void finalize_when_idle(spool_writer_pointer self, const std::string& sid);

/// The retry timer (failed files, a closed spool), armed once.
void schedule_retry(spool_writer_pointer self);

/// Re-drives every record the spool holds that is not pending, page by page (recover_page).
void start_recovery(spool_writer_pointer self);

/// Re-drives the next page of records once the previous pages have mostly settled.
void recover_page(spool_writer_pointer self);

/// After a write error: reopens the spool (or arms the retry), and follows every reopen with a
/// recovery pass.
void follow_spool(spool_writer_pointer self);

} // namespace mediaspool::spool_writer_detail
