// The list filters: AND of every criterion; a missing or mistyped field never matches.
#include "keyrevoke/core/key_filter.hpp"

#include <boost/test/unit_test.hpp>

#include <string_view>
#include <vector>

using namespace keyrevoke::core;

namespace {

key_fields sample() {
  key_fields k;
  k.name = "key-000042";
  k.label = "ci-42";
  k.disabled = false;
  k.usage = 12.5;
  k.created_at = *parse_timestamp("2026-11-20T10:00:00Z");
  k.updated_at = *parse_timestamp("2026-11-22T10:00:00Z");
  return k;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(key_filter_suite)

BOOST_AUTO_TEST_CASE(empty_filter_matches_everything) {
  key_filter f;
  BOOST_TEST(f.empty());
  BOOST_TEST(f.matches(sample()));
  BOOST_TEST(f.matches(key_fields{}));
}

BOOST_AUTO_TEST_CASE(each_criterion) {
  const key_fields k = sample();
  const auto t = [](std::string_view s) { return *parse_timestamp(s); };
  struct row {
    const char* what;
    key_filter f;
    bool match;
  };
  std::vector<row> rows;
  auto add = [&](const char* what, auto set, bool match) {
    key_filter f;
    set(f);
    rows.push_back({what, f, match});
  };
  add(
      "name glob", [](key_filter& f) { f.name_glob = "key-*"; }, true);
  add(
      "name glob miss", [](key_filter& f) { f.name_glob = "key-1*"; }, false);
  add(
      "label glob", [](key_filter& f) { f.label_glob = "ci-*"; }, true);
  add(
      "label glob case", [](key_filter& f) { f.label_glob = "CI-*"; }, false);
  add(
      "created before, later bound", [&](key_filter& f) { f.created_before = t("2026-11-21"); }, true);
  add(
      "created before, equal: strict", [&](key_filter& f) { f.created_before = t("2026-11-20T10:00:00Z"); },
      false);
  add(
      "created before, 1 us after",
      [&](key_filter& f) { f.created_before = t("2026-11-20T10:00:00.000001Z"); }, true);
  add(
      "created after, equal: inclusive", [&](key_filter& f) { f.created_after = t("2026-11-20T10:00:00Z"); },
      true);
  add(
      "created after, later", [&](key_filter& f) { f.created_after = t("2026-11-20T10:00:00.000001Z"); },
      false);
  add(
      "created in zone", [&](key_filter& f) { f.created_before = t("2026-11-20T11:00:01+01:00"); }, true);
  add(
      "updated before", [&](key_filter& f) { f.updated_before = t("2026-11-23"); }, true);
  add(
      "updated after", [&](key_filter& f) { f.updated_after = t("2026-11-23"); }, false);
  add(
      "enabled only", [](key_filter& f) { f.disabled = false; }, true);
  add(
      "disabled only", [](key_filter& f) { f.disabled = true; }, false);
  add(
      "usage above", [](key_filter& f) { f.usage_above = 12.0; }, true);
  add(
      "usage above, equal: strict", [](key_filter& f) { f.usage_above = 12.5; }, false);
  add(
      "usage below", [](key_filter& f) { f.usage_below = 13; }, true);
  add(
      "usage below, equal: strict", [](key_filter& f) { f.usage_below = 12.5; }, false);
  add(
      "and: all hold",
      [&](key_filter& f) {
        f.label_glob = "ci-*";
        f.created_before = t("2026-11-24");
        f.usage_above = 0;
      },
      true);
  add(
      "and: one fails",
      [&](key_filter& f) {
        f.label_glob = "ci-*";
        f.created_before = t("2026-11-19");
      },
      false);
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.what) { BOOST_TEST(r.f.matches(k) == r.match); }
  }
}

BOOST_AUTO_TEST_CASE(missing_fields_never_match) {
  const key_fields none;
  key_filter f;
  f.updated_before = *parse_timestamp("2100-01-01");
  BOOST_TEST(!f.matches(none));
  key_fields k = sample();
  k.updated_at.reset();  // a key never updated
  BOOST_TEST(!f.matches(k));
  f = {};
  f.updated_after = *parse_timestamp("1970-01-01");
  BOOST_TEST(!f.matches(k));
  f = {};
  f.label_glob = "*";
  BOOST_TEST(!f.matches(none));
  f = {};
  f.disabled = false;
  BOOST_TEST(!f.matches(none));
  f = {};
  f.usage_below = 1e300;
  BOOST_TEST(!f.matches(none));
}

BOOST_AUTO_TEST_SUITE_END()
