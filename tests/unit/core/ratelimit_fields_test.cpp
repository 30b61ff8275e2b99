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

// X-RateLimit-Reset in its three magnitudes against the answer's Date, and every value to refuse.
BOOST_AUTO_TEST_CASE(x_ratelimit_reset_and_malformed_values) {
  using f = kc::quota_family;
  const std::string date = "Fri, 27 Nov 2026 12:00:10 GMT";  // the server's clock, 10 s ahead of ours
  const std::string ms_from_date = std::to_string((now_s + 10) * 1000 + 2500);
  const std::string s_from_date = std::to_string(now_s + 10 + 4);
  const std::string s_past_on_server = std::to_string(now_s + 5);  // the views below point into it
  const row rows[] = {
      {"epoch ms against Date",
       {.x_remaining = "2", .x_reset = ms_from_date, .date = date},
       expected{0, 2, 2500ms, 0ms, f::x_ratelimit}},
      {"epoch s against Date",
       {.x_remaining = "2", .x_reset = s_from_date, .date = date},
       expected{0, 2, 4000ms, 0ms, f::x_ratelimit}},
      {"delta is not measured from Date",
       {.x_remaining = "2", .x_reset = "3", .date = date},
       expected{0, 2, 3000ms, 0ms, f::x_ratelimit}},
      {"an unreadable Date: our clock",
       {.x_remaining = "2", .x_reset = epoch_s_plus_30, .date = "yesterday"},
       expected{0, 2, 30000ms, 0ms, f::x_ratelimit}},
      {"epoch s already past on the server's clock",
       {.x_remaining = "0", .x_reset = s_past_on_server, .date = date},
       expected{0, 0, 0ms, 0ms, f::x_ratelimit}},
      {"limit as a list: the first",
       {.x_limit = "100, 1000", .x_remaining = "5", .x_reset = "1"},
       expected{100, 5, 1000ms, 0ms, f::x_ratelimit}},
      {"remaining equal to the limit",
       {.x_limit = "5", .x_remaining = "5", .x_reset = "1"},
       expected{5, 5, 1000ms, 0ms, f::x_ratelimit}},
      {"negative reset", {.x_remaining = "1", .x_reset = "-5"}, std::nullopt},
      {"reset overflowing", {.x_remaining = "1", .x_reset = "99999999999999999999999"}, std::nullopt},
      {"reset with a unit", {.x_remaining = "1", .x_reset = "5s"}, std::nullopt},
      {"remaining overflowing", {.x_remaining = "99999999999999999999999", .x_reset = "1"}, std::nullopt},
      {"remaining a fraction", {.x_remaining = "1.5", .x_reset = "1"}, std::nullopt},
      {"remaining list with garbage", {.x_remaining = "5, x", .x_reset = "1"}, std::nullopt},
      {"limit negative", {.x_limit = "-1", .x_remaining = "1", .x_reset = "1"}, std::nullopt},
      {"limit of 16 digits",
       {.x_limit = "1234567890123456", .x_remaining = "1", .x_reset = "1"},
       std::nullopt},
      {"limit blank", {.x_limit = "  ", .x_remaining = "1", .x_reset = "1"}, std::nullopt},
      {"limit with a parameter", {.x_limit = "100;w=60", .x_remaining = "1", .x_reset = "1"}, std::nullopt},
      // A limit of 0 said by the server is not "unsaid": 5 left of 0 is a contradiction.
      {"limit 0, remaining 5", {.x_limit = "0", .x_remaining = "5", .x_reset = "1"}, std::nullopt},
      {"limit 0, remaining 0",
       {.x_limit = "0", .x_remaining = "0", .x_reset = "1"},
       expected{0, 0, 1000ms, 0ms, f::x_ratelimit}},
  };
  for (const row& r : rows) check(r);
}

