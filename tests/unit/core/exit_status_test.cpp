// The exit-code table (README, Exit codes): how a run ended, and what it left undone, to a code and
// the summary's last line.
#include "keyrevoke/core/exit_status.hpp"

#include <boost/test/unit_test.hpp>
#include <functional>
#include <string>
#include <vector>

namespace kc = keyrevoke::core;
using kc::outcome;
using kc::stop_reason;

BOOST_AUTO_TEST_SUITE(exit_status)

BOOST_AUTO_TEST_CASE(codes_and_explanations_follow_the_table) {
  struct row {
    const char* name;
    stop_reason reason;
    bool input_error;
    bool report_failed;
    std::function<void(kc::run_counts&)> fill;
    int code;
    std::string explanation;
    bool empty_input = false;
    bool report_relocated = false;
    bool refusal_not_api = false;
  };
  const auto none = [](kc::run_counts&) {};
  const auto all_done = [](kc::run_counts& c) {
    c[outcome::deleted] = 5;
    c[outcome::not_found] = 2;
    c[outcome::not_found_after_retry] = 1;
    c[outcome::protected_key] = 3;
  };
  const auto some_failed = [](kc::run_counts& c) {
    c[outcome::deleted] = 5;
    c[outcome::failed] = 2;
  };
  const std::vector<row> rows = {
      {"nothing to do", stop_reason::none, false, false, none, 0, "exit 0: every hash done"},
      {"all done, incl. after retry and protected", stop_reason::none, false, false, all_done, 0,
       "exit 0: every hash done"},
      {"disabled and enabled are done", stop_reason::none, false, false,
       [](kc::run_counts& c) {
         c[outcome::disabled] = 1;
         c[outcome::enabled] = 1;
       },
       0, "exit 0: every hash done"},
      {"failed", stop_reason::none, false, false, some_failed, 1, "exit 1: 2 failed"},
      // --enable on keys that are gone: the goal (a usable key) is not met (the trial: exit 0 "every
      // hash done" for keys never re-enabled). For a delete or a disable, gone is the goal.
      {"enable: keys not found", stop_reason::none, false, false,
       [](kc::run_counts& c) {
         c.act = kc::action::enable;
         c[outcome::enabled] = 4;
         c[outcome::not_found] = 2;
         c[outcome::not_found_after_retry] = 1;
       },
       1, "exit 1: 3 not enabled (no such key)"},
      {"disable: keys not found are contained", stop_reason::none, false, false,
       [](kc::run_counts& c) {
         c.act = kc::action::disable;
         c[outcome::disabled] = 4;
         c[outcome::not_found] = 2;
       },
       0, "exit 0: every hash done"},
      {"one invalid line", stop_reason::none, false, false,
       [](kc::run_counts& c) { c[outcome::invalid] = 1; }, 1, "exit 1: 1 invalid line"},
      {"invalid lines and the rest", stop_reason::none, false, false,
       [](kc::run_counts& c) {
         c[outcome::invalid] = 3;
         c[outcome::failed] = 2;
         c[outcome::unauthorized] = 1;
         c[outcome::not_attempted] = 4;
       },
       1, "exit 1: 3 invalid lines, 2 failed, 1 unauthorized, 4 not attempted"},
      {"unproven verifications", stop_reason::none, false, false,
       [](kc::run_counts& c) {
         c[outcome::deleted] = 3;
         c.verify = true;
         c.verified = 0;
         c.verify_mismatch = 2;
         c.verify_failed = 2;
         c.verify_not_attempted = 3;
       },
       1, "exit 1: 2 verify mismatches, 2 could not be verified, 3 not verified"},
      {"verified", stop_reason::none, false, false,
       [](kc::run_counts& c) {
         c[outcome::deleted] = 3;
         c.verify = true;
         c.verified = 3;
       },
       0, "exit 0: every hash done"},
      {"input error alone", stop_reason::none, true, false, all_done, 1,
       "exit 1: an input could not be read"},
      {"report rows lost alone", stop_reason::none, false, true, all_done, 1, "exit 1: report rows lost"},
      {"failed, input error and rows lost", stop_reason::none, true, true, some_failed, 1,
       "exit 1: 2 failed, an input could not be read, report rows lost"},
      {"interrupted", stop_reason::interrupted, false, false, all_done, 130, "exit 130: interrupted"},
      {"interrupted with hashes left", stop_reason::interrupted, false, false,
       [](kc::run_counts& c) {
         c[outcome::deleted] = 5;
         c[outcome::not_attempted] = 995;
       },
       130, "exit 130: interrupted; 995 not_attempted"},
      {"interrupted wins over failures", stop_reason::interrupted, true, true, some_failed, 130,
       "exit 130: interrupted"},
      {"key rejected", stop_reason::key_rejected, false, false, some_failed, 3,
       "exit 3: the server rejected the management key"},
      // A gateway's 403 page after the preflight's GET got through: still exit 3, not called a rejected key.
      {"refused by a gateway", stop_reason::key_rejected, false, false, some_failed, 3,
       "exit 3: requests refused by something that is not the API (a gateway?)", false, false, true},
      // Its own stop reason since the fifth trial (the summary row said "key_rejected").
      {"refused (stop reason)", stop_reason::refused, false, false, some_failed, 3,
       "exit 3: requests refused by something that is not the API (a gateway?)"},
      {"TLS untrusted", stop_reason::tls_untrusted, false, false, none, 3,
       "exit 3: TLS could not be trusted or was refused"},
      {"not the API", stop_reason::not_api, false, false, none, 2,
       "exit 2: the server's answers are not the API's (check --base-url)"},
      {"contradicted", stop_reason::contradicted, false, false, some_failed, 2,
       "exit 2: the server's routes disagree about a key (a 404 for a key the listing or the key route shows; "
       "check what sits in front of --base-url)"},
      {"unattributable", stop_reason::unattributable, false, false, some_failed, 2,
       "exit 2: the server sent an answer no request asked for: its answers cannot be matched to requests "
       "(rows claimed before the stop may be another request's: prove them with --resume --verify)"},
      {"unreachable", stop_reason::unreachable, false, false, none, 4,
       "exit 4: the server could not be reached"},
      {"gave up", stop_reason::gave_up, false, false, some_failed, 4,
       "exit 4: the server kept failing for --give-up-after"},
      {"report failed", stop_reason::report_failed, false, true, all_done, 1,
       "exit 1: the report could not be written"},
      // An input without any hash line (a cron line's empty file variable): nothing was sent, exit 2.
      {"empty input", stop_reason::none, false, false, none, 2,
       "exit 2: the input holds no hash (only blank lines and comments, or nothing); --allow-empty accepts "
       "that",
       true},
      {"interrupted wins over an empty input", stop_reason::interrupted, false, false, none, 130,
       "exit 130: interrupted", true},
      // The report's path removed mid-run: every hash done, but the audit trail is not where it was.
      {"report relocated", stop_reason::none, false, false, all_done, 1,
       "exit 1: the report was removed mid-run (its rows are where the summary says)", false, true},
      {"report relocated and failures", stop_reason::none, false, false, some_failed, 1,
       "exit 1: 2 failed, the report was removed mid-run (its rows are where the summary says)", false, true},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::run_counts counts;
      r.fill(counts);
      const kc::run_end end{r.reason,      r.input_error,       r.report_failed,
                            r.empty_input, r.report_relocated, r.refusal_not_api};
      const int code = kc::exit_code(end, counts);
      BOOST_TEST(code == r.code);
      BOOST_TEST(kc::exit_explanation(code, end, counts) == r.explanation);
    }
  }
}

