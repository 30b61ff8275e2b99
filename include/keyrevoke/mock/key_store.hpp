#pragma once
// The mock's keys: what exists, what was deleted or disabled, and how often each hash was asked for.
// No sockets and no clock reads (times are parameters), but not pure: with --store-journal it appends
// each deletion to a file (open_journal, journal_append). Thread-safe: the hash -> key index is
// a flat open-addressing table, immutable after load (lock-free O(1) lookups); each key's mutable
// state is guarded by one of 256 mutexes chosen by the hash's first byte. Listing order is fixed at
// load time and a pair of Fenwick trees of atomics answers "the k-th visible key" in O(log n).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keyrevoke/core/key_hash.hpp"

namespace keyrevoke::mock {

using core::key_hash;
using unix_seconds = std::chrono::sys_seconds;

// A key as the API shows it (the `data` object of GET /keys/{hash}).
struct key_view {
  key_hash hash{};
  std::uint32_t ordinal = 0;  // generation / file order; names and labels derive from it
  std::string name;
  std::string label;
  bool disabled = false;
  std::optional<double> limit;
  double usage = 0;
  unix_seconds created_at{};
  std::optional<unix_seconds> updated_at;
};

// Per-hash ground truth for the admin endpoint.
struct hash_counters {
  key_hash hash{};
  bool known = false;               // in the store (deleted or not); false: a hash we never had
  bool deleted = false;
  std::uint32_t delete_requests = 0;  // DELETEs that reached the store
  std::uint32_t deletes_ok = 0;       // 200s (0 or 1; 1 also for deletes replayed from the journal)
  std::uint32_t not_found_after_delete = 0;
  std::uint32_t patch_requests = 0;  // PATCHes that reached the store (ghosts included)
  std::uint32_t get_requests = 0;    // GET /keys/{hash} that reached the store
};

struct store_totals {
  std::uint64_t total = 0;
  std::uint64_t remaining = 0;
  std::uint64_t deleted = 0;
  std::uint64_t disabled = 0;  // not deleted, disabled
};

enum class erase_result { deleted, not_found };

// ISO-8601 UTC, "2025-01-31T12:34:56Z".
std::string format_iso8601(unix_seconds t);

class key_store {
 public:
  // `count` generated keys, deterministic from `seed`; created_at spread over the 90 days before
  // `now` (truncated to the UTC day, so a restart the same day rebuilds identical keys).
  // With `management`, the store also holds that key (the management key's own hash: name
  // `management`, label `mgmt`, enabled), listed like the others but not in generation order
  // (hashes_in_generation_order() leaves it out). Deleting or disabling it sets
  // management_key_revoked(). Ignored if the hash is already among the keys.
  static std::unique_ptr<key_store> generate(std::size_t count, std::uint64_t seed, unix_seconds now,
                                             std::optional<key_hash> management = std::nullopt);
  // One hash per line (blank lines and `#` comments skipped; any case accepted). Duplicates are
  // ignored. Throws std::runtime_error naming the line on a malformed hash.
  static std::unique_ptr<key_store> from_hashes(std::vector<key_hash> hashes, std::uint64_t seed,
                                                unix_seconds now,
                                                std::optional<key_hash> management = std::nullopt);
  static std::unique_ptr<key_store> load_file(const std::string& path, std::uint64_t seed,
                                              unix_seconds now,
                                              std::optional<key_hash> management = std::nullopt);

  ~key_store();
  key_store(const key_store&) = delete;
  key_store& operator=(const key_store&) = delete;

  // Journal of deleted hashes: replays `path` (deleted hashes, one per line) if it exists, then
  // appends every successful delete to it (flushed per line). Returns the number replayed.
  std::size_t open_journal(const std::string& path);

  // 200 the first time, 404 afterwards (and for hashes never known).
  erase_result erase(const key_hash& hash);
  // No counting: for the mock's own use and tests.
  std::optional<key_view> get(const key_hash& hash) const;
  // A GET /keys/{hash}: get(), counted per hash (get_requests).
  std::optional<key_view> get_counted(const key_hash& hash);
  // A PATCH: nullopt when not found (or deleted). Counted per hash (patch_requests).
  std::optional<key_view> set_disabled(const key_hash& hash, bool disabled, unix_seconds now);

