#pragma once
// Whether two stores share a filesystem. The spool's syncs are what acks wait for; with the media
// files on the same filesystem they were measured far slower and less even (README, "What bounds
// the targets not met"), so the server says so at start.
#include <filesystem>
#include <optional>

namespace mediaspool::storage {

/// True when `a` and `b` are on one filesystem (same device), false when not, nullopt when
/// either cannot be looked at. A path not made yet counts as its nearest existing ancestor's.
std::optional<bool> same_filesystem(const std::filesystem::path& a, const std::filesystem::path& b);

} // namespace mediaspool::storage