BOOST_AUTO_TEST_CASE(only_an_input_without_any_hash_line_read_to_the_end_is_refused_as_empty) {
  struct row {
    const char* name;
    std::uint64_t hash_lines;
    bool read_to_end;
    bool allow_empty;
    bool refused;
  };
  const std::vector<row> rows = {
      {"nothing, or only blank lines and comments", 0, true, false, true},
      {"--allow-empty", 0, true, true, false},
      // Hash lines whose hashes were all skipped (done on --resume, another shard's, protected,
      // duplicates) or invalid: the list was not empty.
      {"one hash line", 1, true, false, false},
      {"many hash lines", 1000, true, true, false},
      // Not read to the end (an input error, a stop): not known to be empty.
      {"cut short", 0, false, false, false},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      BOOST_TEST(kc::refused_empty_input(r.hash_lines, r.read_to_end, r.allow_empty) == r.refused);
    }
  }
}

BOOST_AUTO_TEST_CASE(constants_are_the_documented_codes) {
  BOOST_TEST(kc::exit_ok == 0);
  BOOST_TEST(kc::exit_incomplete == 1);
  BOOST_TEST(kc::exit_usage == 2);
  BOOST_TEST(kc::exit_aborted == 3);
  BOOST_TEST(kc::exit_unreachable == 4);
  BOOST_TEST(kc::exit_interrupted == 130);
}

BOOST_AUTO_TEST_SUITE_END()
