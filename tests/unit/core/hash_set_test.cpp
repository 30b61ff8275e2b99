#include "keyrevoke/core/hash_set.hpp"

#include <boost/test/unit_test.hpp>


#include <random>
#include <vector>

#include "allocation_counter.hpp"
#include "test_scale.hpp"

namespace kc = keyrevoke::core;

namespace {

kc::key_hash random_hash(std::mt19937_64& rng) {
  kc::key_hash h;
  for (std::size_t i = 0; i < h.size(); i += 8) {
    const std::uint64_t word = rng();
    for (std::size_t j = 0; j < 8; ++j) h[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
  }
  return h;
}

// A counter written big-endian into the last (or first) bytes: the shape of generated test data.
kc::key_hash counter_hash(std::uint32_t n, bool at_front) {
  kc::key_hash h{};
  const std::size_t at = at_front ? 0 : h.size() - 4;
  for (std::size_t j = 0; j < 4; ++j) h[at + j] = static_cast<std::uint8_t>(n >> (8 * (3 - j)));
  return h;
}

constexpr std::size_t mib = std::size_t{1024} * 1024;

}  // namespace

BOOST_AUTO_TEST_SUITE(hash_set)

BOOST_AUTO_TEST_CASE(empty_set) {
  const kc::hash_set set;
  BOOST_TEST(set.size() == 0u);
  BOOST_TEST(set.empty());
  BOOST_TEST(set.memory_bytes() == 0u);
  BOOST_TEST(!set.contains(kc::key_hash{}));
}

BOOST_AUTO_TEST_CASE(insert_contains_duplicates) {
  kc::hash_set set;
  kc::key_hash a{};
  kc::key_hash b{};
  b[31] = 1;
  kc::key_hash c{};
  c[0] = 1;  // differs only in a byte that chooses the bucket
  BOOST_TEST(set.insert(a));
  BOOST_TEST(!set.insert(a));
  BOOST_TEST(set.contains(a));
  BOOST_TEST(!set.contains(b));
  BOOST_TEST(!set.contains(c));
  BOOST_TEST(set.insert(b));
  BOOST_TEST(set.insert(c));
  BOOST_TEST(set.contains(b));
  BOOST_TEST(set.contains(c));
  BOOST_TEST(set.size() == 3u);
  BOOST_TEST(!set.empty());
}

BOOST_AUTO_TEST_CASE(erase_removes_one_hash) {
  kc::hash_set set;
  BOOST_TEST(!set.erase(kc::key_hash{}));  // an empty set
  for (std::uint32_t i = 0; i < 1000; ++i) set.insert(counter_hash(i, true));
  const std::size_t memory = set.memory_bytes();
  for (std::uint32_t i = 0; i < 1000; i += 3) BOOST_TEST_REQUIRE(set.erase(counter_hash(i, true)));
  BOOST_TEST(!set.erase(counter_hash(0, true)));     // gone already
  BOOST_TEST(!set.erase(counter_hash(5000, true)));  // never there
  std::size_t wrong = 0;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    if (set.contains(counter_hash(i, true)) != (i % 3 != 0)) ++wrong;
  }
  BOOST_TEST(wrong == 0u);
  BOOST_TEST(set.size() == 1000u - 334u);
  BOOST_TEST(set.memory_bytes() == memory);
  BOOST_TEST(set.insert(counter_hash(0, true)));  // and back
  BOOST_TEST(set.contains(counter_hash(0, true)));
}

