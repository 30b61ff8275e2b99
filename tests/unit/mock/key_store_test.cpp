// key_store: 200 once then 404, listing order and paging, disable, counters, journal reload.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "keyrevoke/mock/key_store.hpp"

using namespace keyrevoke::mock;
using keyrevoke::core::to_hex;
using namespace std::chrono_literals;

namespace {

const unix_seconds now{std::chrono::sys_days{std::chrono::year{2025} / 6 / 15}.time_since_epoch() + 13h};

key_hash hash_of(std::uint8_t first, std::uint8_t last) {
  key_hash h{};
  h[0] = first;
  h[31] = last;
  return h;
}

struct temp_path {
  std::filesystem::path path;
  explicit temp_path(const char* name)
      : path(std::filesystem::temp_directory_path() /
             (std::string("keyrevoke-mock-test-") + std::to_string(::getpid()) + "-" + name)) {
    std::filesystem::remove(path);
  }
  ~temp_path() { std::filesystem::remove(path); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(key_store_suite)

BOOST_AUTO_TEST_CASE(generation_is_deterministic_per_seed) {
  const auto a = key_store::generate(500, 42, now);
  const auto b = key_store::generate(500, 42, now);
  const auto c = key_store::generate(500, 43, now);
  BOOST_TEST((a->hashes_in_generation_order() == b->hashes_in_generation_order()));
  BOOST_TEST((a->hashes_in_generation_order() != c->hashes_in_generation_order()));
  const auto hashes = a->hashes_in_generation_order();
  BOOST_TEST(std::set<key_hash>(hashes.begin(), hashes.end()).size() == 500u);
  const auto k = a->get(hashes[123]);
  BOOST_TEST_REQUIRE(k.has_value());
  BOOST_TEST(k->name == "key-000123");
  BOOST_TEST((k->label.ends_with("-123") &&
              (k->label.starts_with("ci-") || k->label.starts_with("prod-") ||
               k->label.starts_with("staging-") || k->label.starts_with("dev-"))));
  BOOST_TEST((k->created_at < now));
  BOOST_TEST((k->created_at > now - std::chrono::days{91}));
  BOOST_TEST(!k->updated_at.has_value());
  BOOST_TEST(format_iso8601(k->created_at).size() == 20u);
}

BOOST_AUTO_TEST_CASE(iso8601) {
  BOOST_TEST(format_iso8601(now) == "2025-06-15T13:00:00Z");
  BOOST_TEST(format_iso8601(unix_seconds{0s}) == "1970-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(delete_is_200_once_then_404) {
  const auto store = key_store::from_hashes({hash_of(1, 1), hash_of(2, 2), hash_of(1, 3)}, 1, now);
  struct row {
    key_hash hash;
    erase_result expected;
  };
  const row rows[] = {
      {hash_of(1, 1), erase_result::deleted},   {hash_of(1, 1), erase_result::not_found},
      {hash_of(1, 1), erase_result::not_found}, {hash_of(2, 2), erase_result::deleted},
      {hash_of(9, 9), erase_result::not_found},  // never existed
      {hash_of(9, 9), erase_result::not_found},
  };
  int i = 0;
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("step " << i++ << " " << to_hex(r.hash)) { BOOST_TEST((store->erase(r.hash) == r.expected)); }
  }
  const auto t = store->totals();
  BOOST_TEST(t.total == 3u);
  BOOST_TEST(t.deleted == 2u);
  BOOST_TEST(t.remaining == 1u);
  BOOST_TEST(store->not_found_after_delete() == 2u);
  BOOST_TEST(store->unknown_hash_deletes() == 2u);
  BOOST_TEST(store->hashes_requested_more_than_once() == 2u);  // hash 1,1 and the unknown 9,9
  const auto c = store->counters(hash_of(1, 1));
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c->delete_requests == 3u);
  BOOST_TEST(c->deletes_ok == 1u);
  BOOST_TEST(c->not_found_after_delete == 2u);
  const auto repeated = store->repeated_hashes();
  BOOST_TEST(repeated.size() == 2u);
  BOOST_TEST(!store->get(hash_of(1, 1)).has_value());
  BOOST_TEST(store->get(hash_of(1, 3)).has_value());
}

BOOST_AUTO_TEST_CASE(concurrent_deletes_succeed_exactly_once) {
  const auto store = key_store::generate(2000, 5, now);
  const auto hashes = store->hashes_in_generation_order();
  std::atomic<int> deleted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (const auto& h : hashes) deleted += store->erase(h) == erase_result::deleted ? 1 : 0;
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(deleted.load() == 2000);
  BOOST_TEST(store->not_found_after_delete() == 6000u);
  BOOST_TEST(store->totals().remaining == 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_patches_and_gets_are_counted_exactly) {
  const auto store = key_store::generate(1000, 6, now);
  const auto hashes = store->hashes_in_generation_order();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (const auto& h : hashes) {
        store->set_disabled(h, t % 2 == 0, now);
        store->get_counted(h);
        if (t == 0) store->ghost_set_disabled(h, true, now);
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(store->patch_requests() == 5000u);
  BOOST_TEST(store->patched_more_than_once() == 1000u);
  BOOST_TEST(store->get_key_requests() == 4000u);
  const auto c = store->counters(hashes[500]).value();
  BOOST_TEST(c.patch_requests == 5u);
  BOOST_TEST(c.get_requests == 4u);
  BOOST_TEST(store->repeated_hashes().size() == 1000u);
}

BOOST_AUTO_TEST_CASE(listing_is_newest_first_and_pages_by_100) {
  const auto store = key_store::generate(250, 7, now);
  const auto disabled_at_start = store->totals().disabled;
  BOOST_TEST(disabled_at_start > 0u);  // some keys start disabled, so include_disabled matters
  struct row {
    std::size_t offset;
    bool include_disabled;
    std::size_t expected;
  };
  const std::size_t enabled = 250 - disabled_at_start;
  const row rows[] = {
      {0, true, 100},   {100, true, 100}, {200, true, 50}, {250, true, 0}, {1000, true, 0},
      {0, false, 100},  {200, false, enabled - 200},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("offset " << r.offset << " include_disabled " << r.include_disabled) {
      const auto page = store->list(r.offset, r.include_disabled);
      BOOST_TEST(page.size() == r.expected);
      for (std::size_t i = 1; i < page.size(); ++i) BOOST_TEST_REQUIRE((page[i - 1].created_at >= page[i].created_at));
      if (!r.include_disabled)
        for (const auto& k : page) BOOST_TEST_REQUIRE(!k.disabled);
    }
  }
  // All pages together are every key exactly once.
  std::set<key_hash> seen;
  for (std::size_t offset = 0;; offset += key_store::page_size) {
    const auto page = store->list(offset, true);
    for (const auto& k : page) seen.insert(k.hash);
    if (page.size() < key_store::page_size) break;
  }
  BOOST_TEST(seen.size() == 250u);
}

BOOST_AUTO_TEST_CASE(deleted_keys_leave_the_listing) {
  const auto store = key_store::generate(150, 3, now);
  auto first_page = store->list(0, true);
  const auto newest = first_page.front().hash;
  const auto hundred_and_first = store->list(100, true).front().hash;
  BOOST_TEST((store->erase(newest) == erase_result::deleted));
  const auto after = store->list(0, true);
  BOOST_TEST((after.front().hash == first_page[1].hash));
  BOOST_TEST((after.back().hash == hundred_and_first));  // the next page shifted up by one
  BOOST_TEST(store->list(100, true).size() == 49u);
}

BOOST_AUTO_TEST_CASE(disable_and_enable) {
  const auto store = key_store::generate(300, 11, now);
  const auto enabled_before = store->totals().total - store->totals().disabled;
  const auto target = store->list(0, false).front();
  const auto later = now + 1h;
  const auto disabled = store->set_disabled(target.hash, true, later);
  BOOST_TEST_REQUIRE(disabled.has_value());
  BOOST_TEST(disabled->disabled);
  BOOST_TEST((disabled->updated_at == later));
  BOOST_TEST(store->get(target.hash)->disabled);
  BOOST_TEST(store->totals().total - store->totals().disabled == enabled_before - 1);
  BOOST_TEST((store->list(0, false).front().hash != target.hash));
  BOOST_TEST((store->list(0, true).front().hash == target.hash));
  // Idempotent, then reversible.
  BOOST_TEST(store->set_disabled(target.hash, true, later).has_value());
  BOOST_TEST(store->totals().total - store->totals().disabled == enabled_before - 1);
  BOOST_TEST(!store->set_disabled(target.hash, false, later)->disabled);
  BOOST_TEST((store->list(0, false).front().hash == target.hash));
  // A deleted key cannot be patched, and a deleted disabled key no longer counts as disabled.
  store->set_disabled(target.hash, true, later);
  const auto disabled_count = store->totals().disabled;
  store->erase(target.hash);
  BOOST_TEST(store->totals().disabled == disabled_count - 1);
  BOOST_TEST(!store->set_disabled(target.hash, false, later).has_value());
  BOOST_TEST(!store->set_disabled(hash_of(0xee, 1), true, later).has_value());
}

BOOST_AUTO_TEST_CASE(journal_survives_a_restart) {
  temp_path journal("journal");
  std::vector<key_hash> deleted;
  {
    const auto store = key_store::generate(100, 9, now);
    BOOST_TEST(store->open_journal(journal.path.string()) == 0u);
    const auto hashes = store->hashes_in_generation_order();
    for (std::size_t i = 0; i < 100; i += 3) {
      BOOST_TEST((store->erase(hashes[i]) == erase_result::deleted));
      deleted.push_back(hashes[i]);
    }
    store->erase(hashes[0]);  // a 404: not journaled twice
  }
  {
    // A torn last line (the mock was killed mid-write) is ignored.
    std::ofstream(journal.path, std::ios::app) << "abc123";
  }
  const auto store = key_store::generate(100, 9, now);
  BOOST_TEST(store->open_journal(journal.path.string()) == deleted.size());
  BOOST_TEST(store->totals().deleted == deleted.size());
  for (const auto& h : deleted) {
    BOOST_TEST_CONTEXT(to_hex(h)) {
      BOOST_TEST(!store->get(h).has_value());
      BOOST_TEST((store->erase(h) == erase_result::not_found));
    }
  }
  // A replayed delete counts: deleting it again is a 404-after-200.
  BOOST_TEST(store->not_found_after_delete() == deleted.size());
  const auto remaining = store->hashes_in_generation_order()[1];
  BOOST_TEST((store->erase(remaining) == erase_result::deleted));
  // And the reopened journal keeps appending.
  const auto third = key_store::generate(100, 9, now);
  BOOST_TEST(third->open_journal(journal.path.string()) == deleted.size() + 1);
}

BOOST_AUTO_TEST_CASE(load_file_accepts_comments_blank_lines_and_any_case) {
  temp_path file("keys");
  const std::string a(64, 'a'), b = std::string(63, 'B') + "c";
  std::ofstream(file.path) << "# keys\n" << a << "\n\n  " << b << "\r\n" << a << "\n";
  const auto store = key_store::load_file(file.path.string(), 1, now);
  BOOST_TEST(store->totals().total == 2u);  // the duplicate is dropped
  BOOST_TEST(store->get(*keyrevoke::core::parse_key_hash(b)).has_value());

  temp_path bad("bad");
  std::ofstream(bad.path) << a << "\nnot-a-hash\n";
  BOOST_CHECK_EXCEPTION(key_store::load_file(bad.path.string(), 1, now), std::runtime_error,
                        [](const std::runtime_error& e) { return std::string(e.what()).find(":2:") != std::string::npos; });
}

BOOST_AUTO_TEST_CASE(patch_and_get_are_counted_per_hash) {
  const auto store = key_store::from_hashes({hash_of(1, 1), hash_of(2, 2), hash_of(3, 3)}, 1, now);
  const auto unknown = hash_of(9, 9);
  BOOST_TEST(store->set_disabled(hash_of(1, 1), true, now).has_value());
  BOOST_TEST(store->set_disabled(hash_of(1, 1), false, now).has_value());
  BOOST_TEST(store->set_disabled(hash_of(2, 2), true, now).has_value());
  BOOST_TEST(!store->set_disabled(unknown, true, now).has_value());
  BOOST_TEST(!store->set_disabled(unknown, true, now).has_value());
  BOOST_TEST(store->get_counted(hash_of(1, 1)).has_value());
  BOOST_TEST(store->get_counted(hash_of(3, 3)).has_value());
  BOOST_TEST(!store->get_counted(unknown).has_value());
  BOOST_TEST(store->get(hash_of(3, 3)).has_value());  // not counted
  BOOST_TEST((store->erase(hash_of(3, 3)) == erase_result::deleted));
  BOOST_TEST(!store->get_counted(hash_of(3, 3)).has_value());  // counted, though deleted
  BOOST_TEST(!store->set_disabled(hash_of(3, 3), true, now).has_value());

  BOOST_TEST(store->patch_requests() == 6u);
  BOOST_TEST(store->patched_more_than_once() == 2u);  // 1,1 and the unknown 9,9
  BOOST_TEST(store->get_key_requests() == 4u);  // 1,1; 3,3 twice; the unknown
  BOOST_TEST(store->hashes_requested_more_than_once() == 0u);  // that one stays DELETE-only
  struct row {
    key_hash hash;
    bool known;
    std::uint32_t deletes, patches, gets;
  };
  const row rows[] = {
      {hash_of(1, 1), true, 0, 2, 1},
      {hash_of(2, 2), true, 0, 1, 0},
      {hash_of(3, 3), true, 1, 1, 2},
      {unknown, false, 0, 2, 1},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(to_hex(r.hash)) {
      const auto c = store->counters(r.hash);
      BOOST_TEST_REQUIRE(c.has_value());
      BOOST_TEST(c->known == r.known);
      BOOST_TEST(c->delete_requests == r.deletes);
      BOOST_TEST(c->patch_requests == r.patches);
      BOOST_TEST(c->get_requests == r.gets);
    }
  }
  // repeated_hashes: DELETEd or PATCHed more than once; GETs alone do not count.
  for (int i = 0; i < 3; ++i) store->get_counted(hash_of(2, 2));
  const auto repeated = store->repeated_hashes();
  std::set<key_hash> hashes;
  for (const auto& c : repeated) hashes.insert(c.hash);
  BOOST_TEST((hashes == std::set<key_hash>{hash_of(1, 1), unknown}));
}

BOOST_AUTO_TEST_CASE(ghost_writes_leave_the_store_unchanged) {
  const auto store = key_store::from_hashes({hash_of(1, 1), hash_of(2, 2)}, 1, now);
  const auto before = store->get(hash_of(1, 1)).value();
  BOOST_TEST(store->ghost_erase(hash_of(1, 1)));
  BOOST_TEST(store->ghost_erase(hash_of(1, 1)));
  const auto ghost = store->ghost_set_disabled(hash_of(1, 1), !before.disabled, now + 5s);
  BOOST_TEST_REQUIRE(ghost.has_value());
  BOOST_TEST(ghost->disabled == !before.disabled);  // what the answer claims
  BOOST_TEST((ghost->updated_at == std::optional<unix_seconds>{now + 5s}));
  const auto after = store->get(hash_of(1, 1));
  BOOST_TEST_REQUIRE(after.has_value());  // still there, unchanged
  BOOST_TEST(after->disabled == before.disabled);
  BOOST_TEST(!after->updated_at.has_value());
  BOOST_TEST(store->totals().deleted == 0u);
  BOOST_TEST(store->list(0, true).size() == 2u);
  const auto c = store->counters(hash_of(1, 1)).value();
  BOOST_TEST(c.delete_requests == 2u);
  BOOST_TEST(c.deletes_ok == 0u);
  BOOST_TEST(c.patch_requests == 1u);
  BOOST_TEST(store->hashes_requested_more_than_once() == 1u);
  // Nothing to lie about for a key that is gone or never was.
  BOOST_TEST((store->erase(hash_of(2, 2)) == erase_result::deleted));
  BOOST_TEST(!store->ghost_erase(hash_of(2, 2)));
  BOOST_TEST(!store->ghost_set_disabled(hash_of(2, 2), true, now).has_value());
  BOOST_TEST(!store->ghost_erase(hash_of(9, 9)));
  BOOST_TEST(store->not_found_after_delete() == 1u);
  BOOST_TEST(store->unknown_hash_deletes() == 1u);
}

BOOST_AUTO_TEST_CASE(management_key_is_listed_and_revokes_itself) {
  const key_hash management = hash_of(7, 7);
  struct row {
    const char* name;
    bool by_delete;
  };
  for (const row r : {row{"delete", true}, row{"disable", false}}) {
    BOOST_TEST_CONTEXT(r.name) {
      const auto store = key_store::generate(250, 3, now, management);
      BOOST_TEST(store->management_key_listed());
      BOOST_TEST(store->totals().total == 251u);
      const auto generated = store->hashes_in_generation_order();
      BOOST_TEST(generated.size() == 250u);  // --hashes-out leaves it out
      BOOST_TEST((std::find(generated.begin(), generated.end(), management) == generated.end()));
      BOOST_TEST((generated == key_store::generate(250, 3, now)->hashes_in_generation_order()));
      const auto k = store->get(management);
      BOOST_TEST_REQUIRE(k.has_value());
      BOOST_TEST(k->name == "management");
      BOOST_TEST(k->label == "mgmt");
      BOOST_TEST(!k->disabled);
      std::size_t listed = 0;
      for (std::size_t offset = 0;; offset += key_store::page_size) {
        const auto page = store->list(offset, false);
        if (page.empty()) break;
        for (const auto& v : page) listed += v.hash == management ? 1u : 0u;
      }
      BOOST_TEST(listed == 1u);
      BOOST_TEST(!store->management_key_revoked());
      BOOST_TEST(store->set_disabled(management, false, now).has_value());  // enabling is harmless
      store->ghost_erase(management);
      BOOST_TEST(!store->management_key_revoked());
      store->erase(generated[0]);
      BOOST_TEST(!store->management_key_revoked());
      if (r.by_delete)
        BOOST_TEST((store->erase(management) == erase_result::deleted));
      else
        BOOST_TEST(store->set_disabled(management, true, now).has_value());
      BOOST_TEST(store->management_key_revoked());
    }
  }
  BOOST_TEST(!key_store::generate(10, 3, now)->management_key_listed());
  // Already among the keys: not added twice, and it is that key that revokes.
  const auto store = key_store::from_hashes({hash_of(1, 1), management}, 1, now, management);
  BOOST_TEST(store->totals().total == 2u);
  BOOST_TEST(!store->management_key_listed());
}

BOOST_AUTO_TEST_CASE(journal_replay_keeps_the_management_key_revoked) {
  temp_path journal("mgmt-journal");
  const key_hash management = hash_of(7, 7);
  {
    const auto store = key_store::generate(20, 1, now, management);
    store->open_journal(journal.path.string());
    store->erase(management);
  }
  const auto again = key_store::generate(20, 1, now, management);
  BOOST_TEST(!again->management_key_revoked());
  BOOST_TEST(again->open_journal(journal.path.string()) == 1u);
  BOOST_TEST(again->management_key_revoked());
}

BOOST_AUTO_TEST_SUITE_END()
