// The list pager against a simulated server list that changes between fetches: keys deleted (those
// already emitted, the last one emitted, random ones, the front of the list as `list | keyrevoke`
// does), keys inserted at the top, created_at ties. Every key present for the whole run must be
// emitted exactly once, and the pager must end.
#include "keyrevoke/core/list_pager.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <map>
#include <random>
#include <set>

using namespace keyrevoke::core;

namespace {

key_hash make_hash(std::uint64_t id) {
  key_hash h{};
  std::uint64_t x = id * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
  for (std::size_t i = 0; i < h.size(); ++i) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 32;
    h[i] = static_cast<std::uint8_t>(x >> 24);
  }
  return h;
}

struct sim_key {
  key_hash hash;
  unix_micros created;
  std::uint64_t rank;  // the server's (unknown to the pager) order among equal created_at
};

// The server's list: newest first; ties in created_at in an order of the server's own.
class sim_list {
 public:
  sim_list(std::size_t n, std::mt19937_64& rng, unix_micros created_spread) : rng_{rng} {
    for (std::size_t i = 0; i < n; ++i) {
      const auto created = static_cast<unix_micros>(rng_() % static_cast<std::uint64_t>(created_spread));
      keys_.push_back({make_hash(next_id_++), created, rng_()});
    }
    sort();
  }

  std::vector<list_entry> page(std::size_t offset, std::size_t page_size = 100) const {
    std::vector<list_entry> out;
    for (std::size_t i = offset; i < keys_.size() && out.size() < page_size; ++i) {
      out.push_back({keys_[i].hash, keys_[i].created, true});
    }
    return out;
  }

  // Inserted keys are the newest (at or after `now`, ties among themselves allowed).
  void insert_top(std::size_t n, unix_micros now) {
    for (std::size_t i = 0; i < n; ++i) keys_.push_back({make_hash(next_id_++), now, rng_()});
    sort();
  }

  bool erase(const key_hash& h) {
    const auto it = std::find_if(keys_.begin(), keys_.end(), [&](const sim_key& k) { return k.hash == h; });
    if (it == keys_.end()) return false;
    keys_.erase(it);
    return true;
  }

  void erase_at(std::size_t i) { keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(i)); }

  const std::vector<sim_key>& keys() const { return keys_; }
  std::size_t size() const { return keys_.size(); }

 private:
  void sort() {
    std::sort(keys_.begin(), keys_.end(), [](const sim_key& a, const sim_key& b) {
      return a.created != b.created ? a.created > b.created : a.rank < b.rank;
    });
  }

  std::mt19937_64& rng_;
  std::vector<sim_key> keys_;
  std::uint64_t next_id_ = 1;
};

struct run_result {
  std::vector<key_hash> emitted;
  pager_status status;
  std::uint64_t fetches;
  std::uint64_t step_backs;
};

// Fetch, consume, then let `mutate` change the list before the next fetch.
using mutation = std::function<void(sim_list&, const std::vector<key_hash>& emitted, std::uint64_t fetch)>;

run_result run(sim_list& list, const mutation& mutate, const list_pager_config& config = {}) {
  list_pager pager{config};
  run_result r;
  for (std::uint64_t fetch = 0; pager.status() == pager_status::fetch; ++fetch) {
    BOOST_TEST_REQUIRE(fetch < 1000000u);
    const auto page = list.page(pager.offset(), config.page_size);
    for (const std::size_t i : pager.consume(page)) r.emitted.push_back(page[i].hash);
    if (mutate) mutate(list, r.emitted, fetch);
  }
  r.status = pager.status();
  r.fetches = pager.fetches();
  r.step_backs = pager.step_backs();
  BOOST_TEST(r.fetches <= pager.fetch_limit());
  return r;
}

// Keys present before the first fetch and still there at the end.
std::set<key_hash> survivors(const std::vector<key_hash>& initial, const sim_list& end) {
  std::set<key_hash> now;
  for (const sim_key& k : end.keys()) now.insert(k.hash);
  std::set<key_hash> out;
  for (const key_hash& h : initial) {
    if (now.count(h) != 0) out.insert(h);
  }
  return out;
}

std::vector<key_hash> hashes_of(const sim_list& list) {
  std::vector<key_hash> out;
  for (const sim_key& k : list.keys()) out.push_back(k.hash);
  return out;
}

