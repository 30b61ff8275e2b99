// ISO 8601 timestamps to microseconds since the epoch, UTC.
#include "keyrevoke/core/timestamp.hpp"

#include <boost/test/unit_test.hpp>

using namespace keyrevoke::core;

BOOST_AUTO_TEST_SUITE(timestamp)

BOOST_AUTO_TEST_CASE(valid_forms) {
  constexpr unix_micros s = 1000000;
  const unix_micros day = 1795478400LL * s;  // 2026-11-24T00:00:00Z
  struct row {
    std::string_view text;
    unix_micros expected;
  };
  const row rows[] = {
      {"1970-01-01", 0},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59Z", -1 * s},
      {"2000-02-29", 951782400LL * s},
      {"2026-11-24", day},
      {"2026-11-24T00:00:00Z", day},
      {"2026-11-24T10:00Z", day + 36000 * s},
      {"2026-11-24T10:00:00Z", day + 36000 * s},
      {"2026-11-24t10:00:00z", day + 36000 * s},
      {"2026-11-24 10:00:00Z", day + 36000 * s},
      {"2026-11-24T10:00:00", day + 36000 * s},
      {"2026-11-24T10:00:00+02:00", day + 28800 * s},
      {"2026-11-24T10:00:00+0200", day + 28800 * s},
      {"2026-11-24T10:00:00+02", day + 28800 * s},
      {"2026-11-24T10:00:00-05:30", day + (36000 + 19800) * s},
      {"2026-11-24T00:30:00+01:00", day - 1800 * s},
      {"2026-11-24T10:00:00.5Z", day + 36000 * s + 500000},
      {"2026-11-24T10:00:00.123456Z", day + 36000 * s + 123456},
      {"2026-11-24T10:00:00.123456789Z", day + 36000 * s + 123456},
      {"2026-11-24T10:00:00,25Z", day + 36000 * s + 250000},
      {"2026-11-24T23:59:59.999999Z", day + 86400 * s - 1},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto parsed = parse_timestamp(r.text);
      BOOST_TEST_REQUIRE(parsed.has_value());
      BOOST_TEST(*parsed == r.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_forms) {
  const std::string_view rows[] = {
      "",
      "2026",
      "2026-11",
      "2026-1-24",
      "26-11-24",
      "2026-13-01",
      "2026-00-10",
      "2026-11-31",
      "2026-02-29",
      "1900-02-29",
      "2026-11-24T",
      "2026-11-24T10",
      "2026-11-24T24:00:00Z",
      "2026-11-24T10:60:00Z",
      "2026-11-24T10:00:60Z",
      "2026-11-24T10:00:00.Z",
      "2026-11-24T10:00:00.1234567890Z",
      "2026-11-24T10:00:00ZZ",
      "2026-11-24T10:00:00+2",
      "2026-11-24T10:00:00+02:0",
      "2026-11-24T10:00:00+24:00",
      "2026-11-24T10:00:00 Z",
      "2026-11-24x",
      "2026-11-24T10:00:00Zjunk",
      " 2026-11-24",
      "2026-11-24 ",
      "yesterday",
      "1795478400",
      "２０２６-11-24",
  };
  for (const std::string_view text : rows) {
    BOOST_TEST_CONTEXT(text) { BOOST_TEST(!parse_timestamp(text).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(order_is_chronological_across_zones) {
  BOOST_TEST(*parse_timestamp("2026-11-24T10:00:00+02:00") < *parse_timestamp("2026-11-24T09:00:00Z"));
  BOOST_TEST(*parse_timestamp("2026-11-24T10:00:00.000001Z") > *parse_timestamp("2026-11-24T10:00:00Z"));
}

// `keyrevoke list --created-before 7d`: an age counts back from a now the caller reads once.
BOOST_AUTO_TEST_CASE(ages_count_back_from_now) {
  const unix_micros now = *parse_timestamp("2026-11-30T12:00:00Z");
  constexpr std::int64_t s = 1000000;
  struct row {
    std::string_view text;
    std::optional<unix_micros> expected;
  };
  const row rows[] = {
      {"7d", now - 7 * 86400 * s},
      {"36h", now - 36 * 3600 * s},
      {"90m", now - 90 * 60 * s},
      {"45s", now - 45 * s},
      {"2w", now - 14 * 86400 * s},
      {"1w2d", now - 9 * 86400 * s},
      {"1d12h30m", now - (86400 + 12 * 3600 + 30 * 60) * s},
      {"0s", now},
      {"007d", now - 7 * 86400 * s},
      {"36500d", now - std::int64_t{36500} * 86400 * s},  // 100 years of 365 days: within the bound
      {"36601d", std::nullopt},                           // beyond 100 years
      {"99999999999999999999s", std::nullopt},            // would overflow
      {"", std::nullopt},
      {"d", std::nullopt},
      {"7", std::nullopt},
      {"7D", std::nullopt},
      {"7y", std::nullopt},
      {"-7d", std::nullopt},
      {"+7d", std::nullopt},
      {"7 d", std::nullopt},
      {" 7d", std::nullopt},
      {"7d ", std::nullopt},
      {"1.5d", std::nullopt},
      {"7d2", std::nullopt},
      {"d7", std::nullopt},
      {"7dd", std::nullopt},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.text) { BOOST_TEST((parse_age(r.text, now) == r.expected)); }
  }
}

BOOST_AUTO_TEST_CASE(filter_times_are_dates_first_then_ages) {
  const unix_micros now = *parse_timestamp("2026-11-30T12:00:00Z");
  struct row {
    std::string_view text;
    std::optional<unix_micros> expected;
  };
  const row rows[] = {
      {"2026-11-24", parse_timestamp("2026-11-24")},
      {"2026-11-24T10:00:00+02:00", parse_timestamp("2026-11-24T08:00:00Z")},
      {"7d", parse_timestamp("2026-11-23T12:00:00Z")},
      {"12h", parse_timestamp("2026-11-30T00:00:00Z")},
      {"2026-11-24x", std::nullopt},
      {"yesterday", std::nullopt},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.text) { BOOST_TEST((parse_time_or_age(r.text, now) == r.expected)); }
  }
}

// The trial: `list --created-before 2h` on a machine whose clock was a day behind selected by the wrong
// window without a word. The warning, from the server's Date.
BOOST_AUTO_TEST_CASE(age_clock_warning_names_the_skew) {
  constexpr unix_micros s = 1'000'000;
  const unix_micros now = 1'764'000'000 * s;
  struct row {
    std::optional<unix_micros> server;
    std::string says;  // "" : no warning
  };
  const row rows[] = {
      {std::nullopt, ""},
      {now, ""},
      {now + 299 * s, ""},
      {now - 299 * s, ""},
      {now + 300 * s, "5 min 0 s ahead of"},
      {now - 301 * s, "5 min 1 s behind"},
      {now + 2 * 3600 * s + 60 * s, "2 h 1 min ahead of"},
      {now - 86400 * s - 3 * 3600 * s, "1 d 3 h behind"},
      {now + 86399 * s, "1 d 0 h ahead of"},  // Date's whole seconds: a day's skew reads 86399.x s
      {now + 3599 * s, "1 h 0 min ahead of"},
  };
  for (const row& r : rows) {
    const std::string got = keyrevoke::core::age_clock_warning(r.server, now);
    BOOST_TEST_CONTEXT(got) {
      if (r.says.empty()) {
        BOOST_TEST(got.empty());
      } else {
        BOOST_TEST(got.find(r.says) != std::string::npos);
        BOOST_TEST(got.find("ISO 8601") != std::string::npos);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
