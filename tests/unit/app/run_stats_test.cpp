// Progress and summary lines: what a responder reads at 3 a.m.
#include "keyrevoke/app/run_stats.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>

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
  const std::string line = format_progress(s, {480.0, 16, 32, false}, 30.0, 500.0);
  BOOST_TEST(line.find("[12,345/50,000]") == 0U);
  BOOST_TEST(line.find("deleted 12,000") != std::string::npos);
  BOOST_TEST(line.find("429s 17") != std::string::npos);
  BOOST_TEST(line.find("limit 480/s") != std::string::npos);
  BOOST_TEST(line.find("in flight 16/32") != std::string::npos);
  BOOST_TEST(line.find("ETA 1:15") != std::string::npos);  // 37,655 left at 500/s
}

BOOST_AUTO_TEST_CASE(progress_marks_streaming_input_and_a_failing_server) {
  run_stats s;
  s.hashes = 10;
  const std::string line = format_progress(s, {0.0, 1, 1, true}, 3725.0, 0.0);
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
  BOOST_TEST(full.find("answered 429: 50") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
