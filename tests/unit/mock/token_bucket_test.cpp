// token_bucket: rate, burst, schedule changes and the 429 hints, at a fake time.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "keyrevoke/mock/token_bucket.hpp"

using namespace keyrevoke::mock;
using namespace std::chrono_literals;

namespace {


// How many of `attempts` takes, spaced evenly over [from, to), succeed.
int granted(token_bucket& bucket, mock_duration from, mock_duration to, int attempts) {
  int ok = 0;
  const auto step = (to - from) / attempts;
  for (int i = 0; i < attempts; ++i) ok += bucket.try_take(from + step * i).ok ? 1 : 0;
  return ok;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(token_bucket_suite)

BOOST_AUTO_TEST_CASE(burst_then_rate) {
  struct row {
    double rate, burst;
    int burst_granted;       // at t = 0, back to back
    std::int64_t wait_ns;    // reported wait after the burst is spent
  };
  const row rows[] = {
      {10, 5, 5, 100'000'000},
      {1, 1, 1, 1'000'000'000},
      {1000, 20, 20, 1'000'000},
      {2.5, 0, 1, 400'000'000},  // burst 0 is raised to 1
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("rate " << r.rate << " burst " << r.burst) {
      token_bucket bucket(r.rate, r.burst);
      int ok = 0;
      for (int i = 0; i < 100; ++i) ok += bucket.try_take(0ns).ok ? 1 : 0;
      BOOST_TEST(ok == r.burst_granted);
      const auto v = bucket.try_take(0ns);
      BOOST_TEST(!v.ok);
      BOOST_TEST(v.wait.count() == r.wait_ns);
      // At exactly the reported wait the token is there; not a nanosecond earlier.
      token_bucket probe(r.rate, r.burst);
      for (int i = 0; i < r.burst_granted; ++i) BOOST_TEST(probe.try_take(0ns).ok);
      BOOST_TEST(!probe.try_take(v.wait - 2ns).ok);
      BOOST_TEST(probe.try_take(v.wait).ok);
    }
  }
}

BOOST_AUTO_TEST_CASE(sustained_rate_is_honoured) {
  token_bucket bucket(100, 10);
  // 10 s of 1000 attempts/s: 10 burst + 100/s * 10 s.
  const int ok = granted(bucket, 0ns, 10s, 10'000);
  BOOST_TEST(ok >= 1009);
  BOOST_TEST(ok <= 1011);
}

BOOST_AUTO_TEST_CASE(unlimited_without_rate) {
  token_bucket bucket(0, 0);
  BOOST_TEST(bucket.unlimited());
  for (int i = 0; i < 10'000; ++i) BOOST_TEST_REQUIRE(bucket.try_take(0ns).ok);
}

BOOST_AUTO_TEST_CASE(clock_going_backwards_grants_nothing_new) {
  token_bucket bucket(10, 1);
  BOOST_TEST(bucket.try_take(5s).ok);
  BOOST_TEST(!bucket.try_take(4s).ok);  // another thread read the clock earlier: no refill
  BOOST_TEST(bucket.try_take(5s + 100ms).ok);
}

BOOST_AUTO_TEST_CASE(schedule_parsing) {
  struct row {
    const char* text;
    bool ok;
    std::size_t steps;
  };
  const row rows[] = {
      {"0:1000,10:250,20:1000", true, 3}, {"500", true, 1},       {" 0:5 , 3:0 ", true, 2},
      {"1:100", false, 0},                {"0:10,0:20", false, 0}, {"0:10,5:20,4:1", false, 0},
      {"0:-1", false, 0},                 {"0:abc", false, 0},     {"", false, 0},
      {"0:1,", false, 0},                 {"10,0:1", false, 0},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("schedule \"" << r.text << "\"") {
      const auto s = parse_rate_schedule(r.text);
      BOOST_TEST(s.has_value() == r.ok);
      if (s) BOOST_TEST(s->size() == r.steps);
    }
  }
  const auto s = parse_rate_schedule("0:1000,10:250,20:1000");
  BOOST_TEST((*s)[1].start.count() == 10);
  BOOST_TEST((*s)[1].rate == 250);
}

BOOST_AUTO_TEST_CASE(schedule_changes_the_rate) {
  token_bucket bucket(0, 1, *parse_rate_schedule("0:1000,10:100,20:1000"));
  BOOST_TEST(bucket.rate_at(5s) == 1000);
  BOOST_TEST(bucket.rate_at(10s) == 100);
  BOOST_TEST(bucket.rate_at(25s) == 1000);
  struct row {
    mock_duration from, to;
    int expected;
  };
  // 4000 attempts/s: the bucket grants the schedule's rate (+-2 for the edges).
  const row rows[] = {{1s, 2s, 1000}, {12s, 13s, 100}, {22s, 23s, 1000}};
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("from " << r.from.count() << " ns") {
      const int ok = granted(bucket, r.from, r.to, 4000);
      BOOST_TEST(ok >= r.expected - 2);
      BOOST_TEST(ok <= r.expected + 2);
    }
  }
}

BOOST_AUTO_TEST_CASE(wait_spans_schedule_steps) {
  // 1 token/s until second 10, then 0 until 20, then 1000/s.
  token_bucket bucket(0, 1, *parse_rate_schedule("0:1,10:0,20:1000"));
  BOOST_TEST(bucket.try_take(9500ms).ok);  // the bucket started full
  const auto v = bucket.try_take(9500ms);
  BOOST_TEST(!v.ok);
  // 0.5 token by second 10, nothing until 20, the other half at 1000/s: 10.5 s + 0.5 ms.
  BOOST_TEST(std::chrono::round<std::chrono::microseconds>(v.wait).count() == 10'500'500);

  token_bucket never(0, 1, *parse_rate_schedule("0:0"));
  BOOST_TEST(never.try_take(0ns).ok);
  BOOST_TEST((never.try_take(1s).wait == mock_duration::max()));
}

BOOST_AUTO_TEST_CASE(retry_hints_for_each_mode) {
  using std::chrono::system_clock;
  // 2024-03-05T06:07:08.250Z, a Tuesday.
  const system_clock::time_point wall =
      std::chrono::sys_days{std::chrono::year{2024} / 3 / 5} + 6h + 7min + 8s + 250ms;
  struct row {
    retry_hint_mode mode;
    mock_duration wait;
    const char* header;  // nullptr: no hint
    const char* value;
  };
  const row rows[] = {
      {retry_hint_mode::seconds, 1ns, "Retry-After", "1"},
      {retry_hint_mode::seconds, 0ns, "Retry-After", "1"},  // at least 1
      {retry_hint_mode::seconds, 1000ms, "Retry-After", "1"},
      {retry_hint_mode::seconds, 1001ms, "Retry-After", "2"},
      {retry_hint_mode::seconds, 1000ms + 1ns, "Retry-After", "2"},
      {retry_hint_mode::seconds, 7500ms, "Retry-After", "8"},
      {retry_hint_mode::seconds, mock_duration::max(), "Retry-After", "3600"},
      {retry_hint_mode::http_date, 100ms, "Retry-After", "Tue, 05 Mar 2024 06:07:09 GMT"},
      {retry_hint_mode::http_date, 750ms, "Retry-After", "Tue, 05 Mar 2024 06:07:09 GMT"},
      {retry_hint_mode::http_date, 751ms, "Retry-After", "Tue, 05 Mar 2024 06:07:10 GMT"},
      {retry_hint_mode::http_date, 18h, "Retry-After", "Tue, 05 Mar 2024 07:07:09 GMT"},  // capped at 1 h
      {retry_hint_mode::reset_ms, 100ms, "X-RateLimit-Reset", "1709618828350"},
      {retry_hint_mode::reset_ms, 1ns, "X-RateLimit-Reset", "1709618828251"},
      {retry_hint_mode::none, 5s, nullptr, nullptr},
      {retry_hint_mode::zero, 5s, "Retry-After", "0"},
      {retry_hint_mode::zero, 0ns, "Retry-After", "0"},
      {retry_hint_mode::past, 5s, "Retry-After", "Tue, 05 Mar 2024 05:07:08 GMT"},  // an hour ago
      {retry_hint_mode::past, 18h, "Retry-After", "Tue, 05 Mar 2024 05:07:08 GMT"},
      {retry_hint_mode::reset_delta, 100ms, "X-RateLimit-Reset", "1"},
      {retry_hint_mode::reset_delta, 7500ms, "X-RateLimit-Reset", "8"},
      {retry_hint_mode::reset_delta, mock_duration::max(), "X-RateLimit-Reset", "3600"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("mode " << to_string(r.mode) << " wait " << r.wait.count() << " ns") {
      const auto hint = make_retry_hint(r.mode, r.wait, wall);
      BOOST_TEST(hint.has_value() == (r.header != nullptr));
      if (hint && r.header != nullptr) {
        BOOST_TEST(hint->header == r.header);
        BOOST_TEST(hint->value == r.value);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(retry_hint_mode_names_round_trip) {
  for (const auto mode :
       {retry_hint_mode::seconds, retry_hint_mode::http_date, retry_hint_mode::reset_ms,
        retry_hint_mode::none, retry_hint_mode::zero, retry_hint_mode::past, retry_hint_mode::reset_delta}) {
    BOOST_TEST_CONTEXT(to_string(mode)) { BOOST_TEST((parse_retry_hint_mode(to_string(mode)) == mode)); }
  }
  BOOST_TEST(!parse_retry_hint_mode("Seconds").has_value());
  BOOST_TEST(!parse_retry_hint_mode("reset_delta").has_value());
}

BOOST_AUTO_TEST_CASE(imf_fixdate) {
  BOOST_TEST(format_imf_fixdate(std::chrono::sys_seconds{784111777s}) == "Sun, 06 Nov 1994 08:49:37 GMT");
  BOOST_TEST(format_imf_fixdate(std::chrono::sys_seconds{0s}) == "Thu, 01 Jan 1970 00:00:00 GMT");
}

// --advertise: the fields describe the bucket as it is (burst 10, rate 100/s: full again 10 ms per
// missing token), whole tokens only, the reset when it is full again.
BOOST_AUTO_TEST_CASE(advertised_quota_describes_the_bucket) {
  const auto wall = std::chrono::sys_days{std::chrono::year{2025} / 1 / 10} + std::chrono::hours{12};
  struct row {
    const char* name;
    advertise_mode mode;
    int taken;  // back-to-back takes at t = 0
    std::vector<std::pair<std::string_view, std::string>> fields;
  };
  const row rows[] = {
      {"x, full", advertise_mode::xratelimit, 0,
       {{"X-RateLimit-Limit", "10"}, {"X-RateLimit-Remaining", "10"}, {"X-RateLimit-Reset", "1736510400000"}}},
      {"x, 3 taken", advertise_mode::xratelimit, 3,
       {{"X-RateLimit-Limit", "10"}, {"X-RateLimit-Remaining", "7"}, {"X-RateLimit-Reset", "1736510400030"}}},
      {"ietf, full", advertise_mode::ietf, 0,
       {{"RateLimit-Policy", "\"default\";q=10;w=1"}, {"RateLimit", "\"default\";r=10;t=0"}}},
      {"ietf, 3 taken", advertise_mode::ietf, 3,
       {{"RateLimit-Policy", "\"default\";q=10;w=1"}, {"RateLimit", "\"default\";r=7;t=1"}}},
      {"none", advertise_mode::none, 3, {}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      token_bucket bucket{100, 10};
      for (int i = 0; i < r.taken; ++i) BOOST_TEST(bucket.try_take(mock_duration{0}).ok);
      quota_headers out;
      describe_bucket(r.mode, bucket.state_at(mock_duration{0}), bucket.rate_at(mock_duration{0}), wall, out);
      BOOST_TEST_REQUIRE(out.count == r.fields.size());
      for (std::size_t i = 0; i < out.count; ++i) {
        BOOST_TEST(out.fields[i].name == r.fields[i].first);
        BOOST_TEST(out.fields[i].value == r.fields[i].second);
      }
    }
  }
}

// Consistent with the bucket's real state: as many takes as Remaining says succeed at once, one more
// fails; after the advertised reset the bucket is full again.
BOOST_AUTO_TEST_CASE(advertised_remaining_is_what_the_bucket_grants) {
  token_bucket bucket{50, 20};
  for (int i = 0; i < 13; ++i) BOOST_TEST(bucket.try_take(mock_duration{0}).ok);
  const auto now = std::chrono::milliseconds{37};
  const auto st = bucket.state_at(now);
  const int remaining = static_cast<int>(std::floor(st.tokens));
  for (int i = 0; i < remaining; ++i) BOOST_TEST(bucket.try_take(now).ok);
  BOOST_TEST(!bucket.try_take(now).ok);
  const auto full = bucket.state_at(now);
  BOOST_TEST(bucket.tokens(now + full.until_full - std::chrono::milliseconds{5}) < 20.0);
  BOOST_TEST(bucket.tokens(now + full.until_full) >= 20.0 - 1e-6);
}

BOOST_AUTO_TEST_SUITE_END()
