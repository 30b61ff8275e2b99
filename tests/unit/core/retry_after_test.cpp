#include "keyrevoke/core/retry_after.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace kc = keyrevoke::core;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

// Sunday 2024-03-10 12:00:00 UTC.
const system_clock::time_point now = sys_days{2024y / March / 10} + 12h;

std::string show(const std::optional<milliseconds>& v) {
  return v ? std::to_string(v->count()) + "ms" : std::string("nullopt");
}
std::string show_ms(std::optional<std::int64_t> v) {
  return v ? std::to_string(*v) + "ms" : std::string("nullopt");
}

struct row {
  std::string value;
  std::optional<std::int64_t> expected_ms;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(retry_after)

BOOST_AUTO_TEST_CASE(delta_seconds) {
  const std::vector<row> table = {
      {"120", 120'000},
      {"0", 0},
      {"1", 1000},
      {"  5 ", 5000},
      {"\t7\r\n", 7000},
      {"1.5", 1500},
      {"0.25", 250},
      {"0.0001", 1},  // rounded up: never earlier than asked
      {"2.0000", 2000},
      {"1.", 1000},
      {".5", 500},
      {"007", 7000},
      {"9223372036854775", 9'223'372'036'854'775'000},
      {"9223372036854775.807", 9'223'372'036'854'775'807},
      {"9223372036854775.8071", std::nullopt},  // rounding up overflows
      {"9223372036854776", std::nullopt},  // milliseconds overflow
      {"99999999999999999999999", std::nullopt},
      {"-1", std::nullopt},
      {"-0", std::nullopt},
      {"+5", std::nullopt},
      {"", std::nullopt},
      {"   ", std::nullopt},
      {".", std::nullopt},
      {"1e3", std::nullopt},
      {"1.2.3", std::nullopt},
      {"12abc", std::nullopt},
      {"1 2", std::nullopt},
      {"abc", std::nullopt},
      {"0x10", std::nullopt},
      {"inf", std::nullopt},
  };
  for (const auto& [value, expected] : table) {
    BOOST_TEST_CONTEXT("Retry-After: \"" << value << "\"") {
      BOOST_TEST(show(kc::parse_retry_after(value, now)) == show_ms(expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(http_dates) {
  const std::vector<row> table = {
      {"Sun, 10 Mar 2024 12:00:30 GMT", 30'000},
      {"Sun, 10 Mar 2024 13:00:00 GMT", 3'600'000},
      {"  Sun, 10 Mar 2024 12:00:01 GMT  ", 1000},
      {"sun, 10 mar 2024 12:00:02 gmt", 2000},  // case-insensitive names
      {"Sun, 10 Mar 2024 12:00:03 UTC", 3000},
      {"Sun, 10 Mar 2024 12:00:00 GMT", 0},   // now
      {"Sun, 10 Mar 2024 11:59:59 GMT", 0},   // past
      {"Sun, 06 Nov 1994 08:49:37 GMT", 0},
      {"Mon, 11 Mar 2024 12:00:00 GMT", 86'400'000},
      {"Fri, 31 Dec 9999 23:59:59 GMT", 253'402'300'799'000 - 1'710'072'000'000},
      {"Sunday, 10-Mar-24 12:01:00 GMT", 60'000},  // RFC 850
      {"Sunday, 06-Nov-94 08:49:37 GMT", 0},
      {"Sun Mar 10 12:00:45 2024", 45'000},  // asctime
      {"Sun Mar 10 12:00:46 2024 GMT", 46'000},
      {"Sun Nov  6 08:49:37 1994", 0},
      {"Sun Mar  3 12:00:00 2024", 0},
      {"Sun, 10 Mar 2024 12:00:60 GMT", 60'000},  // leap second
      {"Mon, 10 Mar 2024 12:00:30 GMT", 30'000},  // wrong day name: spelling checked, not consistency
      {"Sun, 31 Feb 2024 12:00:00 GMT", std::nullopt},
      {"Thu, 29 Feb 2024 12:00:00 GMT", 0},  // leap day exists
      {"Wed, 29 Feb 2023 12:00:00 GMT", std::nullopt},
      {"Sun, 10 Mar 2024 24:00:00 GMT", std::nullopt},
      {"Sun, 10 Mar 2024 12:60:00 GMT", std::nullopt},
      {"Sun, 10 Mar 2024 12:00 GMT", std::nullopt},
      {"Sun, 10 Mar 2024 12:00:00", std::nullopt},       // no zone
      {"Sun, 10 Mar 2024 12:00:00 PST", std::nullopt},   // other zones are not HTTP
      {"Sun, 10 Mar 2024 12:00:00 +0000", std::nullopt},
      {"Foo, 10 Mar 2024 12:00:00 GMT", std::nullopt},
      {"Sun, 10 Foo 2024 12:00:00 GMT", std::nullopt},
      {"Sun, 10 Mar 224 12:00:00 GMT", std::nullopt},
      {"Sun, 10 Mar 2024 12:00:00 GMT extra", std::nullopt},
      {"Sun, 00 Mar 2024 12:00:00 GMT", std::nullopt},
      {"Sun, 100 Mar 2024 12:00:00 GMT", std::nullopt},
      {"Sun Mar 10 12:00:45", std::nullopt},
      {"Sun Mar 10 12:00:45 2024 PST", std::nullopt},
      {"Sun", std::nullopt},
      {"GMT", std::nullopt},
      {"Sun, , , , , , , , GMT", std::nullopt},
  };
  for (const auto& [value, expected] : table) {
    BOOST_TEST_CONTEXT("Retry-After: \"" << value << "\"") {
      BOOST_TEST(show(kc::parse_retry_after(value, now)) == show_ms(expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(now_with_sub_millisecond_precision) {
  const auto later = now + 250ms + 400us;
  BOOST_TEST(show(kc::parse_retry_after("Sun, 10 Mar 2024 12:00:01 GMT", later)) == "750ms");
}

BOOST_AUTO_TEST_CASE(rfc850_two_digit_years) {
  struct year_row {
    std::string yy;
    int year;
  };
  const std::vector<year_row> table = {{"94", 1994}, {"24", 2024}, {"30", 2030}, {"74", 2074}, {"75", 1975}, {"00", 2000}};
  for (const auto& [yy, year] : table) {
    BOOST_TEST_CONTEXT("year " << yy) {
      const auto date = kc::parse_http_date("Monday, 01-Jan-" + yy + " 00:00:00 GMT", now);
      BOOST_TEST_REQUIRE(date.has_value());
      BOOST_TEST(static_cast<int>(year_month_day{floor<days>(*date)}.year()) == year);
    }
  }
  // Near the end of a century, a small two-digit year belongs to the next one.
  const system_clock::time_point late = sys_days{2090y / January / 1};
  const auto date = kc::parse_http_date("Monday, 01-Jan-05 00:00:00 GMT", late);
  BOOST_TEST_REQUIRE(date.has_value());
  BOOST_TEST(static_cast<int>(year_month_day{floor<days>(*date)}.year()) == 2105);
}

BOOST_AUTO_TEST_CASE(format_and_parse_round_trip) {
  BOOST_TEST(kc::format_http_date(now) == "Sun, 10 Mar 2024 12:00:00 GMT");
  BOOST_TEST(kc::format_http_date(sys_days{1994y / November / 6} + 8h + 49min + 37s + 999ms) ==
             "Sun, 06 Nov 1994 08:49:37 GMT");
  for (const auto t : {now, now + 1s, now + 86'399s, now + 100 * 86'400s + 123ms, now - 20 * 365 * 86'400s}) {
    const std::string text = kc::format_http_date(t);
    BOOST_TEST_CONTEXT(text) {
      const auto back = kc::parse_http_date(text, now);
      BOOST_TEST_REQUIRE(back.has_value());
      BOOST_TEST(back->time_since_epoch().count() == floor<seconds>(t).time_since_epoch().count());
    }
  }
}

BOOST_AUTO_TEST_CASE(retry_after_ms) {
  const std::vector<row> table = {
      {"1500", 1500}, {"0", 0},         {" 250 ", 250},          {"1.2", 2},    {"0.001", 1},
      {"-1", std::nullopt}, {"", std::nullopt}, {"abc", std::nullopt}, {"1e3", std::nullopt},
      {"9223372036854775807", 9'223'372'036'854'775'807}, {"9223372036854775808", std::nullopt},
  };
  for (const auto& [value, expected] : table) {
    BOOST_TEST_CONTEXT("retry-after-ms: \"" << value << "\"") {
      BOOST_TEST(show(kc::parse_retry_after_ms(value)) == show_ms(expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(ratelimit_reset) {
  const std::int64_t now_ms = 1'710'072'000'000;  // now, in epoch milliseconds
  BOOST_TEST_REQUIRE(duration_cast<milliseconds>(now.time_since_epoch()).count() == now_ms);
  const std::vector<row> table = {
      {std::to_string(now_ms + 5000), 5000},
      {std::to_string(now_ms), 0},
      {std::to_string(now_ms - 1), 0},
      {std::to_string(now_ms / 1000 + 5), 5000},  // epoch seconds
      {std::to_string(now_ms / 1000 + 5) + ".5", 5500},
      {std::to_string(now_ms / 1000 - 60), 0},
      // Below 1e9: delta-seconds (a reset sent as "in 5 s" is not 5 s after 1970).
      {"5", 5000},
      {"60", 60'000},
      {"0", 0},
      {"5.5", 5500},
      {".5", 500},
      {"000000000005", 5000},  // leading zeros do not make it an epoch time
      {"999999999", 999'999'999'000},
      {"999999999.9", 999'999'999'900},
      {"1000000000", 0},  // 1e9: epoch seconds, in 2001
      {"99999999999", 99'999'999'999'000 - now_ms},  // just below 1e11: seconds
      {"100000000000", 0},  // 1e11: milliseconds, in 1973
      {" " + std::to_string(now_ms + 1) + " ", 1},
      {"-5", std::nullopt},
      {"5s", std::nullopt},
      {"1e3", std::nullopt},
      {".", std::nullopt},
      {"", std::nullopt},
      {"soon", std::nullopt},
      {"99999999999999999999", std::nullopt},
  };
  for (const auto& [value, expected] : table) {
    BOOST_TEST_CONTEXT("X-RateLimit-Reset: \"" << value << "\"") {
      BOOST_TEST(show(kc::parse_ratelimit_reset(value, now)) == show_ms(expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(ratelimit_remaining) {
  const std::vector<std::pair<std::string, std::optional<std::uint64_t>>> table = {
      {"0", 0},          {"57", 57},          {" 3 ", 3},           {"5, 0", 0},         {"7,9", 7},
      {"", std::nullopt}, {"-1", std::nullopt}, {"1.5", std::nullopt}, {"x", std::nullopt}, {"5,", std::nullopt},
      {"18446744073709551615", std::nullopt},  // 20 digits: more than any quota
      {"9999999999999999999", 9'999'999'999'999'999'999ULL},
  };
  for (const auto& [value, expected] : table) {
    BOOST_TEST_CONTEXT("X-RateLimit-Remaining: \"" << value << "\"") {
      const auto got = kc::parse_ratelimit_remaining(value);
      BOOST_TEST(got.has_value() == expected.has_value());
      if (got && expected) BOOST_TEST(*got == *expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(server_retry_delay_precedence_and_cap) {
  struct hint_row {
    std::string ms, retry_after, reset;
    std::optional<std::int64_t> expected;
    std::string remaining{}, date{};
    system_clock::time_point client = now;
  };
  const std::string reset_in_9s = std::to_string(1'710'072'009'000);
  const std::string date_now = kc::format_http_date(now);
  const std::vector<hint_row> table = {
      {"", "", "", std::nullopt},
      {"250", "", "", 250},
      {"", "3", "", 3000},
      {"", "", reset_in_9s, 9000},
      {"250", "3", reset_in_9s, 250},            // retry-after-ms first
      {"", "3", reset_in_9s, 3000},              // then Retry-After
      {"junk", "3", reset_in_9s, 3000},          // unusable values fall through
      {"junk", "junk", reset_in_9s, 9000},
      {"junk", "junk", "junk", std::nullopt},
      {"", "Sun, 10 Mar 2024 12:00:30 GMT", "", 30'000},
      {"", "Sun, 06 Nov 1994 08:49:37 GMT", "", 0},
      {"", "999999", "", 60'000},                // capped
      {"99999999", "", "", 60'000},
      {"", "Fri, 31 Dec 9999 23:59:59 GMT", "", 60'000},
      {"", "9223372036854776", reset_in_9s, 9000},  // overflow is unusable, not "capped"
      {"", "0", "", 0},                             // a zero hint is kept (the retry policy decides)
      {"", "", "5", 5000},                          // a delta reset
      // X-RateLimit-Reset counts only while the quota is spent (or its state unknown).
      {"", "", reset_in_9s, 9000, "0"},
      {"", "", reset_in_9s, std::nullopt, "12"},
      {"", "", reset_in_9s, 9000, "junk"},
      {"", "4", reset_in_9s, 4000, "12"},           // Retry-After is about this answer, whatever the quota
      // Absolute forms from the server's Date, whatever the local clock says.
      {"", "Sun, 10 Mar 2024 12:00:10 GMT", "", 10'000, "", date_now, now - 60s},
      {"", "Sun, 10 Mar 2024 12:00:10 GMT", "", 10'000, "", date_now, now + 3600s},
      {"", "Sun, 10 Mar 2024 12:00:10 GMT", "", 0, "", "", now + 3600s},  // no Date: the local clock
      {"", "Sun, 10 Mar 2024 12:00:10 GMT", "", 0, "", "garbage", now + 3600s},
      {"", "Sun, 10 Mar 2024 12:00:10 GMT", "", 10'000, "", "Sunday, 10-Mar-24 12:00:00 GMT", now - 60s},
      {"", "", "1710072010", 10'000, "", date_now, now - 60s},
      {"", "", "1710072010000", 10'000, "", date_now, now + 60s},
      {"", "", "1710072010000", 60'000, "", "Fri, 31 Dec 9999 23:59:59 GMT", now - 60s},  // no clock: local, capped
      {"", "", "1710072010000", 0, "", "Sun, 06 Nov 1800 08:49:37 GMT", now + 60s},
      {"", "", "1710072010000", 0, "", "Sun, 10 Mar 2024 12:00:11 GMT", now},  // reset before Date: 0
  };
  for (const auto& [ms, retry_after, reset, expected, remaining, date, client] : table) {
    BOOST_TEST_CONTEXT("ms=\"" << ms << "\" retry-after=\"" << retry_after << "\" reset=\"" << reset << "\" remaining=\""
                                << remaining << "\" date=\"" << date << "\"") {
      const kc::rate_limit_hints hints{retry_after, ms, reset, remaining, date};
      BOOST_TEST(show(kc::server_retry_delay(hints, client, 60s)) == show_ms(expected));
      // Signalled exactly when there is a hint or the quota is spent.
      const bool spent = remaining == "0";
      BOOST_TEST(kc::rate_limit_signalled(hints, client) == (expected.has_value() || spent));
    }
  }
  BOOST_TEST(show(kc::server_retry_delay({"5", "", ""}, now, 0ms)) == "0ms");
  BOOST_TEST(show(kc::server_retry_delay({"5", "", ""}, now, -5ms)) == "0ms");
  // The quota spent with no reset: a throttle signal without a hint (the backoff decides).
  BOOST_TEST(kc::rate_limit_signalled({.x_ratelimit_remaining = "0"}, now));
  BOOST_TEST(!kc::server_retry_delay({.x_ratelimit_remaining = "0"}, now, 60s).has_value());
  BOOST_TEST(!kc::rate_limit_signalled({.x_ratelimit_remaining = "1"}, now));
  BOOST_TEST(!kc::rate_limit_signalled({.date = "Sun, 10 Mar 2024 12:00:10 GMT"}, now));
}

BOOST_AUTO_TEST_CASE(hint_reference_is_the_servers_date) {
  BOOST_TEST((kc::hint_reference({.date = "Sun, 10 Mar 2024 12:00:10 GMT"}, now - 1h) == now + 10s));
  BOOST_TEST((kc::hint_reference({}, now - 1h) == now - 1h));
  BOOST_TEST((kc::hint_reference({.date = "10 Mar 2024"}, now - 1h) == now - 1h));
  BOOST_TEST((kc::hint_reference({.date = "Fri, 31 Dec 9999 23:59:59 GMT"}, now) == now));
  BOOST_TEST((kc::hint_reference({.date = "Mon, 01 Jan 1900 00:00:00 GMT"}, now) == sys_days{1900y / January / 1}));
  BOOST_TEST((kc::hint_reference({.date = "Sun, 31 Dec 1899 23:59:59 GMT"}, now) == now));
}

BOOST_AUTO_TEST_SUITE_END()
