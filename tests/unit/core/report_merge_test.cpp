#include "keyrevoke/core/report_merge.hpp"

#include <boost/test/unit_test.hpp>
#include <map>
#include <string>
#include <vector>

#include "keyrevoke/core/report_row.hpp"

namespace kc = keyrevoke::core;

namespace {

kc::key_hash nth(std::uint8_t n) {
  kc::key_hash h{};
  h.fill(n);
  return h;
}

std::string hex(std::uint8_t n) { return kc::to_hex(nth(n)); }

const std::array<kc::input_fingerprint, 1> inputs{{{"in.txt", ""}}};

// A header row; its "at" (when it was written, ms) is `at`, or started_at with .000.
std::string header(std::string_view started, std::string_view shard = "", std::string_view action = "delete",
                   std::string_view base = "https://h/api/v1", std::string_view op = "alice",
                   std::string_view at = "") {
  std::string stamp{at};
  if (stamp.empty()) {
    stamp = started;
    if (!stamp.empty() && stamp.back() == 'Z') stamp.insert(stamp.size() - 1, ".000");
  }
  std::string out;
  kc::append_row(out, kc::header_row{"0.1.0", started, op, action, "h", base, inputs, "", shard, "", 16, 0.0,
                                     8, 30.0, false, false, 7, stamp});
  return out;
}

std::string row(std::uint8_t n, kc::outcome o, std::string_view error = "", unsigned status = 200) {
  std::string out;
  kc::append_row(out, kc::hash_row{nth(n), o, status, 1, 1.0, error, "2026-11-27T21:10:15.000Z"});
  return out;
}

std::string proof(std::uint8_t n, kc::verify_outcome v, kc::observed_state seen = kc::observed_state::gone) {
  std::string out;
  kc::append_row(out, kc::verify_row{nth(n), v, seen, 404, 1, 1.0, "", "2026-11-27T21:10:16.000Z"});
  return out;
}

std::string summary(int code = 0) {
  const std::array<std::pair<std::string_view, std::uint64_t>, 1> counts{{{"deleted", 1}}};
  std::string out;
  kc::append_row(out,
                 kc::summary_row{"2026-11-27T21:20:00Z", code, 12.5, counts, "2026-11-27T21:20:00.000Z"});
  return out;
}

struct file {
  std::string name;
  std::string text;
};

// Feeds each file line by line (a last line without '\n' as torn); the first error, if any.
std::string merge(const std::vector<file>& files, kc::merged_report& out) {
  kc::report_merger merger;
  for (const file& f : files) {
    merger.begin_file(f.name);
    std::string_view rest = f.text;
    while (!rest.empty()) {
      const std::size_t newline = rest.find('\n');
      const bool terminated = newline != std::string_view::npos;
      const std::string_view line = rest.substr(0, newline);
      if (auto error = merger.add_line(line, terminated)) return *error;
      rest.remove_prefix(terminated ? newline + 1 : rest.size());
    }
    if (auto error = merger.end_file()) return *error;
  }
  out = merger.finish();
  return {};
}

std::map<std::string, std::string> final_outcomes(const kc::merged_report& r) {
  std::map<std::string, std::string> m;
  for (const kc::hash_state& h : r.hashes) m[kc::to_hex(h.hash)] = h.outcome;
  return m;
}

bool mentions(const std::vector<std::string>& sentences, std::string_view what) {
  for (const std::string& s : sentences) {
    if (s.find(what) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(report_merge)

BOOST_AUTO_TEST_CASE(final_state_per_hash) {
  using o = kc::outcome;
  struct row_case {
    const char* name;
    std::vector<file> files;
    std::map<std::string, std::string> expected;  // hash hex -> final outcome
    bool all_done;
  };
  const std::vector<row_case> table = {
      {"one finished run",
       {{"r.jsonl",
         header("2026-11-27T21:00:00Z") + row(1, o::deleted) + row(2, o::not_found, "", 404) + summary()}},
       {{hex(1), "deleted"}, {hex(2), "not_found"}},
       true},
      {"an interrupted run, then its --resume in the same file: the later row wins",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::deleted) +
                        row(2, o::not_attempted, "interrupted", 0) + row(3, o::failed, "HTTP 500", 500) +
                        summary(130) + header("2026-11-27T21:05:00Z") + row(2, o::deleted) +
                        row(3, o::not_found_after_retry, "", 404) + summary()}},
       {{hex(1), "deleted"}, {hex(2), "deleted"}, {hex(3), "not_found_after_retry"}},
       true},
      {"a later row that shows nothing never hides a proven one",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::deleted) + summary() +
                        header("2026-11-27T21:05:00Z") + row(1, o::not_attempted, "interrupted", 0) +
                        row(1, o::failed, "HTTP 500", 500) + summary(1)}},
       {{hex(1), "deleted"}},
       true},
      {"within a run the last row wins",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::disabled) + row(1, o::enabled) + summary()}},
       {{hex(1), "enabled"}},
       true},
      {"a failure left",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::deleted) + row(2, o::failed, "HTTP 500", 500) +
                        summary(1)}},
       {{hex(1), "deleted"}, {hex(2), "failed"}},
       false},
      {"files given out of order: the run that started later wins",
       {{"later.jsonl", header("2026-11-27T22:00:00Z") + row(1, o::disabled) + summary()},
        {"earlier.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::enabled) + summary()}},
       {{hex(1), "disabled"}},
       true},
      {"protected counts as settled",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::protected_key, "protected", 0) + summary()}},
       {{hex(1), "protected"}},
       true},
      {"an older report without header or at",
       {{"old.jsonl",
         R"({"hash":")" + hex(1) +
             R"(","outcome":"deleted","http_status":200,"attempts":1,"elapsed_ms":1.0,"error":null})"
             "\n"}},
       {{hex(1), "deleted"}},
       true},
  };
  for (const row_case& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      BOOST_TEST(merge(c.files, r) == "");
      BOOST_TEST(final_outcomes(r) == c.expected);
      BOOST_TEST(r.all_done() == c.all_done);
    }
  }
}