BOOST_AUTO_TEST_CASE(hashes_that_share_everything_but_a_counter) {
  for (const bool at_front : {false, true}) {
    BOOST_TEST_CONTEXT("counter at the " << (at_front ? "front" : "back")) {
      kc::hash_set set;
      constexpr std::uint32_t n = 200'000;
      for (std::uint32_t i = 0; i < n; i += 2) BOOST_TEST_REQUIRE(set.insert(counter_hash(i, at_front)));
      std::size_t wrong = 0;
      for (std::uint32_t i = 0; i < n; ++i) {
        if (set.contains(counter_hash(i, at_front)) != (i % 2 == 0)) ++wrong;
      }
      BOOST_TEST(set.size() == n / 2);
      BOOST_TEST(wrong == 0u);
      // Spread evenly: 100k entries in 65536 buckets are ~1.5 each (Poisson), never a pile.
      BOOST_TEST(set.largest_bucket() <= 16u);
      BOOST_TEST(set.largest_bucket() >= 2u);
    }
  }
}

BOOST_AUTO_TEST_CASE(one_million_random_hashes) {
  constexpr std::size_t n = keyrevoke::test::sampled(1'000'000);  // test_scale.hpp
  std::mt19937_64 rng(20240310);
  std::vector<kc::key_hash> hashes(n);
  for (auto& h : hashes) h = random_hash(rng);

  const std::size_t before = keyrevoke::test::heap_bytes_in_use();
  std::size_t heap_delta = 0;
  {
    kc::hash_set set;
    std::size_t inserted = 0;
    for (const auto& h : hashes) inserted += set.insert(h) ? 1u : 0u;
    heap_delta = keyrevoke::test::heap_bytes_in_use() - before;

    BOOST_TEST(inserted == n);
    BOOST_TEST(set.size() == n);
    std::size_t again = 0;
    for (std::size_t i = 0; i < n; i += 7) again += set.insert(hashes[i]) ? 1u : 0u;
    BOOST_TEST(again == 0u);
    BOOST_TEST(set.size() == n);

    std::size_t present = 0;
    {
      keyrevoke::test::allocation_counter allocations;
      for (const auto& h : hashes) present += set.contains(h) ? 1u : 0u;
      BOOST_TEST(allocations.count() == 0u);
    }
    BOOST_TEST(present == n);
    std::size_t strangers = 0;
    for (std::size_t i = 0; i < n; ++i) strangers += set.contains(random_hash(rng)) ? 1u : 0u;
    BOOST_TEST(strangers == 0u);

    BOOST_TEST_MESSAGE("hash_set at 1M: memory_bytes " << set.memory_bytes() << " (" << set.memory_bytes() / mib
                                                       << " MiB), heap delta " << heap_delta << " ("
                                                       << heap_delta / mib << " MiB)");
    BOOST_TEST(set.memory_bytes() >= n * 30);
    BOOST_TEST(set.largest_bucket() <= 64u);  // Poisson(15.3): the fullest of 65536 is ~35
    BOOST_TEST(set.memory_bytes() <= 45 * mib);
  }
  // What malloc really handed out, including its per-allocation overhead (measured through operator
  // new, so the same under ASan; the lower bound shows the measurement saw the 32 MB of hashes).
  BOOST_TEST(heap_delta >= n * 32);
  BOOST_TEST(heap_delta <= 45 * mib);
}

BOOST_AUTO_TEST_CASE(growth_is_gentle) {
  // Peak memory while growing never exceeds the steady state by much: no table doubles.
  std::mt19937_64 rng(7);
  kc::hash_set set;
  std::size_t previous = 0;
  std::size_t largest_step = 0;
  for (std::size_t i = 0; i < 300'000; ++i) {
    set.insert(random_hash(rng));
    const std::size_t now = set.memory_bytes();
    largest_step = std::max(largest_step, now - previous);
    previous = now;
  }
  // The first insert allocates the bucket headers; every later step is one small bucket growing.
  BOOST_TEST(largest_step <= 65536 * sizeof(std::vector<int>) + 4096);
  BOOST_TEST(previous >= 300'000u * 30);
  BOOST_TEST(previous <= 300'000u * 30 * 3 / 2 + 65536 * sizeof(std::vector<int>));
}

BOOST_AUTO_TEST_SUITE_END()
