#pragma once
// The dedup / resume set: about 30 bytes per hash, no node per entry, no doubling rehash.
//
// 65536 buckets, each a sorted vector of the 30 bytes that the bucket index does not determine.
// The bucket index is the first two bytes XOR a mix of the other 30, so hashes that share a prefix
// (counters, test data) still spread evenly, and the mapping stays invertible (nothing is lost).
// A bucket grows by ~1.25x, so at 1M entries the set holds ~36 MiB and never a transient double.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "keyrevoke/core/key_hash.hpp"

namespace keyrevoke::core {

class hash_set {
 public:
  hash_set() = default;

  bool insert(const key_hash& h);  // true if newly inserted
  bool contains(const key_hash& h) const noexcept;
  bool erase(const key_hash& h) noexcept;  // true if it was there (its bucket keeps its capacity)
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t memory_bytes() const noexcept;  // heap bytes held (approximate: no malloc overhead)
  std::size_t largest_bucket() const noexcept;  // entries in the fullest bucket (a spread diagnostic)

 private:
  static constexpr std::size_t bucket_count = 65536;
  using tail = std::array<std::uint8_t, 30>;  // the hash without its first two bytes
  using bucket = std::vector<tail>;

  std::vector<bucket> buckets_;  // empty until the first insert
  std::size_t size_ = 0;
  std::size_t tail_bytes_ = 0;  // sum of bucket capacities, in bytes
};

}  // namespace keyrevoke::core