BOOST_AUTO_TEST_CASE(counts_failures_and_runs) {
  using o = kc::outcome;
  kc::merged_report r;
  const std::string text =
      header("2026-11-27T21:00:00Z") + row(1, o::deleted) + row(2, o::failed, "HTTP 500: boom", 500) +
      row(3, o::failed, "HTTP 500: boom", 500) + row(4, o::not_attempted, "interrupted", 0) +
      R"({"hash":null,"outcome":"invalid","line":3,"file":"in.txt","input":"xyz","error":"not a hash","at":null})"
      "\n" +
      summary(130) + header("2026-11-27T21:05:00Z", "", "delete", "https://h/api/v1", "bob") +
      R"({"hash":null,"outcome":"invalid","line":3,"file":"in.txt","input":"xyz","error":"not a hash","at":null})"
      "\n" +
      row(4, o::unauthorized, "HTTP 401", 401) + summary(3);
  BOOST_TEST(merge({{"r.jsonl", text}}, r) == "");
  BOOST_TEST(r.hashes.size() == 4U);
  BOOST_TEST(r.outcomes.at("deleted") == 1U);
  BOOST_TEST(r.outcomes.at("failed") == 2U);
  BOOST_TEST(r.outcomes.at("unauthorized") == 1U);
  BOOST_TEST(r.outcomes.at("invalid") == 1U);  // one input line, reported by both runs
  BOOST_TEST(r.invalid.size() == 1U);
  BOOST_TEST(r.left() == 3U);
  BOOST_REQUIRE(r.failures.size() == 2U);
  BOOST_TEST(r.failures[0].state == "failed");  // the largest group first
  BOOST_TEST(r.failures[0].error == "HTTP 500: boom");
  BOOST_TEST(r.failures[0].count == 2U);
  BOOST_TEST(r.failures[0].example == nth(2));
  BOOST_TEST(r.failures[1].state == "unauthorized");
  BOOST_REQUIRE(r.runs.size() == 2U);
  BOOST_TEST(r.runs[0].operator_name == "alice");
  BOOST_TEST(r.runs[1].operator_name == "bob");
  BOOST_TEST(r.runs[0].started_at == "2026-11-27T21:00:00Z");
  BOOST_TEST(r.runs[0].finished_at == "2026-11-27T21:20:00Z");
  BOOST_TEST(*r.runs[0].exit_code == 130);
  BOOST_TEST(r.runs[1].line == 8U);
  BOOST_TEST(
      r.runs[0].options ==
      R"({"concurrency":16,"rate":null,"max_attempts":8,"timeout_s":30.0,"verify":false,"resume":false})");
  BOOST_TEST(r.problems.empty());
  BOOST_TEST(!r.all_done());
}

