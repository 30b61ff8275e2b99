#include "keyrevoke/core/report_reader.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <string>
#include <vector>

#include "keyrevoke/core/report_row.hpp"

namespace kc = keyrevoke::core;

namespace {

kc::key_hash nth_hash(std::uint8_t n) {
  kc::key_hash h{};
  h.fill(0xab);
  h[5] = n;
  return h;
}

std::string hash_row(std::uint8_t n, kc::outcome result) {
  std::string out;
  kc::append_row(out, kc::hash_row{nth_hash(n), result, 200, 1, 1.0, ""});
  return out;
}

std::string invalid_row(std::uint64_t line) {
  std::string out;
  kc::append_row(out, kc::invalid_row{line, "in.txt", "abc\xE2\x80\xA6(9 chars)", "not a 64-hex-digit hash"});
  return out;
}

kc::resume_scan scan_in_chunks(std::string_view report, std::size_t chunk) {
  kc::report_reader reader;
  for (std::size_t at = 0; at < report.size(); at += chunk) reader.feed(report.substr(at, chunk));
  return reader.finish();
}

struct summary {
  std::uint64_t rows, malformed, valid_bytes;
  bool torn;
  std::size_t done;
  bool operator==(const summary&) const = default;
};
std::ostream& operator<<(std::ostream& os, const summary& s) {
  return os << "{rows " << s.rows << ", malformed " << s.malformed << ", valid_bytes " << s.valid_bytes << ", torn "
            << s.torn << ", done " << s.done << '}';
}
summary summarise(const kc::resume_scan& scan) {
  return {scan.rows, scan.malformed_rows, scan.valid_bytes, scan.torn_tail, scan.done.size()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(report_reader)

BOOST_AUTO_TEST_CASE(outcomes_decide_what_is_done) {
  std::string report;
  report += hash_row(1, kc::outcome::deleted);
  report += hash_row(2, kc::outcome::not_found);
  report += hash_row(3, kc::outcome::failed);
  report += hash_row(4, kc::outcome::unauthorized);
  report += hash_row(5, kc::outcome::not_attempted);
  report += invalid_row(9);
  report += hash_row(3, kc::outcome::deleted);  // a later run finished hash 3
  report += hash_row(1, kc::outcome::not_found);  // and saw hash 1 again
  const kc::resume_scan scan = scan_in_chunks(report, report.size());
  BOOST_TEST(summarise(scan) == (summary{8, 0, report.size(), false, 3}));
  for (std::uint8_t n = 1; n <= 6; ++n) {
    BOOST_TEST_CONTEXT("hash " << int{n}) { BOOST_TEST(scan.done.contains(nth_hash(n)) == (n <= 3)); }
  }
}

// A hash whose row is not done but whose request was sent: the server may have acted on it, so a
// --resume must not call its 404 "gone before the run" (resume_scan::sent).
BOOST_AUTO_TEST_CASE(rows_not_done_whose_request_was_sent) {
  const std::string h = "abababababababababababababababababababababababababababababababab";
  struct row {
    const char* name;
    std::string line;
    bool sent;
  };
  const row rows[] = {
      {"failed after 1 attempt (a 504 page)",
       R"({"hash":")" + h + R"(","outcome":"failed","status":504,"attempts":1})", true},
      {"not_attempted with attempts 2 (a stop, a give-up)",
       R"({"hash":")" + h + R"(","outcome":"not_attempted","status":0,"attempts":2})", true},
      {"not_attempted, never sent", R"({"hash":")" + h + R"(","outcome":"not_attempted","attempts":0})", false},
      {"no attempts field (an older or edited report): may have been sent",
       R"({"hash":")" + h + R"(","outcome":"failed"})", true},
      {"attempts not a number", R"({"hash":")" + h + R"(","outcome":"failed","attempts":"0"})", true},
      {"done rows are not in doubt", R"({"hash":")" + h + R"(","outcome":"deleted","attempts":1})", false},
      {"an unknown outcome (a newer version's), sent",
       R"({"hash":")" + h + R"(","outcome":"paused","attempts":1})", true},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      const kc::resume_scan scan = scan_in_chunks(r.line + "\n", 7);
      BOOST_TEST(scan.malformed_rows == 0U);
      BOOST_TEST(scan.sent.contains(*kc::parse_key_hash(h)) == r.sent);
    }
  }
}

BOOST_AUTO_TEST_CASE(line_shapes) {
  const std::string good = hash_row(1, kc::outcome::deleted);
  const std::string good_body = good.substr(0, good.size() - 1);
  const std::string hex = kc::to_hex(nth_hash(1));
  struct row {
    std::string name;
    std::string line;  // without '\n' (added)
    bool is_row;
    bool done;
  };
  const std::vector<row> table = {
      {"a row", good_body, true, true},
      {"CRLF", good_body + "\r", true, true},
      {"spaces and other key order", R"({ "outcome" : "deleted" , "hash" : ")" + hex + R"(" })", true, true},
      {"upper-case hex", R"({"hash":"ABABABABAB01ABABABABABABABABABABABABABABABABABABABABABABABABABAB","outcome":"deleted"})", true, true},
      {"invalid-input row", invalid_row(3).substr(0, invalid_row(3).size() - 1), true, false},
      {"header row", R"({"type":"header","version":"0.1.0","started":"2024-03-10T12:00:00Z"})", true, false},
      {"hash null", R"({"hash":null,"outcome":"deleted"})", true, false},
      {"hash a number", R"({"hash":12,"outcome":"deleted"})", true, false},
      {"unknown outcome", R"({"hash":")" + hex + R"(","outcome":"revoked_later"})", true, false},
      {"blank", "", false, false},
      {"CR only", "\r", false, false},
      {"garbage", "hello world", false, false},
      {"half a row", good_body.substr(0, 40), false, false},
      {"array", "[1,2]", false, false},
      {"object then junk", good_body + "x", false, false},
      {"two objects", good_body + good_body, false, false},
      {"short hash", R"({"hash":"abab","outcome":"deleted"})", false, false},
      {"hash with non-hex", R"({"hash":")" + hex.substr(0, 63) + R"(g","outcome":"deleted"})", false, false},
      {"no outcome", R"({"hash":")" + hex + R"("})", false, false},
      {"outcome not a string", R"({"hash":")" + hex + R"(","outcome":1})", false, false},
      {"NUL bytes (after a crash)", std::string(40, '\0'), false, false},
      {"invalid UTF-8", "{\"hash\":\"" + hex + "\",\"outcome\":\"deleted\",\"error\":\"\xFF\"}", false, false},
  };
  for (const auto& [name, line, is_row, done] : table) {
    BOOST_TEST_CONTEXT(name) {
      const std::string report = line + "\n";
      const kc::resume_scan scan = scan_in_chunks(report, report.size());
      BOOST_TEST(scan.rows == (is_row ? 1u : 0u));
      BOOST_TEST(scan.malformed_rows == (is_row ? 0u : 1u));
      BOOST_TEST(scan.done.size() == (done ? 1u : 0u));
      BOOST_TEST(scan.valid_bytes == report.size());
      BOOST_TEST(!scan.torn_tail);
    }
  }
}

BOOST_AUTO_TEST_CASE(torn_tail_and_malformed_middle_at_every_chunk_size) {
  std::string report;
  report += hash_row(1, kc::outcome::deleted);
  report += "{\"hash\":\"abab\n";  // a torn row that a later run appended after
  report += hash_row(2, kc::outcome::not_found) ;
  report += "\r\n";
  report += hash_row(3, kc::outcome::failed);
  const std::size_t complete = report.size();
  report += hash_row(4, kc::outcome::deleted).substr(0, 50);  // the crash
  const summary expected{3, 2, complete, true, 2};
  for (std::size_t chunk = 1; chunk <= report.size(); ++chunk) {
    BOOST_TEST_CONTEXT("chunks of " << chunk) { BOOST_TEST(summarise(scan_in_chunks(report, chunk)) == expected); }
  }
}

BOOST_AUTO_TEST_CASE(a_torn_tail_that_parses_is_still_torn) {
  const std::string row = hash_row(7, kc::outcome::deleted);
  const std::string report = row + row.substr(0, row.size() - 1);  // only the '\n' is missing
  const kc::resume_scan scan = scan_in_chunks(report, 17);
  BOOST_TEST(summarise(scan) == (summary{1, 0, row.size(), true, 1}));
}

BOOST_AUTO_TEST_CASE(empty_and_newline_terminated_inputs) {
  BOOST_TEST(summarise(scan_in_chunks("", 1)) == (summary{0, 0, 0, false, 0}));
  kc::report_reader reader;
  reader.feed("");
  BOOST_TEST(summarise(reader.finish()) == (summary{0, 0, 0, false, 0}));
  BOOST_TEST(summarise(scan_in_chunks("\n\n", 1)) == (summary{0, 2, 2, false, 0}));
  BOOST_TEST(summarise(scan_in_chunks("x", 1)) == (summary{0, 0, 0, true, 0}));
}

BOOST_AUTO_TEST_CASE(overlong_lines_are_malformed_and_not_buffered) {
  const std::string row = hash_row(1, kc::outcome::deleted);
  // A "row" whose error text makes it longer than 64 KiB; valid JSON, but not something we wrote.
  std::string overlong;
  kc::append_row(overlong, kc::hash_row{nth_hash(2), kc::outcome::deleted, 200, 1, 1.0, std::string(70'000, 'e')});
  std::string at_limit;  // exactly 64 KiB before the '\n': still a row
  kc::append_row(at_limit, kc::hash_row{nth_hash(3), kc::outcome::deleted, 200, 1, 1.0, "x"});
  const std::size_t padding = kc::max_report_row - (at_limit.size() - 1);
  at_limit.insert(at_limit.size() - 2, padding, ' ');  // spaces before the closing brace
  BOOST_TEST_REQUIRE(at_limit.size() == kc::max_report_row + 1);
  const std::string report = row + overlong + at_limit + row;
  for (const std::size_t chunk : {std::size_t{1000}, std::size_t{65536}, std::size_t{4096 * 3 + 1}, report.size()}) {
    BOOST_TEST_CONTEXT("chunks of " << chunk) {
      const kc::resume_scan scan = scan_in_chunks(report, chunk);
      BOOST_TEST(summarise(scan) == (summary{3, 1, report.size(), false, 2}));
      BOOST_TEST(!scan.done.contains(nth_hash(2)));
      BOOST_TEST(scan.done.contains(nth_hash(3)));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_reader_can_be_reused_after_finish) {
  kc::report_reader reader;
  reader.feed(hash_row(1, kc::outcome::deleted));
  reader.feed("partial");
  BOOST_TEST(summarise(reader.finish()).torn);
  reader.feed(hash_row(2, kc::outcome::deleted));
  const kc::resume_scan second = reader.finish();
  BOOST_TEST(summarise(second) == (summary{1, 0, hash_row(2, kc::outcome::deleted).size(), false, 1}));
  BOOST_TEST(second.done.contains(nth_hash(2)));
  BOOST_TEST(!second.done.contains(nth_hash(1)));
}

BOOST_AUTO_TEST_CASE(resume_reads_the_action_and_the_proofs) {
  kc::key_hash a{}, b{}, c{};
  a.fill(1);
  b.fill(2);
  c.fill(3);
  std::string report;
  const std::array<kc::input_fingerprint, 1> inputs{{{"-", ""}}};
  const kc::header_row header{"0.3.0", "t", "", "disable", "h", "https://h", inputs, "", "", "", 1, 0.0, 1, 1.0, true, false, 1};
  kc::append_row(report, header);
  kc::append_row(report, kc::hash_row{a, kc::outcome::disabled, 200, 1, 1.0, ""});
  kc::append_row(report, kc::hash_row{b, kc::outcome::not_found, 404, 1, 1.0, ""});
  kc::append_row(report, kc::hash_row{c, kc::outcome::protected_key, 0, 0, 0.0, ""});
  kc::append_row(report, kc::verify_row{a, kc::verify_outcome::verified, kc::observed_state::disabled, 200, 1, 1.0, ""});
  kc::append_row(report, kc::verify_row{b, kc::verify_outcome::failed, kc::observed_state::unknown, 0, 8, 1.0, "x"});
  const std::array<std::pair<std::string_view, std::uint64_t>, 1> counts{{{"disabled", 1}}};
  kc::append_row(report, kc::summary_row{"t", 0, 1.0, counts});
  report += R"({"type":"verify","hash":"zz","outcome":"verified"})" "\n";   // ignored, not malformed
  report += R"({"type":7})" "\n";                                            // malformed

  kc::report_reader reader;
  reader.feed(report);
  const kc::resume_scan scan = reader.finish();
  BOOST_TEST(scan.action == "disable");
  BOOST_TEST(scan.headers == 1U);
  BOOST_TEST(!scan.mixed_actions);
  BOOST_TEST(scan.done.contains(a));
  BOOST_TEST(scan.done.contains(b));
  BOOST_TEST(!scan.done.contains(c));  // protected is re-decided by each run
  BOOST_TEST(scan.verified.contains(a));
  BOOST_TEST(!scan.verified.contains(b));
  BOOST_TEST(scan.rows == 8U);
  BOOST_TEST(scan.malformed_rows == 1U);

  std::string two = report;
  const kc::header_row other{"0.3.0", "t", "", "delete", "h", "https://h", inputs, "", "", "", 1, 0.0, 1, 1.0, false, true, 1};
  kc::append_row(two, other);
  kc::report_reader again;
  again.feed(two);
  const kc::resume_scan mixed = again.finish();
  BOOST_TEST(mixed.headers == 2U);
  BOOST_TEST(mixed.mixed_actions);
  BOOST_TEST(mixed.action == "disable");
}

// What --resume must not count as done: a key a proof showed still there, and the hashes of a run that
// ended without its summary (the trial: a resume after mismatches exited 0 "every hash done", and a
// resume after kill -9 wrote not_found for keys the killed run had deleted).
BOOST_AUTO_TEST_CASE(resume_reads_mismatches_and_whether_the_last_run_finished) {
  kc::key_hash a{}, b{}, c{};
  a.fill(1);
  b.fill(2);
  c.fill(3);
  const std::array<kc::input_fingerprint, 1> inputs{{{"-", ""}}};
  const kc::header_row header{"0.3.0", "t", "", "delete", "h", "https://h", inputs, "", "", "", 1, 0.0, 1, 1.0, true, false, 1};
  const std::array<std::pair<std::string_view, std::uint64_t>, 1> counts{{{"deleted", 3}}};
  std::string first;
  kc::append_row(first, header);
  for (const auto& h : {a, b, c}) kc::append_row(first, kc::hash_row{h, kc::outcome::deleted, 200, 1, 1.0, ""});
  kc::append_row(first, kc::verify_row{a, kc::verify_outcome::mismatch, kc::observed_state::enabled, 200, 3, 1.0, "x"});
  kc::append_row(first, kc::verify_row{b, kc::verify_outcome::mismatch, kc::observed_state::enabled, 200, 3, 1.0, "x"});
  kc::append_row(first, kc::verify_row{c, kc::verify_outcome::verified, kc::observed_state::gone, 404, 1, 1.0, ""});
  std::string finished = first;
  kc::append_row(finished, kc::summary_row{"t", 1, 1.0, counts});
  // A later run deleted b again and proved it.
  std::string later = finished;
  kc::append_row(later, header);
  kc::append_row(later, kc::hash_row{b, kc::outcome::not_found, 404, 1, 1.0, ""});
  kc::append_row(later, kc::verify_row{b, kc::verify_outcome::verified, kc::observed_state::gone, 404, 1, 1.0, ""});

  // A killed run, then a resume that finished (with its summary) without answering every hash (the
  // server was unreachable, or a stop came during its preflight): the killed run's doubt remains.
  std::string killed_then_finished = first;
  kc::append_row(killed_then_finished, header);
  kc::append_row(killed_then_finished, kc::summary_row{"t", 4, 1.0, counts});

  struct row {
    const char* name;
    std::string report;
    bool finished;       // last_run_finished
    bool all_finished;   // !some_run_unfinished()
  };
  const std::vector<row> rows = {
      {"no header (an older version's report)", hash_row(1, kc::outcome::deleted), true, true},
      {"a run with its summary", finished, true, true},
      {"a run without its summary (killed)", first, false, false},
      {"a finished run, then a killed one", later, false, false},
      {"a killed run's torn last line", first + R"({"hash":"ab)", false, false},
      {"a killed run, then a finished one", killed_then_finished, true, false},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, r.report.size()}) {
        const kc::resume_scan scan = scan_in_chunks(r.report, chunk);
        BOOST_TEST(scan.last_run_finished == r.finished);
        BOOST_TEST(scan.some_run_unfinished() == !r.all_finished);
      }
    }
  }
  const kc::resume_scan scan = scan_in_chunks(later, 5);
  BOOST_TEST(scan.mismatched.contains(a));
  BOOST_TEST(scan.mismatched.contains(b));
  BOOST_TEST(!scan.mismatched.contains(c));
  BOOST_TEST(scan.verified.contains(b));  // proved since: done (the input filter checks both)
  BOOST_TEST(scan.done.contains(a));      // a is done by its row; mismatched makes --resume redo it
}


// The third trial: a run whose key route reached another API stopped as contradicted, but its not_found
// rows, written before the stop, counted as done, and a --resume skipped those keys (live). A run that
// stopped "contradicted" proves no 404 of its own: --resume acts on those hashes again, and their 404
// then is not_found_after_retry (sent).
BOOST_AUTO_TEST_CASE(a_contradicted_run_proves_no_404) {
  kc::key_hash a{}, b{}, c{}, d{};
  a.fill(1);
  b.fill(2);
  c.fill(3);
  d.fill(4);
  const std::array<kc::input_fingerprint, 1> inputs{{{"-", ""}}};
  const kc::header_row header{"0.3.0", "t", "", "delete", "h", "https://h", inputs, "", "", "", 1, 0.0, 1, 1.0, false, false, 1};
  const std::array<std::pair<std::string_view, std::uint64_t>, 1> counts{{{"not_found", 2}}};
  std::string earlier;  // a finished run that deleted d and found c gone
  kc::append_row(earlier, header);
  kc::append_row(earlier, kc::hash_row{d, kc::outcome::deleted, 200, 1, 1.0, ""});
  kc::append_row(earlier, kc::hash_row{c, kc::outcome::not_found, 404, 1, 1.0, ""});
  kc::append_row(earlier, kc::summary_row{"t", 0, 1.0, counts, {}, "none"});
  struct row {
    const char* name;
    std::string reason;  // the second run's exit_reason ("": no summary row)
    bool a_done;         // a: not_found in the second run
    bool b_done;         // b: deleted in the second run
    std::uint64_t voided;
  };
  const row rows[] = {
      {"finished", "none", true, true, 0},
      {"stopped as contradicted", "contradicted", false, true, 1},
      {"stopped otherwise", "not_api", true, true, 0},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      std::string report = earlier;
      kc::append_row(report, header);
      kc::append_row(report, kc::hash_row{a, kc::outcome::not_found, 404, 1, 1.0, ""});
      kc::append_row(report, kc::hash_row{b, kc::outcome::deleted, 200, 1, 1.0, ""});
      kc::append_row(report, kc::hash_row{c, kc::outcome::not_found, 404, 1, 1.0, ""});  // done before
      kc::append_row(report, kc::hash_row{d, kc::outcome::not_found_after_retry, 404, 2, 1.0, ""});
      kc::append_row(report, kc::summary_row{"t", 2, 1.0, counts, {}, r.reason});
      kc::report_reader reader;
      reader.feed(report);
      const kc::resume_scan scan = reader.finish();
      BOOST_TEST(scan.done.contains(a) == r.a_done);
      BOOST_TEST(scan.sent.contains(a) == !r.a_done);
      BOOST_TEST(scan.done.contains(b) == r.b_done);
      BOOST_TEST(scan.done.contains(c));  // its earlier run's 404 still stands
      BOOST_TEST(scan.done.contains(d));  // deleted by the earlier run
      BOOST_TEST(scan.voided_not_found == r.voided);
      BOOST_TEST(scan.done.size() == (r.a_done ? 4U : 3U));
      // A later run that settles it counts again.
      kc::append_row(report, header);
      kc::append_row(report, kc::hash_row{a, kc::outcome::not_found_after_retry, 404, 1, 1.0, ""});
      kc::report_reader again;
      again.feed(report);
      BOOST_TEST(again.finish().done.contains(a));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Verify rows name their state "proof" (so that `select(.outcome=="failed")` counts only actions);
// reports written before call it "outcome" and have no "at": --resume reads both alike.
BOOST_AUTO_TEST_SUITE(verify_rows_old_and_new)

BOOST_AUTO_TEST_CASE(proof_and_the_older_outcome_field_read_alike) {
  const std::string a(64, 'a'), b(64, 'b');
  struct row {
    const char* name;
    std::string line;
    bool verified;
    bool mismatched;
  };
  const std::vector<row> table = {
      {"new: proof verified",
       R"({"type":"verify","hash":")" + a + R"(","proof":"verified","observed":"gone","http_status":404,"attempts":1,"elapsed_ms":1.0,"error":null,"at":"2026-11-27T21:10:14.123Z"})",
       true, false},
      {"new: proof mismatch",
       R"({"type":"verify","hash":")" + a + R"(","proof":"mismatch","observed":"enabled","http_status":200,"attempts":3,"elapsed_ms":1.0,"error":"x","at":"2026-11-27T21:10:14.123Z"})",
       false, true},
      {"new: proof failed",
       R"({"type":"verify","hash":")" + a + R"(","proof":"failed","observed":null,"http_status":null,"attempts":8,"elapsed_ms":1.0,"error":"timeout","at":"2026-11-27T21:10:14.123Z"})",
       false, false},
      {"old: outcome verified",
       R"({"type":"verify","hash":")" + a + R"(","outcome":"verified","observed":"gone","http_status":404,"attempts":1,"elapsed_ms":3.1,"error":null})",
       true, false},
      {"old: outcome mismatch",
       R"({"type":"verify","hash":")" + a + R"(","outcome":"mismatch","observed":"enabled","http_status":200,"attempts":3,"elapsed_ms":3.1,"error":"x"})",
       false, true},
      {"old: outcome failed",
       R"({"type":"verify","hash":")" + a + R"(","outcome":"failed","observed":null,"http_status":null,"attempts":8,"elapsed_ms":3.1,"error":"t"})",
       false, false},
  };
  for (const row& r : table) {
    BOOST_TEST_CONTEXT(r.name) {
      const std::string report =
          R"({"hash":")" + a + R"(","outcome":"deleted","http_status":200,"attempts":1,"elapsed_ms":1.0,"error":null})" "\n" +
          R"({"hash":")" + b + R"(","outcome":"failed","http_status":500,"attempts":8,"elapsed_ms":1.0,"error":"e","at":"2026-11-27T21:10:14.123Z"})" "\n" +
          r.line + "\n";
      const kc::resume_scan scan = scan_in_chunks(report, 5);
      BOOST_TEST(scan.malformed_rows == 0U);
      BOOST_TEST(scan.rows == 3U);
      BOOST_TEST(scan.done.contains(*kc::parse_key_hash(a)));
      BOOST_TEST(!scan.done.contains(*kc::parse_key_hash(b)));  // a failed action row, with "at"
      BOOST_TEST(scan.verified.contains(*kc::parse_key_hash(a)) == r.verified);
      BOOST_TEST(scan.mismatched.contains(*kc::parse_key_hash(a)) == r.mismatched);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
