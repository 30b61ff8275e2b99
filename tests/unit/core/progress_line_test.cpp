// The progress line fitted to a terminal's width (issue 11): never wider than columns - 1, the least
// useful fields dropped first, and a wait said in words instead of "0/s".
#include "keyrevoke/core/progress_line.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace kc = keyrevoke::core;
using kc::outcome;
using kc::wait_cause;
using namespace std::chrono_literals;

namespace {

kc::run_counts big_run() {
  kc::run_counts c;
  c.hashes = 10'000'000;
  c.input_complete = true;
  c[outcome::deleted] = 9'123'456;
  c[outcome::not_found] = 123'456;
  c[outcome::failed] = 1'234;
  c[outcome::invalid] = 12;
  c.throttled = 45'678;
  c.verify = true;
  c.verified = 9'000'000;
  c.verify_mismatch = 3;
  return c;
}

kc::run_counts typical() {
  kc::run_counts c;
  c.hashes = 50'000;
  c.input_complete = true;
  c[outcome::deleted] = 12'000;
  c[outcome::not_found] = 345;
  c.throttled = 17;
  return c;
}

kc::progress_state sending() {
  kc::progress_state s;
  s.rate = 2'345.0;
  s.elapsed_s = 3'900;
  s.rate_limit = 2'400;
  s.in_flight = 250;
  s.in_flight_limit = 1'000;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(progress_line)

BOOST_AUTO_TEST_CASE(fits_the_width_and_keeps_the_most_useful_fields) {
  struct row {
    const char* name;
    kc::run_counts counts;
    kc::progress_state state;
    std::size_t columns;
    std::vector<std::string> shown;    // each must be in the line
    std::vector<std::string> dropped;  // none may be
  };
  kc::progress_state waiting = sending();
  waiting.wait = {wait_cause::server_asked, 36'200ms, 429};
  kc::progress_state probing = sending();
  probing.wait = {wait_cause::outage, 2'500ms, 0};
  kc::run_counts small;
  small.hashes = 20;
  small[outcome::deleted] = 5;
  const std::vector<row> rows = {
      {"wide: everything", big_run(), sending(), 200,
       {"[9,248,146/10,000,000]", "2345/s", "deleted 9,123,456", "not_found 123,456", "failed 1,234",
        "invalid 12", "verified 9,000,000", "MISMATCH 3", "throttled 45,678", "limit 2400/s",
        "in flight 250/1000", "ETA 5:21"},
       {}},
      {"no limit (a log file): everything", big_run(), sending(), 0, {"in flight 250/1000", "ETA 5:21"}, {}},
      {"120 columns: the pacing details go first", big_run(), sending(), 120,
       {"[9,248,146/10,000,000]", "2345/s", "MISMATCH 3", "ETA 5:21", "failed 1,234", "deleted 9,123,456"},
       {"in flight"}},
      {"80 columns: the action's count does not fit, nothing after it either", big_run(), sending(), 80,
       {"[9,248,146/10,000,000]", "2345/s", "MISMATCH 3", "ETA 5:21", "failed 1,234"},
       {"deleted", "invalid", "in flight", "limit", "throttled"}},
      {"60 columns: counts, rate, alarm, ETA", big_run(), sending(), 60,
       {"[9,248,146/10,000,000]", "2345/s", "MISMATCH 3", "ETA 5:21"},
       {"failed", "in flight", "limit", "throttled", "verified", "not_found"}},
      {"waiting on the server's hint, not 0/s", big_run(), waiting, 60,
       {"[9,248,146/10,000,000] waiting 37 s: server asked (429)"}, {"/s", "ETA", "limit"}},
      {"waiting, 80 columns", big_run(), waiting, 80, {"waiting 37 s: server asked (429) | MISMATCH 3"}, {"ETA"}},
      {"outage", big_run(), probing, 80, {"server failing: probing (next in 3 s) | MISMATCH 3"}, {"ETA", "/s"}},
      {"typical, 80 columns", typical(), sending(), 80,
       {"[12,345/50,000] 2345/s | deleted 12,000, not_found 345, failed 0 | ETA 0:16"},
       {"in flight", "throttled"}},
      {"input not read to the end: '+' and no ETA", small, kc::progress_state{1.0, 12.0, 0, 1, 16, {}}, 80,
       {"[5/20+] 1/s | deleted 5, not_found 0, failed 0 | in flight 1/16 | 0:12"},
       {"ETA", "invalid", "MISMATCH", "throttled", "verified", "limit"}},
      {"a tiny terminal: what fits of the counts", big_run(), sending(), 10, {"[9,248,1"}, {"/s"}},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      const std::string line = kc::progress_line(r.counts, r.state, r.columns);
      BOOST_TEST_INFO("line: " << line);
      if (r.columns != 0) BOOST_TEST(line.size() <= r.columns - 1);
      for (const std::string& s : r.shown) BOOST_TEST(line.find(s) != std::string::npos, s);
      for (const std::string& s : r.dropped) BOOST_TEST(line.find(s) == std::string::npos, s);
      for (const char ch : line) BOOST_TEST((ch >= 0x20 && ch < 0x7f));  // ASCII: a byte is a column
    }
  }
}

BOOST_AUTO_TEST_CASE(every_width_from_1_to_200_fits) {
  kc::progress_state waiting = sending();
  waiting.wait = {wait_cause::throttling, 1'000ms, 503};
  for (const auto& state : {sending(), waiting}) {
    for (std::size_t columns = 1; columns <= 200; ++columns) {
      BOOST_TEST_CONTEXT("columns " << columns) {
        const std::string line = kc::progress_line(big_run(), state, columns);
        BOOST_TEST(line.size() <= std::max<std::size_t>(1, columns - 1));
        BOOST_TEST(!line.empty());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(waits_are_said_in_words) {
  struct row {
    kc::wait_reason wait;
    std::string text;
  };
  const std::vector<row> rows = {
      {{wait_cause::none, 0ms, 0}, ""},
      {{wait_cause::preflight, 0ms, 0}, "checking the server"},
      {{wait_cause::preflight_retry, 1'500ms, 0}, "server not answering: asking again in 2 s"},
      {{wait_cause::input, 0ms, 0}, "waiting for input"},
      {{wait_cause::server_asked, 37'000ms, 429}, "waiting 37 s: server asked (429)"},
      {{wait_cause::server_asked, 1ms, 503}, "waiting 1 s: server asked (503)"},
      {{wait_cause::throttling, 900ms, 429}, "waiting 1 s: server throttling (429)"},
      {{wait_cause::backoff, 4'000ms, 0}, "waiting 4 s: retries backing off"},
      {{wait_cause::confirming, 2'000ms, 0},
       "holding: a 404 not confirmed, the key route still shows the key (re-reading in 2 s)"},
      {{wait_cause::outage, 0ms, 0}, "server failing: probing"},
      {{wait_cause::outage, 3'000ms, 0}, "server failing: probing (next in 3 s)"},
      {{wait_cause::stopping, 0ms, 0}, "stopping: awaiting answers in flight"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.text) { BOOST_TEST(kc::wait_text(r.wait) == r.text); }
  }
}

BOOST_AUTO_TEST_CASE(digits_and_durations) {
  BOOST_TEST(kc::group_digits(0) == "0");
  BOOST_TEST(kc::group_digits(999) == "999");
  BOOST_TEST(kc::group_digits(1'000) == "1,000");
  BOOST_TEST(kc::group_digits(1'234'567) == "1,234,567");
  BOOST_TEST(kc::clock_duration(65) == "1:05");
  BOOST_TEST(kc::clock_duration(3'725) == "1:02:05");
  BOOST_TEST(kc::clock_duration(-1) == "?");
}

BOOST_AUTO_TEST_SUITE_END()