BOOST_AUTO_TEST_CASE(unfinished_runs_and_shards) {
  using o = kc::outcome;
  const auto shard_file = [&](std::uint8_t n, std::string_view shard, bool finished = true) {
    return header("2026-11-27T21:00:00Z", shard) + row(n, o::deleted) +
           (finished ? summary() : std::string{});
  };
  struct problem_case {
    const char* name;
    std::vector<file> files;
    std::vector<std::string> problems;  // each must be mentioned; none when empty
    std::vector<std::string> notes;
  };
  const std::vector<problem_case> table = {
      {"all three shards",
       {{"a", shard_file(1, "1/3")}, {"b", shard_file(2, "2/3")}, {"c", shard_file(3, "3/3")}},
       {},
       {}},
      {"a shard missing",
       {{"a", shard_file(1, "1/3")}, {"c", shard_file(3, "3/3")}},
       {"1 of 3 shards have no report: 2/3"},
       {}},
      {"a shard twice",
       {{"a", shard_file(1, "1/2")}, {"b", shard_file(2, "2/2")}, {"b2", shard_file(2, "2/2")}},
       {"shard 2/2 is in 2 reports (b, b2)"},
       {}},
      {"different shard counts",
       {{"a", shard_file(1, "1/2")}, {"b", shard_file(2, "2/3")}},
       {"different numbers of shards (2, 3)", "1 of 2 shards have no report: 2/2",
        "2 of 3 shards have no report: 1/3, 3/3"},
       {}},
      {"a sharded and an unsharded report",
       {{"a", shard_file(1, "1/1")}, {"b", shard_file(2, "")}},
       {"b: a run without --shard"},
       {}},
      {"a killed run (no summary)",
       {{"a", shard_file(1, "", false)}},
       {"a:1: the run started 2026-11-27T21:00:00Z has no summary row"},
       {}},
      {"a killed run, resumed",
       {{"a", shard_file(1, "", false) + shard_file(2, "")}},
       {},
       {"a:1: the run started", "resumed it"}},
      {"a killed run's torn last line",
       {{"a", shard_file(1, "", false) + R"({"hash":"ab)"}},
       {"has no summary row"},
       {"a:3: the last line is torn"}},
      {"two servers",
       {{"a", shard_file(1, "")},
        {"b", header("2026-11-27T21:00:00Z", "", "delete", "https://other/api/v1") + summary()}},
       {"different servers"},
       {}},
      {"two actions",
       {{"a", shard_file(1, "")}, {"b", header("2026-11-27T21:00:00Z", "", "disable") + summary()}},
       {},
       {"different actions"}},
  };
  for (const problem_case& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      BOOST_TEST(merge(c.files, r) == "");
      BOOST_TEST(r.problems.size() == c.problems.size());
      for (const std::string& p : c.problems) BOOST_TEST(mentions(r.problems, p), p);
      for (const std::string& n : c.notes) BOOST_TEST(mentions(r.notes, n), n);
      BOOST_TEST(r.all_done() == c.problems.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(proofs_belong_to_the_final_row) {
  using o = kc::outcome;
  using v = kc::verify_outcome;
  struct proof_case {
    const char* name;
    std::string text;
    std::string proof;  // of hash 1; "" none
    bool all_done;
  };
  const std::string h1 = header("2026-11-27T21:00:00Z"), h2 = header("2026-11-27T21:05:00Z");
  const std::vector<proof_case> table = {
      {"verified", h1 + row(1, o::deleted) + proof(1, v::verified) + summary(), "verified", true},
      {"mismatch", h1 + row(1, o::deleted) + proof(1, v::mismatch, kc::observed_state::enabled) + summary(1),
       "mismatch", false},
      {"a later --resume --verify proves it",
       h1 + row(1, o::deleted) + proof(1, v::not_attempted) + summary(130) + h2 + proof(1, v::verified) +
           summary(),
       "verified", true},
      {"an unproven proof does not hide a verified one",
       h1 + row(1, o::deleted) + proof(1, v::verified) + summary() + h2 + proof(1, v::failed) + summary(1),
       "verified", true},
      {"a proof older than the final row is dropped",
       h1 + row(1, o::disabled) + proof(1, v::verified) + summary() + h2 + row(1, o::deleted) + summary(), "",
       true},
      {"an old report's verify row (\"outcome\")",
       h1 + row(1, o::deleted) + R"({"type":"verify","hash":")" + hex(1) +
           R"(","outcome":"failed","observed":null,"http_status":null,"attempts":8,"elapsed_ms":1.0,"error":"t"})"
           "\n" +
           summary(1),
       "failed", false},
  };
  for (const proof_case& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      BOOST_TEST(merge({{"r", c.text}}, r) == "");
      BOOST_REQUIRE(r.hashes.size() == 1U);
      BOOST_TEST(r.hashes[0].proof == c.proof);
      BOOST_TEST(r.all_done() == c.all_done);
      // A verify row is never an action row: the final outcome is the action's.
      BOOST_TEST(r.outcomes.count("failed") == 0U);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_foreign_or_malformed_file_is_an_error_with_its_line) {
  struct error_case {
    const char* name;
    std::string text;
    std::string error;
  };
  const std::string h = header("2026-11-27T21:00:00Z");
  const std::vector<error_case> table = {
      {"not JSON", h + "hello\n", "r:2: not a JSON object"},
      {"a blank line", h + "\n" + summary(), "r:2: an empty line"},
      {"another tool's JSON Lines",
       R"({"level":"info","msg":"started"})"
       "\n",
       "r:1: neither a typed row nor a hash row"},
      {"a --plan output",
       R"({"plan":"keyrevoke-plan-v2","digest":"sha256:00"})"
       "\n",
       "r:1: neither a typed row"},
      {"another tool's header",
       R"({"type":"header","tool":"other"})"
       "\n",
       "r:1: a header row of another tool"},
      {"a short hash",
       h + R"({"hash":"abc","outcome":"deleted"})"
           "\n",
       "r:2: \"hash\" is not 64 hex digits"},
      {"a JSON array", "[1,2]\n", "r:1: not a JSON object"},
      {"an empty file", "", "r: no report row in it"},
      {"a torn line alone", R"({"hash":)", "r: no report row in it"},
      {"a type that is a number",
       R"({"type":7})"
       "\n",
       "r:1: \"type\" is not a string"},
  };
  for (const error_case& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      const std::string error = merge({{"r", c.text}}, r);
      BOOST_TEST(error.starts_with(c.error), error);
    }
  }
}

// The trial's case: --disable then a delete of the same keys, both started within one second (the
// headers' started_at are equal to the second), the reports given newest first. The header's "at"
// (milliseconds) orders them: the delete is the final state.
BOOST_AUTO_TEST_CASE(runs_started_in_one_second_are_ordered_by_their_header_at) {
  const std::string disabled = header("2026-11-30T15:51:44Z", "", "disable", "https://h/api/v1", "alice",
                                      "2026-11-30T15:51:44.093Z") +
                               row(1, kc::outcome::disabled) + summary();
  const std::string deleted = header("2026-11-30T15:51:44Z", "", "delete", "https://h/api/v1", "alice",
                                     "2026-11-30T15:51:44.400Z") +
                              row(1, kc::outcome::deleted) + summary();
  for (const bool newest_first : {true, false}) {
    BOOST_TEST_CONTEXT("newest first: " << newest_first) {
      kc::merged_report r;
      const std::vector<file> files = newest_first ? std::vector<file>{{"dB", deleted}, {"dA", disabled}}
                                                   : std::vector<file>{{"dA", disabled}, {"dB", deleted}};
      BOOST_TEST_REQUIRE(merge(files, r).empty());
      BOOST_TEST(final_outcomes(r)[hex(1)] == "deleted");
    }
  }
  // An older report's header without "at": its whole-second started_at still orders it.
  std::string old_header = header("2026-11-30T15:51:43Z", "", "disable");
  const auto at = old_header.find(R"(,"at":)");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  old_header.erase(at, old_header.find('}', at) - at);
  kc::merged_report r;
  BOOST_TEST_REQUIRE(merge({{"dB", deleted}, {"old", old_header + row(1, kc::outcome::disabled) + summary()}}, r).empty());
  BOOST_TEST(final_outcomes(r)[hex(1)] == "deleted");
}

BOOST_AUTO_TEST_SUITE_END()
