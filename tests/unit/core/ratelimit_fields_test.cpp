// The quota an answer advertises (core/ratelimit_fields): each family's forms, and every value that
// must give no observation (unreadable or contradictory: never a guess). Table-driven, fixed clock.
#include "keyrevoke/core/ratelimit_fields.hpp"

#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>

namespace kc = keyrevoke::core;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

// 2026-11-27 12:00:00 UTC = 1795780800 s since the epoch.
const system_clock::time_point now = sys_days{2026y / November / 27} + 12h;
constexpr std::int64_t now_s = 1795780800;

struct expected {
  std::uint64_t limit, remaining;
  milliseconds reset_in, window;
  kc::quota_family family;
};

struct row {
  const char* name;
  kc::ratelimit_fields fields;
  std::optional<expected> want;
};

void check(const row& r) {
  BOOST_TEST_CONTEXT(r.name) {
    const auto got = kc::read_quota(r.fields, now);
    BOOST_TEST(got.has_value() == r.want.has_value());
    if (got && r.want) {
      BOOST_TEST(got->limit == r.want->limit);
      BOOST_TEST(got->remaining == r.want->remaining);
      BOOST_TEST(got->reset_in.count() == r.want->reset_in.count());
      BOOST_TEST(got->window.count() == r.want->window.count());
      BOOST_TEST((got->family == r.want->family));
    }
  }
}

const std::string epoch_s_plus_30 = std::to_string(now_s + 30);
const std::string epoch_ms_plus_1500 = std::to_string(now_s * 1000 + 1500);
const std::string epoch_s_past = std::to_string(now_s - 100);

}  // namespace

BOOST_AUTO_TEST_SUITE(ratelimit_fields)

BOOST_AUTO_TEST_CASE(x_ratelimit_forms) {
  using f = kc::quota_family;
  const row rows[] = {
      {"delta seconds",
       {.x_limit = "100", .x_remaining = "40", .x_reset = "5"},
       expected{100, 40, 5000ms, 0ms, f::x_ratelimit}},
      {"epoch seconds",
       {.x_limit = "5000", .x_remaining = "4999", .x_reset = epoch_s_plus_30},
       expected{5000, 4999, 30000ms, 0ms, f::x_ratelimit}},
      {"epoch milliseconds",
       {.x_limit = "50", .x_remaining = "7", .x_reset = epoch_ms_plus_1500},
       expected{50, 7, 1500ms, 0ms, f::x_ratelimit}},
      {"an epoch time already past: reset now",
       {.x_remaining = "0", .x_reset = epoch_s_past},
       expected{0, 0, 0ms, 0ms, f::x_ratelimit}},
      {"no limit: unsaid", {.x_remaining = "3", .x_reset = "1"}, expected{0, 3, 1000ms, 0ms, f::x_ratelimit}},
      {"remaining sent twice: the smaller",
       {.x_remaining = "9, 4", .x_reset = "2"},
       expected{0, 4, 2000ms, 0ms, f::x_ratelimit}},
      {"fractional delta",
       {.x_remaining = "9", .x_reset = "0.25"},
       expected{0, 9, 250ms, 0ms, f::x_ratelimit}},
      {"whitespace",
       {.x_limit = " 10 ", .x_remaining = " 9 ", .x_reset = " 1 "},
       expected{10, 9, 1000ms, 0ms, f::x_ratelimit}},
      // Epoch seconds measured from the answer's Date (the server's clock), not the local one.
      {"epoch seconds from Date",
       {.x_remaining = "1", .x_reset = epoch_s_plus_30, .date = "Fri, 27 Nov 2026 12:00:20 GMT"},
       expected{0, 1, 10000ms, 0ms, f::x_ratelimit}},
      {"remaining above the limit", {.x_limit = "10", .x_remaining = "11", .x_reset = "1"}, std::nullopt},
      {"no reset", {.x_limit = "10", .x_remaining = "3"}, std::nullopt},
      {"no remaining", {.x_limit = "10", .x_reset = "3"}, std::nullopt},
      {"negative remaining", {.x_remaining = "-1", .x_reset = "3"}, std::nullopt},
      {"garbage reset", {.x_remaining = "1", .x_reset = "soon"}, std::nullopt},
      {"garbage limit", {.x_limit = "ten", .x_remaining = "1", .x_reset = "1"}, std::nullopt},
      {"nothing", {}, std::nullopt},
  };
  for (const row& r : rows) check(r);
}