  // Ghost writes: counted like the real request, but the store does not change.
  // A DELETE: true when the key exists (the server may claim it deleted it), false otherwise.
  bool ghost_erase(const key_hash& hash);
  // A PATCH: the key as it would look with `disabled` set at `now`, or nullopt when not found.
  std::optional<key_view> ghost_set_disabled(const key_hash& hash, bool disabled, unix_seconds now);

  static constexpr std::size_t page_size = 100;
  // Newest first; `offset` counts visible keys (not deleted; disabled only if include_disabled); at
  // most `limit` keys.
  std::vector<key_view> list(std::size_t offset, bool include_disabled, std::size_t limit = page_size) const;

  store_totals totals() const noexcept;
  // Hashes whose DELETE reached the store more than once (a retry, or a client bug).
  std::uint64_t hashes_requested_more_than_once() const noexcept { return repeated_.load(); }
  // DELETEs of hashes the store had already deleted: 404-after-200, the double-delete indicator.
  std::uint64_t not_found_after_delete() const noexcept { return not_found_after_delete_.load(); }
  std::uint64_t unknown_hash_deletes() const noexcept { return unknown_deletes_.load(); }
  std::uint64_t patch_requests() const noexcept { return patch_requests_.load(); }
  // Hashes PATCHed more than once.
  std::uint64_t patched_more_than_once() const noexcept { return patched_repeated_.load(); }
  std::uint64_t get_key_requests() const noexcept { return get_requests_.load(); }
  // The management key's own entry (see generate()) was deleted or disabled.
  bool management_key_revoked() const noexcept { return management_revoked_.load(); }
  bool management_key_listed() const noexcept { return management_pos_ != npos; }
  // Per-hash counters of every hash DELETEd or PATCHed more than once (known or not).
  std::vector<hash_counters> repeated_hashes() const;
  std::optional<hash_counters> counters(const key_hash& hash) const;
  // Every key's hash in generation order (what --hashes-out writes).
  std::vector<key_hash> hashes_in_generation_order() const;

 private:
  struct entry;
  struct unknown_entry {
    std::uint32_t delete_requests = 0;
    std::uint32_t patch_requests = 0;
    std::uint32_t get_requests = 0;
  };
  struct hash_hasher {
    std::size_t operator()(const key_hash& h) const noexcept;
  };
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<key_hash, unknown_entry, hash_hasher> unknown;  // hashes we never had
  };
  class fenwick;

  key_store(std::vector<entry> entries, std::uint64_t seed);
  shard& shard_of(const key_hash& h) const noexcept;
  // The unknown hash's counters (created if there is room), or nullptr once the table is full.
  unknown_entry* track_unknown_locked(shard& sh, const key_hash& hash);
  // Per-hash request counting; the caller holds the hash's shard lock.
  void count_delete_locked(std::uint32_t& delete_requests) noexcept;
  void count_patch_locked(std::uint32_t& patch_requests) noexcept;
  static hash_counters counters_of(const entry& e);
  // Position of `h` in entries_, or npos.
  std::size_t find(const key_hash& h) const noexcept;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  key_view view_of(const entry& e) const;
  std::optional<key_view> patch(const key_hash& hash, bool disabled, unix_seconds now, bool apply);
  void journal_append(const key_hash& hash);
  bool mark_deleted_locked(entry& e);

  std::vector<entry> entries_;  // listing order: newest first
  std::vector<std::uint32_t> index_;  // open addressing, linear probing; slot -> position or empty
  std::size_t index_mask_ = 0;
  std::uint64_t seed_;
  std::unique_ptr<shard[]> shards_;
  std::unique_ptr<fenwick> all_visible_;      // not deleted
  std::unique_ptr<fenwick> enabled_visible_;  // not deleted, not disabled
  std::atomic<std::uint64_t> deleted_{0};
  std::atomic<std::uint64_t> disabled_{0};
  std::atomic<std::uint64_t> repeated_{0};
  std::atomic<std::uint64_t> not_found_after_delete_{0};
  std::atomic<std::uint64_t> unknown_deletes_{0};
  std::atomic<std::uint64_t> unknown_tracked_{0};
  std::atomic<std::uint64_t> patch_requests_{0};
  std::atomic<std::uint64_t> patched_repeated_{0};
  std::atomic<std::uint64_t> get_requests_{0};
  std::size_t management_pos_ = npos;  // position of the management key's entry
  std::atomic<bool> management_revoked_{false};
  std::mutex journal_mutex_;
  std::FILE* journal_ = nullptr;
};

}  // namespace keyrevoke::mock
