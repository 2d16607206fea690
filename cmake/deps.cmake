# Imported targets for every dependency (all from Debian 12 packages).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# CAF 0.17.6: Debian ships no CMake or pkg-config file for it.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
add_library(CAF::core UNKNOWN IMPORTED)
set_target_properties(CAF::core PROPERTIES
  IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)

find_package(Boost 1.74 REQUIRED CONFIG)                 # Boost::headers (Beast, Asio)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx) # PkgConfig::PQXX
find_package(RocksDB 7.8 REQUIRED CONFIG)                # RocksDB::rocksdb-shared
find_package(doctest REQUIRED CONFIG)
include(doctest)
find_package(nlohmann_json 3 REQUIRED CONFIG)
find_package(spdlog REQUIRED CONFIG)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
find_package(OpenSSL REQUIRED)                          # OpenSSL::Crypto (JWT HMAC-SHA256)
# Transcription (issue 5): FFmpeg decode + pocketsphinx 5prealpha with its en-us model.
pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libswresample libavutil)
# Debian's sphinxbase.pc names a non-existent /usr/include/sphinxbase, which CMake rejects for
# an imported target: build the target by hand from the paths that exist.
find_path(POCKETSPHINX_INCLUDE_DIR pocketsphinx.h PATH_SUFFIXES pocketsphinx REQUIRED)
find_path(SPHINXBASE_INCLUDE_DIR sphinxbase/cmd_ln.h PATHS /usr/include/x86_64-linux-gnu REQUIRED)
find_library(POCKETSPHINX_LIBRARY pocketsphinx REQUIRED)
find_library(SPHINXBASE_LIBRARY sphinxbase REQUIRED)
add_library(POCKETSPHINX::pocketsphinx INTERFACE IMPORTED)
set_target_properties(POCKETSPHINX::pocketsphinx PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${POCKETSPHINX_INCLUDE_DIR};${SPHINXBASE_INCLUDE_DIR};${SPHINXBASE_INCLUDE_DIR}/sphinxbase"
  INTERFACE_LINK_LIBRARIES "${POCKETSPHINX_LIBRARY};${SPHINXBASE_LIBRARY}")

# The server's allocator: gperftools' tcmalloc (minimal: no profiler, no libunwind). Buffers are
# allocated on the network thread and freed on the storage threads, which glibc's arenas serve
# poorly: bench/scripts/stage_cost.sh measured 4-5 % less server CPU per item (1 KiB and the
# default mix) and 8 % more items/s at figure-1 load; idle RSS per session unchanged. Only the
# runtime library is packaged without the -dev package (which pulls libunwind-dev): link it by
# its soname.
find_library(TCMALLOC_MINIMAL_LIBRARY NAMES libtcmalloc_minimal.so.4 tcmalloc_minimal REQUIRED)
add_library(TCMALLOC::minimal UNKNOWN IMPORTED)
set_target_properties(TCMALLOC::minimal PROPERTIES IMPORTED_LOCATION "${TCMALLOC_MINIMAL_LIBRARY}")