BOOST_AUTO_TEST_CASE(ietf_structured_fields) {
  using f = kc::quota_family;
  const row rows[] = {
      {"policy and state",
       {.ratelimit = R"("default";r=50;t=5)", .ratelimit_policy = R"("default";q=100;w=10)"},
       expected{100, 50, 5000ms, 10000ms, f::ietf}},
      {"state alone", {.ratelimit = R"("default";r=50;t=5)"}, expected{0, 50, 5000ms, 0ms, f::ietf}},
      {"token names (draft -10 discussion)",
       {.ratelimit = "burst;r=3;t=1", .ratelimit_policy = "burst;q=10;w=1"},
       expected{10, 3, 1000ms, 1000ms, f::ietf}},
      {"extra parameters and spaces",
       {.ratelimit = R"("p";r=1;t=2;pk=:cHJpdmF0ZQ==:)", .ratelimit_policy = R"( "p"; q=9; w=4 )"},
       expected{9, 1, 2000ms, 4000ms, f::ietf}},
      {"two policies: the tighter (r / t)",
       {.ratelimit = R"("burst";r=90;t=1, "daily";r=50;t=3600)",
        .ratelimit_policy = R"("burst";q=100;w=1, "daily";q=1000;w=86400)"},
       expected{1000, 50, 3600000ms, 86400000ms, f::ietf}},
      {"a policy not counting requests is skipped",
       {.ratelimit = R"("bytes";r=1;t=60, "req";r=7;t=1)",
        .ratelimit_policy = R"("bytes";q=9;w=60;qu="content-bytes", "req";q=10;w=1)"},
       expected{10, 7, 1000ms, 1000ms, f::ietf}},
      {"draft -07 dictionary",
       {.ratelimit = "limit=100, remaining=50, reset=5", .ratelimit_policy = "100;w=10"},
       expected{100, 50, 5000ms, 10000ms, f::ietf}},
      {"r above q", {.ratelimit = R"("p";r=11;t=1)", .ratelimit_policy = R"("p";q=10;w=1)"}, std::nullopt},
      {"t beyond w", {.ratelimit = R"("p";r=1;t=20)", .ratelimit_policy = R"("p";q=10;w=10)"}, std::nullopt},
      {"negative r", {.ratelimit = R"("p";r=-1;t=1)"}, std::nullopt},
      {"decimal t", {.ratelimit = R"("p";r=1;t=1.5)"}, std::nullopt},
      {"no t", {.ratelimit = R"("p";r=1)"}, std::nullopt},
      {"unterminated string", {.ratelimit = R"("p;r=1;t=1)"}, std::nullopt},
      {"trailing comma", {.ratelimit = R"("p";r=1;t=1,)"}, std::nullopt},
      {"an integer of 16 digits", {.ratelimit = R"("p";r=1234567890123456;t=1)"}, std::nullopt},
      {"policy without q for the state's name",
       {.ratelimit = R"("p";r=1;t=1)", .ratelimit_policy = R"("p";w=1)"},
       std::nullopt},
      {"upper-case parameter key", {.ratelimit = R"("p";R=1;t=1)"}, std::nullopt},
  };
  for (const row& r : rows) check(r);
}

BOOST_AUTO_TEST_CASE(older_draft_trio) {
  using f = kc::quota_family;
  const row rows[] = {
      {"trio",
       {.limit = "100", .remaining = "20", .reset = "7"},
       expected{100, 20, 7000ms, 0ms, f::ietf_trio}},
      {"limit with policies",
       {.limit = "10, 10;w=1, 1000;w=3600", .remaining = "4", .reset = "1"},
       expected{10, 4, 1000ms, 1000ms, f::ietf_trio}},
      {"no limit", {.remaining = "4", .reset = "1"}, expected{0, 4, 1000ms, 0ms, f::ietf_trio}},
      {"remaining above the limit", {.limit = "3", .remaining = "4", .reset = "1"}, std::nullopt},
      {"reset beyond the window", {.limit = "10;w=1", .remaining = "4", .reset = "2"}, std::nullopt},
      {"garbage reset", {.limit = "10", .remaining = "4", .reset = "x"}, std::nullopt},
  };
  for (const row& r : rows) check(r);
}

BOOST_AUTO_TEST_CASE(several_families_give_the_tightest) {
  // X-RateLimit says 40 in 1 s, RateLimit says 5 in 1 s: the server's tighter word holds.
  const kc::ratelimit_fields both{.x_limit = "50",
                                  .x_remaining = "40",
                                  .x_reset = "1",
                                  .ratelimit = R"("p";r=5;t=1)",
                                  .ratelimit_policy = R"("p";q=50;w=1)"};
  const auto got = kc::read_quota(both, now);
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(got->remaining == 5U);
  BOOST_TEST((got->family == kc::quota_family::ietf));
  // An unusable family does not hide a usable one.
  const kc::ratelimit_fields one_bad{.x_remaining = "40", .x_reset = "1", .ratelimit = "garbage;;"};
  const auto other = kc::read_quota(one_bad, now);
  BOOST_TEST_REQUIRE(other.has_value());
  BOOST_TEST(other->remaining == 40U);
}

BOOST_AUTO_TEST_SUITE_END()
