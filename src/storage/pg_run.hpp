#pragma once
// Private to pg_store*.cpp: the connection wrapper and the one place where libpqxx exceptions
// become a status. Shared by pg_store.cpp (ingest, schema) and pg_queries.cpp (review and
// transcription queries), which keeps each file to one job.
#include "storage/pg_store.hpp"

#include <pqxx/pqxx>

#include <string>

namespace mediaspool::storage {

struct pg_store::connection {
  explicit connection(const std::string& url) : c(url) {}
  pqxx::connection c;
};

template <class F>
status pg_store::run(const char* what, F&& f) {
  if (auto st = connect(); !st.ok())
    return st;
  const std::string prefix = std::string{what} + ": ";
  try {
    f(conn_->c);
    return status::success();
  } catch (const pqxx::in_doubt_error& e) {
    // The connection broke while COMMIT was in flight: the transaction may or may not have
    // committed. Reporting db_unavailable makes the caller replay the batch, which is safe
    // because every write here is idempotent (items ON CONFLICT, arrays rebuilt from items).
    conn_.reset();
    return {errc::db_unavailable, prefix + "commit outcome unknown (connection lost during "
                                             "COMMIT; replay is idempotent): "
                                    + e.what()};
  } catch (const pqxx::broken_connection& e) {
    conn_.reset();
    return {errc::db_unavailable, prefix + e.what()};
  } catch (const pqxx::sql_error& e) {
    if (conn_ && !conn_->c.is_open()) {
      conn_.reset();
      return {errc::db_unavailable, prefix + e.what()};
    }
    const auto& state = e.sqlstate();
    const bool data = state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0;
    return {data ? errc::db_rejected : errc::db_error, prefix + "SQLSTATE " + state + ": " + e.what()};
  } catch (const std::exception& e) {
    // Includes deadlock/serialization rollbacks (pqxx::transaction_rollback): nothing was
    // committed and a retry may succeed.
    if (conn_ && !conn_->c.is_open()) {
      conn_.reset();
      return {errc::db_unavailable, prefix + e.what()};
    }
    return {errc::db_error, prefix + e.what()};
  } catch (...) {
    conn_.reset();
    return {errc::db_error, prefix + "unknown exception"};
  }
}

} // namespace mediaspool::storage