// RFC 9651 syntax as far as RateLimit and RateLimit-Policy use it: what parses, and each syntax error
// (a field that does not parse counts as absent).
BOOST_AUTO_TEST_CASE(structured_field_syntax) {
  using f = kc::quota_family;
  const auto ok = [](std::uint64_t r, std::int64_t t) {
    return expected{0, r, milliseconds{t * 1000}, 0ms, f::ietf};
  };
  const row rows[] = {
      {"key characters _ - . * and digits",
       {.ratelimit = R"("p";r=1;t=2;a_b=1;c-d=2;e.f=3;*g=4;h9=5)"},
       ok(1, 2)},
      {"a token with tchar extras, ':' and '/'", {.ratelimit = "a!#$%&'*+-.^_`|~:/b;r=3;t=4"}, ok(3, 4)},
      {"a token starting with '*'", {.ratelimit = "*p;r=3;t=4"}, ok(3, 4)},
      {"booleans and byte sequences as parameters",
       {.ratelimit = R"("p";r=1;t=1;x=?0;y=?1;z;b=:AQID+/==:)"},
       ok(1, 1)},
      {"a decimal parameter", {.ratelimit = R"("p";r=1;t=1;d=-123456789012.123)"}, ok(1, 1)},
      {"string escapes", {.ratelimit = R"("a\"b\\c";r=5;t=6)"}, ok(5, 6)},
      {"leading spaces, tabs after commas", {.ratelimit = "   \"p\";r=1;t=9,\t\"q\";r=2;t=9"}, ok(1, 9)},
      {"15 digits", {.ratelimit = R"("p";r=999999999999999;t=1)"}, ok(999999999999999, 1)},
      {"leading zeros", {.ratelimit = R"("p";r=007;t=01)"}, ok(7, 1)},
      {"blank field", {.ratelimit = "   "}, std::nullopt},
      {"nine members",
       {.ratelimit = "a;r=1;t=1,b;r=1;t=1,c;r=1;t=1,d;r=1;t=1,e;r=1;t=1,f;r=1;t=1,g;r=1;t=1,"
                     "h;r=1;t=1,i;r=1;t=1"},
       std::nullopt},
      {"nine parameters", {.ratelimit = R"("p";r=1;t=1;a;b;c;d;e;f;g)"}, std::nullopt},
      {"eight parameters", {.ratelimit = R"("p";r=1;t=1;a;b;c;d;e;f)"}, ok(1, 1)},
      {"junk after a member", {.ratelimit = R"("p";r=1;t=1 x)"}, std::nullopt},
      {"a parameter without a key", {.ratelimit = R"("p";=1;r=1;t=1)"}, std::nullopt},
      {"a parameter key in upper case", {.ratelimit = R"("p";r=1;t=1;Q=1)"}, std::nullopt},
      {"a parameter with no value after '='", {.ratelimit = R"("p";r=1;t=)"}, std::nullopt},
      {"a bad boolean", {.ratelimit = R"("p";r=1;t=1;x=?2)"}, std::nullopt},
      {"a boolean cut short", {.ratelimit = R"("p";r=1;t=1;x=?)"}, std::nullopt},
      {"an unterminated byte sequence", {.ratelimit = R"("p";r=1;t=1;b=:AQID)"}, std::nullopt},
      {"a byte sequence with a bad character", {.ratelimit = R"("p";r=1;t=1;b=:A*B:)"}, std::nullopt},
      {"a lone minus", {.ratelimit = R"("p";r=-;t=1)"}, std::nullopt},
      {"a decimal with 13 integer digits", {.ratelimit = R"("p";r=1;t=1;d=1234567890123.5)"}, std::nullopt},
      {"a decimal with 4 fraction digits", {.ratelimit = R"("p";r=1;t=1;d=1.2345)"}, std::nullopt},
      {"a decimal without fraction digits", {.ratelimit = R"("p";r=1;t=1;d=1.)"}, std::nullopt},
      {"a bad escape in a string", {.ratelimit = R"("p\n";r=1;t=1)"}, std::nullopt},
      {"an escape at the end", {.ratelimit = "\"p\\"}, std::nullopt},
      {"a non-ASCII byte in a string", {.ratelimit = "\"p\xc3\xa9\";r=1;t=1"}, std::nullopt},
      {"a control character in a string", {.ratelimit = "\"p\x01\";r=1;t=1"}, std::nullopt},
      {"an item that starts with nothing known", {.ratelimit = "(p);r=1;t=1"}, std::nullopt},
      {"an integer as the name", {.ratelimit = "7;r=1;t=1"}, std::nullopt},
      {"a boolean as the name", {.ratelimit = "?1;r=1;t=1"}, std::nullopt},
      {"a dictionary member after a list item", {.ratelimit = R"("p";r=1;t=1, remaining=5)"}, std::nullopt},
      {"t over 2^40 seconds", {.ratelimit = R"("p";r=1;t=1099511627777)"}, std::nullopt},
      {"t of 2^40 seconds", {.ratelimit = R"("p";r=1;t=1099511627776)"}, ok(1, 1099511627776)},
      {"t negative", {.ratelimit = R"("p";r=1;t=-1)"}, std::nullopt},
      {"r a string", {.ratelimit = R"("p";r="1";t=1)"}, std::nullopt},
  };
  for (const row& r : rows) check(r);
}

// RateLimit-Policy: matched by name, its own syntax errors, its units, and the draft -07 dictionary.
BOOST_AUTO_TEST_CASE(policies_and_the_draft_07_dictionary) {
  using f = kc::quota_family;
  const row rows[] = {
      {"a policy that does not parse: limit and window unsaid",
       {.ratelimit = R"("p";r=5;t=2)", .ratelimit_policy = R"("p";q=10;w=)"},
       expected{0, 5, 2000ms, 0ms, f::ietf}},
      {"a policy of another name: unsaid",
       {.ratelimit = R"("p";r=5;t=2)", .ratelimit_policy = R"("other";q=3;w=1)"},
       expected{0, 5, 2000ms, 0ms, f::ietf}},
      {"a string and a token of the same name match",
       {.ratelimit = R"("p";r=5;t=2)", .ratelimit_policy = "p;q=10;w=10"},
       expected{10, 5, 2000ms, 10000ms, f::ietf}},
      {"qu=\"requests\" counts",
       {.ratelimit = R"("p";r=5;t=2)", .ratelimit_policy = R"("p";q=10;w=10;qu="requests")"},
       expected{10, 5, 2000ms, 10000ms, f::ietf}},
      {"qu as a token is not the String \"requests\"",
       {.ratelimit = R"("p";r=5;t=2)", .ratelimit_policy = R"("p";q=10;w=10;qu=requests)"},
       std::nullopt},
      {"a window beyond 2^40 s: unsaid",
       {.ratelimit = R"("p";r=5;t=2)", .ratelimit_policy = R"("p";q=10;w=1099511627777)"},
       expected{10, 5, 2000ms, 0ms, f::ietf}},
      {"q=0 with requests left",
       {.ratelimit = R"("p";r=5;t=2)", .ratelimit_policy = R"("p";q=0;w=10)"},
       std::nullopt},
      {"q=0 and none left",
       {.ratelimit = R"("p";r=0;t=2)", .ratelimit_policy = R"("p";q=0;w=10)"},
       expected{0, 0, 2000ms, 10000ms, f::ietf}},
      {"q negative", {.ratelimit = R"("p";r=5;t=2)", .ratelimit_policy = R"("p";q=-1;w=10)"}, std::nullopt},
      {"-07: no policy",
       {.ratelimit = "limit=10, remaining=4, reset=3"},
       expected{10, 4, 3000ms, 0ms, f::ietf}},
      {"-07: no limit", {.ratelimit = "remaining=4, reset=3"}, expected{0, 4, 3000ms, 0ms, f::ietf}},
      {"-07: members in another order, unknown ones skipped",
       {.ratelimit = "reset=3, policy=x, remaining=4;p=1, limit=10"},
       expected{10, 4, 3000ms, 0ms, f::ietf}},
      {"-07: a duplicate key, the last wins (RFC 9651 4.2.2)",
       {.ratelimit = "limit=10, remaining=9, reset=3, remaining=4"},
       expected{10, 4, 3000ms, 0ms, f::ietf}},
      {"-07: a policy that does not parse",
       {.ratelimit = "remaining=4, reset=3", .ratelimit_policy = "10;w="},
       expected{0, 4, 3000ms, 0ms, f::ietf}},
      {"-07: a window beyond 2^40 s",
       {.ratelimit = "remaining=4, reset=3", .ratelimit_policy = "10;w=1099511627777"},
       expected{0, 4, 3000ms, 0ms, f::ietf}},
      {"-07: no reset", {.ratelimit = "limit=10, remaining=4"}, std::nullopt},
      {"-07: no remaining", {.ratelimit = "limit=10, reset=4"}, std::nullopt},
      {"-07: reset negative", {.ratelimit = "remaining=4, reset=-3"}, std::nullopt},
      {"-07: reset beyond 2^40 s", {.ratelimit = "remaining=4, reset=1099511627777"}, std::nullopt},
      {"-07: reset a decimal", {.ratelimit = "remaining=4, reset=3.5"}, std::nullopt},
      {"-07: remaining above the limit", {.ratelimit = "limit=3, remaining=4, reset=3"}, std::nullopt},
      {"-07: reset beyond the window",
       {.ratelimit = "remaining=4, reset=30", .ratelimit_policy = "10;w=10"},
       std::nullopt},
      // A limit that is said but unreadable gives no observation, as in the other families.
      {"-07: limit a token", {.ratelimit = "limit=ten, remaining=4, reset=3"}, std::nullopt},
      {"-07: limit negative", {.ratelimit = "limit=-1, remaining=4, reset=3"}, std::nullopt},
      {"-07: limit 0 with requests left", {.ratelimit = "limit=0, remaining=4, reset=3"}, std::nullopt},
      {"-07: a member with a bad value", {.ratelimit = "remaining=4, reset="}, std::nullopt},
  };
  for (const row& r : rows) check(r);
}

// The older trio: each field's malformed values.
BOOST_AUTO_TEST_CASE(older_trio_malformed) {
  using f = kc::quota_family;
  const row rows[] = {
      {"whitespace around numbers",
       {.limit = " 10 ", .remaining = " 4 ", .reset = "\t1\r\n"},
       expected{10, 4, 1000ms, 0ms, f::ietf_trio}},
      {"a window of the first number only",
       {.limit = "10, 100;w=60", .remaining = "4", .reset = "1"},
       expected{10, 4, 1000ms, 0ms, f::ietf_trio}},
      {"the limit's policy listed later",
       {.limit = "10, 100;w=60, 10;w=5", .remaining = "4", .reset = "1"},
       expected{10, 4, 1000ms, 5000ms, f::ietf_trio}},
      {"a window beyond 2^40 s: unsaid",
       {.limit = "10;w=1099511627777", .remaining = "4", .reset = "1"},
       expected{10, 4, 1000ms, 0ms, f::ietf_trio}},
      {"no reset", {.limit = "10", .remaining = "4"}, std::nullopt},
      {"no remaining", {.limit = "10", .reset = "4"}, std::nullopt},
      {"remaining negative", {.remaining = "-4", .reset = "1"}, std::nullopt},
      {"remaining a list", {.remaining = "4, 5", .reset = "1"}, std::nullopt},
      {"remaining of 16 digits", {.remaining = "1234567890123456", .reset = "1"}, std::nullopt},
      {"reset blank", {.remaining = "4", .reset = "  "}, std::nullopt},
      {"reset a fraction", {.remaining = "4", .reset = "1.5"}, std::nullopt},
      {"reset beyond 2^40 s", {.remaining = "4", .reset = "1099511627777"}, std::nullopt},
      {"limit that does not parse", {.limit = "10,", .remaining = "4", .reset = "1"}, std::nullopt},
      {"limit a token", {.limit = "ten", .remaining = "4", .reset = "1"}, std::nullopt},
      {"limit negative", {.limit = "-10", .remaining = "4", .reset = "1"}, std::nullopt},
      {"limit 0 with requests left", {.limit = "0", .remaining = "4", .reset = "1"}, std::nullopt},
  };
  for (const row& r : rows) check(r);
}

// Several families, and several items in one: the tightest by remaining / reset_in, a reset of 0
// counting as 1 ms.
BOOST_AUTO_TEST_CASE(tightest_of_many) {
  using f = kc::quota_family;
  const row rows[] = {
      {"the trio tighter than X-RateLimit",
       {.x_remaining = "10", .x_reset = "1", .remaining = "1", .reset = "1"},
       expected{0, 1, 1000ms, 0ms, f::ietf_trio}},
      {"X-RateLimit tighter than the trio",
       {.x_remaining = "1", .x_reset = "10", .remaining = "10", .reset = "1"},
       expected{0, 1, 10000ms, 0ms, f::x_ratelimit}},
      {"a reset of 0 counts as 1 ms",
       {.ratelimit = R"("a";r=0;t=0, "b";r=1;t=0)"},
       expected{0, 0, 0ms, 0ms, f::ietf}},
      {"equal ratios: the first kept",
       {.ratelimit = R"("a";r=2;t=2, "b";r=1;t=1)"},
       expected{0, 2, 2000ms, 0ms, f::ietf}},
      {"one bad item spoils the field",
       {.ratelimit = R"("a";r=2;t=2, "b";r=1)", .remaining = "7", .reset = "1"},
       expected{0, 7, 1000ms, 0ms, f::ietf_trio}},
  };
  for (const row& r : rows) check(r);
}

BOOST_AUTO_TEST_SUITE_END()