void check_guarantee(const std::vector<key_hash>& initial, const sim_list& end, const run_result& r) {
  BOOST_TEST((r.status == pager_status::complete));
  std::set<key_hash> once;
  std::size_t duplicates = 0;
  for (const key_hash& h : r.emitted) {
    if (!once.insert(h).second) ++duplicates;
  }
  BOOST_TEST(duplicates == 0u);
  std::size_t missed = 0;
  for (const key_hash& h : survivors(initial, end)) {
    if (once.count(h) == 0) ++missed;
  }
  BOOST_TEST(missed == 0u);
}

// Deletes the n keys emitted longest ago that are still listed (what `list | keyrevoke` does).
void delete_oldest_emitted(sim_list& list, const std::vector<key_hash>& emitted, std::size_t& cursor,
                           std::size_t n) {
  for (std::size_t done = 0; done < n && cursor < emitted.size(); ++cursor) {
    if (list.erase(emitted[cursor])) ++done;
  }
}

const std::size_t sizes[] = {0, 1, 2, 99, 100, 101, 199, 200, 250, 1000};

}  // namespace

BOOST_AUTO_TEST_SUITE(list_pager_suite)

BOOST_AUTO_TEST_CASE(stable_lists_are_listed_exactly_once_with_few_fetches) {
  for (const std::size_t n : sizes) {
    for (const unix_micros spread : {unix_micros{1}, unix_micros{7}, unix_micros{1000000000}}) {
      BOOST_TEST_CONTEXT("n " << n << " created_at spread " << spread) {
        std::mt19937_64 rng{n * 31 + static_cast<std::uint64_t>(spread)};
        sim_list list{n, rng, spread};
        const auto initial = hashes_of(list);
        const run_result r = run(list, {});
        check_guarantee(initial, list, r);
        BOOST_TEST(r.emitted == initial);  // in list order
        BOOST_TEST(r.step_backs == 0u);
        // Pages of 100 overlapping by one: 0, 99, 198, ...
        BOOST_TEST(r.fetches == (n < 100 ? 1u : (n - 1) / 99 + 1));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_pipe_deleting_what_was_printed_misses_nothing) {
  // `list | keyrevoke`: after each fetch, some of the keys printed earliest are deleted.
  for (const std::size_t n : sizes) {
    for (const std::size_t per_fetch : {1u, 5u, 30u, 99u, 100u, 150u, 400u}) {
      BOOST_TEST_CONTEXT("n " << n << " deletions per fetch " << per_fetch) {
        std::mt19937_64 rng{n + per_fetch};
        sim_list list{n, rng, 1000000};
        const auto initial = hashes_of(list);
        std::size_t cursor = 0;
        const run_result r = run(list, [&](sim_list& l, const std::vector<key_hash>& emitted, std::uint64_t) {
          delete_oldest_emitted(l, emitted, cursor, per_fetch);
        });
        check_guarantee(initial, list, r);
        BOOST_TEST(r.emitted.size() == n);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(naive_offset_paging_would_miss_keys_in_the_same_simulation) {
  // The simulation has teeth: offset += 100 under the pipe's deletions skips keys.
  std::mt19937_64 rng{7};
  sim_list list{1000, rng, 1000000};
  const auto initial = hashes_of(list);
  std::vector<key_hash> emitted;
  std::size_t cursor = 0;
  for (std::size_t offset = 0;; offset += 100) {
    const auto page = list.page(offset);
    for (const auto& e : page) emitted.push_back(e.hash);
    delete_oldest_emitted(list, emitted, cursor, 30);
    if (page.size() < 100) break;
  }
  std::set<key_hash> got{emitted.begin(), emitted.end()};
  std::size_t missed = 0;
  for (const key_hash& h : survivors(initial, list)) missed += got.count(h) == 0 ? 1u : 0u;
  BOOST_TEST(missed > 0u);
}

BOOST_AUTO_TEST_CASE(deleting_the_last_key_emitted_and_its_neighbours) {
  for (const std::size_t n : sizes) {
    for (const std::size_t burst : {1u, 2u, 10u, 60u}) {
      BOOST_TEST_CONTEXT("n " << n << " burst " << burst) {
        std::mt19937_64 rng{n * 7 + burst};
        sim_list list{n, rng, 5};  // many created_at ties
        const auto initial = hashes_of(list);
        const run_result r = run(list, [&](sim_list& l, const std::vector<key_hash>& emitted, std::uint64_t) {
          // L itself, then the keys emitted just before it.
          for (std::size_t k = 0; k < burst && k < emitted.size(); ++k)
            l.erase(emitted[emitted.size() - 1 - k]);
        });
        check_guarantee(initial, list, r);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(insertions_at_the_top) {
  for (const std::size_t n : sizes) {
    for (const std::size_t per_fetch : {1u, 50u, 100u, 250u}) {
      BOOST_TEST_CONTEXT("n " << n << " insertions per fetch " << per_fetch) {
        std::mt19937_64 rng{n * 11 + per_fetch};
        sim_list list{n, rng, 1000000};
        const auto initial = hashes_of(list);
        unix_micros now = 2000000;
        const run_result r = run(list, [&](sim_list& l, const std::vector<key_hash>&, std::uint64_t fetch) {
          if (fetch < 30) l.insert_top(per_fetch, now += (fetch % 3 == 0 ? 0 : 1));  // ties too
        });
        check_guarantee(initial, list, r);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(random_mutation_sequences) {
  // Deletions of seen keys (L included), of unseen keys, of the list's front, and insertions at the
  // top, mixed at random between fetches. Fixed seeds: reproducible.
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng{seed};
    const std::size_t n = sizes[seed % std::size(sizes)] + (seed % 5 == 0 ? rng() % 700 : 0);
    const unix_micros spread = seed % 3 == 0 ? 3 : 100000;
    BOOST_TEST_CONTEXT("seed " << seed << " n " << n << " spread " << spread) {
      sim_list list{n, rng, spread};
      const auto initial = hashes_of(list);
      unix_micros now = 1000000;
      std::size_t cursor = 0;
      const run_result r =
          run(list, [&](sim_list& l, const std::vector<key_hash>& emitted, std::uint64_t fetch) {
            if (fetch > 200) return;  // the churn ends; the listing must then finish
            const auto roll = rng() % 10;
            if (roll < 3 && !emitted.empty()) {  // seen keys anywhere, sometimes L
              for (std::uint64_t k = rng() % 40; k > 0; --k) l.erase(emitted[rng() % emitted.size()]);
              if (rng() % 2 == 0) l.erase(emitted.back());
            } else if (roll < 5 && l.size() > 0) {  // any keys, seen or not
              for (std::uint64_t k = rng() % 40; k > 0 && l.size() > 0; --k) l.erase_at(rng() % l.size());
            } else if (roll < 7) {  // the pipe
              delete_oldest_emitted(l, emitted, cursor, rng() % 150);
            } else if (roll < 9) {
              l.insert_top(rng() % 120, now += static_cast<unix_micros>(rng() % 2));
            }
          });
      check_guarantee(initial, list, r);
    }
  }
}

BOOST_AUTO_TEST_CASE(without_created_at_anchoring_uses_emitted_keys_alone) {
  for (const std::size_t n : {0u, 100u, 101u, 1000u}) {
    BOOST_TEST_CONTEXT("n " << n) {
      std::mt19937_64 rng{n};
      sim_list list{n, rng, 1000000};
      const auto initial = hashes_of(list);
      list_pager pager;
      std::vector<key_hash> emitted;
      std::size_t cursor = 0;
      while (pager.status() == pager_status::fetch) {
        auto page = list.page(pager.offset());
        for (auto& e : page) e.created_at.reset();
        for (const std::size_t i : pager.consume(page)) emitted.push_back(page[i].hash);
        delete_oldest_emitted(list, emitted, cursor, 40);
      }
      check_guarantee(initial, list, {emitted, pager.status(), pager.fetches(), pager.step_backs()});
    }
  }
}

BOOST_AUTO_TEST_CASE(hashless_objects_keep_their_place) {
  // 250 objects, every 7th without a usable hash: offsets still count them.
  std::vector<list_entry> all;
  for (std::uint64_t i = 0; i < 250; ++i) {
    all.push_back({make_hash(i), static_cast<unix_micros>(1000 - i), i % 7 != 3});
  }
  list_pager pager;
  std::set<key_hash> got;
  while (pager.status() == pager_status::fetch) {
    const std::size_t o = pager.offset();
    std::vector<list_entry> page(all.begin() + static_cast<std::ptrdiff_t>(std::min(o, all.size())),
                                 all.begin() + static_cast<std::ptrdiff_t>(std::min(o + 100, all.size())));
    for (const std::size_t i : pager.consume(page)) {
      BOOST_TEST(page[i].usable);
      BOOST_TEST(got.insert(page[i].hash).second);
    }
  }
  BOOST_TEST((pager.status() == pager_status::complete));
  std::size_t usable = 0;
  for (const auto& e : all) usable += e.usable ? 1u : 0u;
  BOOST_TEST(got.size() == usable);
}

BOOST_AUTO_TEST_CASE(a_list_that_never_settles_ends_as_kept_changing) {
  // Offset 0 is stable; every deeper page is brand new keys each time (no anchor, ever).
  std::vector<list_entry> head;
  for (std::uint64_t i = 0; i < 100; ++i)
    head.push_back({make_hash(i), static_cast<unix_micros>(1000000 - i), true});
  std::uint64_t fresh_id = 1000;
  list_pager pager;
  std::uint64_t emitted = 0;
  while (pager.status() == pager_status::fetch) {
    std::vector<list_entry> page = head;
    if (pager.offset() != 0) {
      for (auto& e : page)
        e = {make_hash(fresh_id++), static_cast<unix_micros>(1000 - (fresh_id % 500)), true};
    }
    emitted += pager.consume(page).size();
    BOOST_TEST_REQUIRE(pager.fetches() < 10000u);
  }
  BOOST_TEST((pager.status() == pager_status::kept_changing));
  BOOST_TEST(emitted == 100u);
  BOOST_TEST(pager.fetches() == pager.fetch_limit());
}

BOOST_AUTO_TEST_CASE(an_empty_page_past_the_end_steps_back) {
  list_pager pager;
  std::vector<list_entry> full;
  for (std::uint64_t i = 0; i < 100; ++i)
    full.push_back({make_hash(i), static_cast<unix_micros>(500 - i), true});
  BOOST_TEST(pager.consume(full).size() == 100u);
  BOOST_TEST(pager.offset() == 99u);
  // The list shrank to 50 (the first 50 deleted) before the next fetch: offset 99 is empty.
  BOOST_TEST(pager.consume({}).empty());
  BOOST_TEST((pager.status() == pager_status::fetch));
  BOOST_TEST(pager.offset() == 0u);
  const std::vector<list_entry> rest(full.begin() + 50, full.end());
  BOOST_TEST(pager.consume(rest).empty());  // all seen: anchored, short: the end
  BOOST_TEST((pager.status() == pager_status::complete));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(list_pager_efficiency)

BOOST_AUTO_TEST_CASE(racing_a_steady_revoker_costs_few_extra_fetches) {
  // A revoker that deletes about as many keys per fetch as a page holds: the pager leads by the drift.
  for (const std::size_t per_fetch : {0u, 10u, 30u, 60u, 100u, 130u}) {
    BOOST_TEST_CONTEXT("deletions per fetch " << per_fetch) {
      std::mt19937_64 rng{per_fetch};
      sim_list list{5000, rng, 1000000000};
      const auto initial = hashes_of(list);
      std::size_t cursor = 0;
      const run_result r = run(list, [&](sim_list& l, const std::vector<key_hash>& emitted, std::uint64_t) {
        // Jittery, like a real pipe: between half and one and a half times the mean.
        const std::size_t n = per_fetch == 0 ? 0 : per_fetch / 2 + rng() % (per_fetch + 1);
        delete_oldest_emitted(l, emitted, cursor, n);
      });
      check_guarantee(initial, list, r);
      BOOST_TEST_MESSAGE("deletions/fetch " << per_fetch << ": " << r.fetches << " fetches, " << r.step_backs
                                            << " step-backs for 5000 keys");
      // Naive paging would need 50; without dead reckoning, a revoker that keeps pace costs two
      // fetches a page (100). The bound the pager enforces is 3 a page.
      BOOST_TEST(r.fetches <= (per_fetch >= 100 ? 75u : 100u));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
