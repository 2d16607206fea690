#pragma once
// A private PostgreSQL schema per test case (the libpqxx test habit: a real, throwaway database).
//
// The server URL comes from MEDIASPOOL_TEST_DB_URL, e.g. (scripts/pg.sh url ...)
//   postgresql://postgres@/mediaspool?host=/path/to/sock&port=55434
// The fixture creates a schema with a random name and gives `url`: the same URL whose sessions
// use that schema as search_path, so unqualified table names (the store's SQL) land in it and
// test cases cannot see each other's tables. The schema is dropped (CASCADE) at the end.
//
// The search_path travels as the libpq connection option `options`, verified with libpq 15:
//   URI form:       ...&options=-csearch_path%3D<schema>          ('=' percent-encoded)
//   key=value form: ... options='-csearch_path=<schema>'
// `application_name=<schema>` is also set, so a test can find the store's backend in
// pg_stat_activity (e.g. to terminate it).
#include "storage/pg_store.hpp"

#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include <cstdlib>
#include <random>
#include <string>

namespace mediaspool::test {

/// The server URL from the environment; fails the current test case if it is not set.
inline std::string test_db_url() {
  const char* url = std::getenv("MEDIASPOOL_TEST_DB_URL");
  if (url == nullptr || *url == '\0')
    FAIL("MEDIASPOOL_TEST_DB_URL is not set: start a cluster (scripts/pg.sh start <dir> <port>) "
         "and export MEDIASPOOL_TEST_DB_URL=$(scripts/pg.sh url <dir> <port>)");
  return url;
}

/// `url` with libpq options that select `schema` and name the application `schema`.
/// `schema` must be a plain identifier ([a-z0-9_]); no quoting is done.
inline std::string url_with_schema(const std::string& url, const std::string& schema) {
  const bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (uri) {
    const char sep = url.find('?') == std::string::npos ? '?' : '&';
    return url + sep + "options=-csearch_path%3D" + schema + "&application_name=" + schema;
  }
  return url + " options='-csearch_path=" + schema + "' application_name=" + schema;
}

/// Per-test-case schema. Use with TEST_CASE_FIXTURE.
struct pg_fixture {
  pg_fixture() : base_url(test_db_url()), schema(random_schema_name()) {
    pqxx::connection c{base_url};
    pqxx::nontransaction n{c};
    n.exec("CREATE SCHEMA " + n.quote_name(schema));
    url = url_with_schema(base_url, schema);
  }

  ~pg_fixture() {
    // Best effort: a failed drop must not turn a passing test into a crash.
    try {
      pqxx::connection c{base_url};
      pqxx::nontransaction n{c};
      n.exec("DROP SCHEMA IF EXISTS " + n.quote_name(schema) + " CASCADE");
    } catch (const std::exception& e) {
      MESSAGE("could not drop test schema " << schema << ": " << e.what());
    }
  }

  pg_fixture(const pg_fixture&) = delete;
  pg_fixture& operator=(const pg_fixture&) = delete;

  /// Creates the store's tables in this test's schema (storage::pg_store::migrate).
  void migrate_store() const {
    storage::pg_store store{url};
    auto st = store.migrate();
    REQUIRE_MESSAGE(st.ok(), "migrate failed: " << st.message);
  }

  /// Runs one statement in the test schema (autocommit) and returns its result.
  pqxx::result query(const std::string& sql) const {
    pqxx::connection c{url};
    pqxx::nontransaction n{c};
    return n.exec(sql);
  }

  /// Runs one statement and returns the first column of its single row as T.
  template <class T>
  T scalar(const std::string& sql) const {
    auto r = query(sql);
    REQUIRE_MESSAGE(r.size() == 1, "expected one row from: " << sql);
    return r[0][0].as<T>();
  }

  std::string base_url; ///< the server URL, default search_path
  std::string schema;   ///< this test case's schema
  std::string url;      ///< base_url with search_path = schema

private:
  static std::string random_schema_name() {
    std::random_device rd;
    std::mt19937_64 gen{(static_cast<uint64_t>(rd()) << 32) ^ rd()};
    static const char digits[] = "0123456789abcdef";
    std::string name = "t_";
    for (uint64_t x = gen(), i = 0; i < 16; ++i, x >>= 4)
      name += digits[x & 15];
    return name;
  }
};

} // namespace mediaspool::test
