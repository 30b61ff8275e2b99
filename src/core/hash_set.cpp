#include "keyrevoke/core/hash_set.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace keyrevoke::core {
namespace {

// Mixes the 30 tail bytes into 16 bits (reads them as words; any well-spread function will do,
// it only has to be the same for insert and contains).
std::uint32_t mix_tail(const std::uint8_t* tail) noexcept {
  std::uint64_t words[4] = {0, 0, 0, 0};
  std::memcpy(words, tail, 30);
  std::uint64_t x = words[0] ^ (words[1] * 0x9E3779B97F4A7C15ull) ^ (words[2] * 0xC2B2AE3D27D4EB4Full) ^
                    (words[3] * 0x165667B19E3779F9ull);
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  return static_cast<std::uint32_t>(x >> 48);
}

// Orders tails like memcmp, but decides on the first 8 bytes (big-endian) without a library call:
// random hashes almost never share them.
struct tail_less {
  static std::uint64_t head(const std::uint8_t* p) noexcept {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
    return word;
  }
  template <class Tail>
  bool operator()(const Tail& a, const Tail& b) const noexcept {
    const std::uint64_t x = head(a.data());
    const std::uint64_t y = head(b.data());
    if (x != y) return x < y;
    return std::memcmp(a.data() + 8, b.data() + 8, a.size() - 8) < 0;
  }
};

std::size_t bucket_of(const key_hash& h) noexcept {
  const std::uint32_t prefix = (std::uint32_t{h[0]} << 8) | h[1];
  return (prefix ^ mix_tail(h.data() + 2)) & 0xFFFFu;
}

}  // namespace

bool hash_set::insert(const key_hash& h) {
  if (buckets_.empty()) buckets_.resize(bucket_count);
  bucket& b = buckets_[bucket_of(h)];
  tail t;
  std::memcpy(t.data(), h.data() + 2, t.size());
  const auto pos = std::lower_bound(b.begin(), b.end(), t, tail_less{});
  if (pos != b.end() && !tail_less{}(t, *pos)) return false;

  if (b.size() == b.capacity()) {
    // Grow by ~1.25x (reserve allocates exactly this much in libstdc++), never by doubling.
    const std::size_t index = static_cast<std::size_t>(pos - b.begin());
    const std::size_t old_capacity = b.capacity();
    const std::size_t new_capacity = old_capacity + std::max<std::size_t>(4, old_capacity / 4);
    b.reserve(new_capacity);
    tail_bytes_ += (b.capacity() - old_capacity) * sizeof(tail);
    b.insert(b.begin() + static_cast<std::ptrdiff_t>(index), t);
  } else {
    b.insert(pos, t);
  }
  ++size_;
  return true;
}

bool hash_set::erase(const key_hash& h) noexcept {
  if (buckets_.empty()) return false;
  bucket& b = buckets_[bucket_of(h)];
  tail t;
  std::memcpy(t.data(), h.data() + 2, t.size());
  const auto pos = std::lower_bound(b.begin(), b.end(), t, tail_less{});
  if (pos == b.end() || tail_less{}(t, *pos)) return false;
  b.erase(pos);  // the capacity stays (memory_bytes unchanged)
  --size_;
  return true;
}

bool hash_set::contains(const key_hash& h) const noexcept {
  if (buckets_.empty()) return false;
  const bucket& b = buckets_[bucket_of(h)];
  tail t;
  std::memcpy(t.data(), h.data() + 2, t.size());
  return std::binary_search(b.begin(), b.end(), t, tail_less{});
}

std::size_t hash_set::largest_bucket() const noexcept {
  std::size_t largest = 0;
  for (const bucket& b : buckets_) largest = std::max(largest, b.size());
  return largest;
}

std::size_t hash_set::memory_bytes() const noexcept {
  return buckets_.capacity() * sizeof(bucket) + tail_bytes_;
}

}  // namespace keyrevoke::core
