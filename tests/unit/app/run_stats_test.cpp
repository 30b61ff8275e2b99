// Progress and summary lines: what a responder reads at 3 a.m.
#include "keyrevoke/app/run_stats.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace keyrevoke::app;
using keyrevoke::core::outcome;

BOOST_AUTO_TEST_SUITE(run_stats_format)

BOOST_AUTO_TEST_CASE(finished_counts_every_outcome_but_invalid) {
  run_stats s;
  s[outcome::deleted] = 5;
  s[outcome::not_found] = 2;
  s[outcome::failed] = 1;
  s[outcome::not_attempted] = 3;
  s[outcome::invalid] = 100;
  BOOST_TEST(s.finished() == 11U);
}

BOOST_AUTO_TEST_CASE(progress_shows_counts_rate_limit_and_eta) {
  run_stats s;
  s.hashes = 50000;
  s.input_complete = true;
  s[outcome::deleted] = 12000;
  s[outcome::not_found] = 345;
  s.throttled = 17;
  const std::string line = format_progress(s, {480.0, 16, 32, {}}, 30.0, 500.0, 0);
  BOOST_TEST(line.find("[12,345/50,000]") == 0U);
  BOOST_TEST(line.find("deleted 12,000") != std::string::npos);
  BOOST_TEST(line.find("throttled 17") != std::string::npos);
  BOOST_TEST(line.find("limit 480/s") != std::string::npos);
  BOOST_TEST(line.find("in flight 16/32") != std::string::npos);
  BOOST_TEST(line.find("ETA 1:15") != std::string::npos);  // 37,655 left at 500/s
}

BOOST_AUTO_TEST_CASE(progress_marks_streaming_input_and_a_failing_server) {
  run_stats s;
  s.hashes = 10;
  const std::string line =
      format_progress(s, {0.0, 1, 1, {keyrevoke::core::wait_cause::outage, {}, 0}}, 3725.0, 0.0, 0);
  BOOST_TEST(line.find("[0/10+]") == 0U);
  BOOST_TEST(line.find("server failing") != std::string::npos);
  BOOST_TEST(line.find("1:02:05") != std::string::npos);  // elapsed, no ETA while streaming
}

BOOST_AUTO_TEST_CASE(summary_accounts_for_every_class) {
  run_stats s;
  s[outcome::deleted] = 1000;
  s[outcome::not_found] = 20;
  s[outcome::failed] = 3;
  s[outcome::invalid] = 2;
  s.duplicates = 7;
  s.already_done = 40;
  s.requests = 1100;
  s.throttled = 50;
  const std::string quiet = format_summary(s, 2.0, true);
  BOOST_TEST(quiet.find("1,023 hashes in 2.0 s (512/s)") != std::string::npos);
  BOOST_TEST(quiet.find("1,000 deleted, 20 not_found, 3 failed") != std::string::npos);
  BOOST_TEST(quiet.find("2 invalid lines, 7 duplicates, 40 already done") != std::string::npos);
  BOOST_TEST(std::count(quiet.begin(), quiet.end(), '\n') == 1);
  const std::string full = format_summary(s, 2.0, false);
  BOOST_TEST(full.find("requests 1,100") != std::string::npos);
  // 429s and 403/503s with a hint alike: "throttled", not "answered 429".
  BOOST_TEST(full.find("throttled: 50") != std::string::npos);
  BOOST_TEST(full.find("answered 429") == std::string::npos);
  BOOST_TEST(full.find("keyrevoke: 1,023 hashes in 2.0 s (512/s): 1,000 deleted, 20 not_found, 3 failed\n") == 0U);
  BOOST_TEST(full.find("  input: 2 invalid lines, 7 duplicates, 40 already done (resume)\n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(summary_first_line_fits_80_columns_and_counts_only_answered_hashes) {
  struct row {
    const char* name;
    std::uint64_t deleted, not_found, failed, unauthorized, not_attempted, after_retry;
    double elapsed_s;
    std::string first;   // the first line, exactly
    std::string second;  // the next line's start
  };
  const std::vector<row> rows = {
      {"small", 10, 2, 0, 0, 0, 0, 1.0,
       "keyrevoke: 12 hashes in 1.0 s (12/s): 10 deleted, 2 not_found, 0 failed", "  input: "},
      // After an interrupt: 9,880 never answered do not make "9,999 hashes" nor the rate.
      {"interrupted", 100, 19, 0, 0, 9'880, 0, 2.0,
       "keyrevoke: 119 hashes in 2.0 s (60/s): 100 deleted, 19 not_found, 0 failed",
       "  and 9,880 not_attempted\n"},
      {"big numbers overflow to the next line", 9'999'000, 500, 300, 1, 199, 2, 4000.0,
       "keyrevoke: 9,999,803 hashes in 4000.0 s (2500/s): 9,999,000 deleted",
       "  and 500 not_found, 2 not_found_after_retry, 300 failed, 1 unauthorized, 199 not_attempted\n"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      run_stats s;
      s[outcome::deleted] = r.deleted;
      s[outcome::not_found] = r.not_found;
      s[outcome::failed] = r.failed;
      s[outcome::unauthorized] = r.unauthorized;
      s[outcome::not_attempted] = r.not_attempted;
      s[outcome::not_found_after_retry] = r.after_retry;
      const std::string text = format_summary(s, r.elapsed_s, false);
      const std::string first = text.substr(0, text.find('\n'));
      BOOST_TEST(first == r.first);
      BOOST_TEST(first.size() <= summary_columns);
      BOOST_TEST(text.substr(first.size() + 1, r.second.size()) == r.second);
      BOOST_TEST(text.find("cuts") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
