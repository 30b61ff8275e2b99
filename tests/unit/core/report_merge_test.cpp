#include "keyrevoke/core/report_merge.hpp"

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <map>
#include <optional>
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

std::string summary(int code = 0, std::string_view reason = "none", bool listing_showed_no_key = false) {
  const std::array<std::pair<std::string_view, std::uint64_t>, 1> counts{{{"deleted", 1}}};
  std::string out;
  kc::append_row(out, kc::summary_row{"2026-11-27T21:20:00Z", code, 12.5, counts, "2026-11-27T21:20:00.000Z",
                                      reason, listing_showed_no_key});
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
      // The third trial: a run whose key route reached another API stopped as contradicted after writing
      // not_found rows; `keyrevoke report` called those keys gone (ALL DONE) while they were live.
      {"a contradicted run's 404s prove nothing; its deletes stand",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::deleted) + row(2, o::not_found, "", 404) +
                        row(3, o::not_found_after_retry, "", 404) + row(4, o::failed, "contradicted", 404) +
                        summary(2, "contradicted")}},
       {{hex(1), "deleted"}, {hex(2), "failed"}, {hex(3), "failed"}, {hex(4), "failed"}},
       false},
      {"... and a later run that settles them counts",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(2, o::not_found, "", 404) + summary(2, "contradicted") +
                        header("2026-11-27T21:05:00Z") + row(2, o::deleted) + summary()}},
       {{hex(2), "deleted"}},
       true},
      // Trial 11: a server answering twice shifted answers onto later requests; the run stopped as
      // unattributable. None of its claims is proof, unless a later proof or run settles it.
      {"an unattributable run's claims prove nothing",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::deleted) + row(2, o::not_found, "", 404) +
                        row(3, o::failed, "an answer to no request", 0) + summary(2, "unattributable")}},
       {{hex(1), "failed"}, {hex(2), "failed"}, {hex(3), "failed"}},
       false},
      {"... unless a proof after them verified the key gone (then: gone, maybe by that run)",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::deleted) + row(2, o::deleted) +
                        summary(2, "unattributable") + header("2026-11-27T21:05:00Z") +
                        proof(1, kc::verify_outcome::verified) + summary()}},
       {{hex(1), "not_found_after_retry"}, {hex(2), "failed"}},  // gone, but who deleted it is unproven
       false},
      {"... and a later run that settles them counts",
       {{"r.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::deleted) + summary(2, "unattributable") +
                        header("2026-11-27T21:05:00Z") + row(1, o::not_found_after_retry, "", 404) + summary()}},
       {{hex(1), "not_found_after_retry"}},
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
  // The eighth trial: a run against a server holding no key said so on stderr only; the report keeps it.
  kc::merged_report empty;
  BOOST_TEST(merge({{"e.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::not_found) + summary(0, "none", true)}},
                   empty) == "");
  BOOST_TEST(mentions(empty.notes, "e.jsonl:1: the run started 2026-11-27T21:00:00Z met a server whose listing "
                                   "showed no key at all"));
  BOOST_TEST(empty.all_done());  // the server's word stands; the note says whose
  BOOST_TEST(!mentions(r.notes, "showed no key at all"));
  // One hash failed and its proof a mismatch: one left to do, not two (the eighth trial).
  kc::merged_report both;
  BOOST_TEST(merge({{"v.jsonl", header("2026-11-27T21:00:00Z") + row(1, o::failed, "HTTP 500: boom", 500) +
                                    proof(1, kc::verify_outcome::mismatch, kc::observed_state::enabled) + summary(1)}},
                   both) == "");
  BOOST_TEST(both.left() == 1U);
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
  const std::string disabled =
      header("2026-11-30T15:51:44Z", "", "disable", "https://h/api/v1", "alice", "2026-11-30T15:51:44.093Z") +
      row(1, kc::outcome::disabled) + summary();
  const std::string deleted =
      header("2026-11-30T15:51:44Z", "", "delete", "https://h/api/v1", "alice", "2026-11-30T15:51:44.400Z") +
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
  BOOST_TEST_REQUIRE(
      merge({{"dB", deleted}, {"old", old_header + row(1, kc::outcome::disabled) + summary()}}, r).empty());
  BOOST_TEST(final_outcomes(r)[hex(1)] == "deleted");
}

// Raw rows, as an older keyrevoke or a hand-edited file may hold them: each field's odd values read as
// "unsaid", never as something the server showed.
BOOST_AUTO_TEST_CASE(odd_field_values) {
  const std::string h = header("2026-11-27T21:00:00Z");
  const auto hash_row = [](std::string_view fields) {
    return R"({"hash":")" + hex(1) + R"(","outcome":"failed",)" + std::string{fields} + "}\n";
  };
  struct row_case {
    const char* name;
    std::string row;
    unsigned http_status, attempts;
    std::string error;
  };
  const std::vector<row_case> table = {
      {"ordinary", hash_row(R"("http_status":500,"attempts":3,"error":"HTTP 500")"), 500, 3, "HTTP 500"},
      {"absent", hash_row(R"("x":1)"), 0, 0, ""},
      {"null", hash_row(R"("http_status":null,"attempts":null,"error":null)"), 0, 0, ""},
      {"negative", hash_row(R"("http_status":-1,"attempts":-5)"), 0, 0, ""},
      {"too large for unsigned", hash_row(R"("http_status":4294967296,"attempts":18446744073709551615)"), 0,
       0, ""},
      {"the largest unsigned", hash_row(R"("http_status":4294967295,"attempts":0)"), 4294967295U, 0, ""},
      {"strings and doubles", hash_row(R"("http_status":"500","attempts":2.0,"error":7)"), 0, 0, ""},
  };
  for (const row_case& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      BOOST_TEST_REQUIRE(merge({{"r", h + c.row + summary(1)}}, r) == "");
      BOOST_REQUIRE(r.hashes.size() == 1U);
      BOOST_TEST(r.hashes[0].http_status == c.http_status);
      BOOST_TEST(r.hashes[0].attempts == c.attempts);
      BOOST_TEST(r.hashes[0].error == c.error);
      BOOST_TEST(r.hashes[0].outcome == "failed");
      BOOST_TEST(!r.all_done());
    }
  }
}

// The header's and the summary's fields as the runs show them.
BOOST_AUTO_TEST_CASE(header_and_summary_fields) {
  const auto typed = [](std::string_view fields) {
    return R"({"type":"header","tool":"keyrevoke","started_at":"2026-11-27T21:00:00Z",)" +
           std::string{fields} + "}\n";
  };
  const auto done = [](std::string_view fields) {
    return R"({"type":"summary",)" + std::string{fields} + "}\n";
  };
  struct run_case {
    const char* name;
    std::string text;
    std::uint64_t pid;
    std::string options;
    std::optional<int> exit_code;
    double elapsed_s;
  };
  const std::vector<run_case> table = {
      {"ordinary", typed(R"("pid":7,"options":{"a":1})") + done(R"("exit_code":0,"elapsed_s":1.5)"), 7,
       R"({"a":1})", 0, 1.5},
      {"options of every kind",
       typed(R"("options":{"list":[1,"two",null,true],"o":{"x":30.0,"y":1e-7},"big":18446744073709551615})") +
           done(R"("exit_code":130)"),
       0, R"({"list":[1,"two",null,true],"o":{"x":30.0,"y":1e-07},"big":18446744073709551615})", 130, 0.0},
      {"options not an object", typed(R"("options":[1])") + done("\"x\":0"), 0, "{}", std::nullopt, 0.0},
      {"pid negative", typed(R"("pid":-3)") + done("\"x\":0"), 0, "{}", std::nullopt, 0.0},
      {"pid a double", typed(R"("pid":2.5)") + done("\"x\":0"), 0, "{}", std::nullopt, 0.0},
      {"pid beyond int64", typed(R"("pid":18446744073709551615)") + done("\"x\":0"), 18446744073709551615ULL,
       "{}", std::nullopt, 0.0},
      {"pid a string", typed(R"("pid":"7")") + done("\"x\":0"), 0, "{}", std::nullopt, 0.0},
      {"exit code a string, elapsed an integer",
       typed("\"pid\":1") + done(R"("exit_code":"0","elapsed_s":3)"), 1, "{}", std::nullopt, 3.0},
      {"exit code beyond int", typed("\"pid\":1") + done(R"("exit_code":4294967296)"), 1, "{}", std::nullopt,
       0.0},
      {"negative exit code", typed("\"pid\":1") + done(R"("exit_code":-1)"), 1, "{}", -1, 0.0},
  };
  for (const run_case& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      BOOST_TEST_REQUIRE(merge({{"r", c.text}}, r) == "");
      BOOST_REQUIRE(r.runs.size() == 1U);
      BOOST_TEST(r.runs[0].pid == c.pid);
      BOOST_TEST(r.runs[0].options == c.options);
      BOOST_TEST(r.runs[0].exit_code.has_value() == c.exit_code.has_value());
      if (r.runs[0].exit_code && c.exit_code) BOOST_TEST(*r.runs[0].exit_code == *c.exit_code);
      BOOST_TEST(r.runs[0].elapsed_s == c.elapsed_s);
      BOOST_TEST(r.runs[0].finished);
    }
  }
}

// An option too large for a double (1e400 reads as infinity) is written as null: the options are put
// into `report --format json` as they are, and "inf" is no JSON.
BOOST_AUTO_TEST_CASE(options_that_are_no_finite_number) {
  const std::string text = R"({"type":"header","tool":"keyrevoke","options":{"rate":1e400,"neg":-1e400}})"
                           "\n";
  kc::merged_report r;
  BOOST_TEST_REQUIRE(merge({{"r", text}}, r) == "");
  BOOST_REQUIRE(r.runs.size() == 1U);
  BOOST_TEST(r.runs[0].options == R"({"rate":null,"neg":null})");
}

// Lines: CRLF endings, torn last lines, sizes, and the rows that are no keyrevoke row.
BOOST_AUTO_TEST_CASE(lines_and_rows) {
  const std::string h = header("2026-11-27T21:00:00Z");
  struct line_case {
    const char* name;
    std::string text;
    std::string error;  // "" none
    std::size_t hashes;
    std::string note;  // mentioned in a note when not empty
  };
  const std::string crlf_row = row(1, kc::outcome::deleted);
  const std::string long_line = R"({"type":"future","pad":")" + std::string(70000, 'x') + "\"}\n";
  const std::vector<line_case> table = {
      {"CRLF line endings",
       h.substr(0, h.size() - 1) + "\r\n" + crlf_row.substr(0, crlf_row.size() - 1) + "\r\n" + summary(), "",
       1, ""},
      {"a whole last row without its newline", h + crlf_row.substr(0, crlf_row.size() - 1), "", 1, ""},
      {"a torn last row", h + crlf_row.substr(0, 30), "", 0, "r:2: the last line is torn"},
      {"a line over 64 KiB", h + long_line, "r:2: a line longer than 64 KiB", 0, ""},
      {"a row of a type this version does not know",
       h +
           R"({"type":"checkpoint","n":1})"
           "\n" +
           crlf_row + summary(),
       "", 1, "1 rows of a type this version does not know were skipped"},
      {"a verify row without a proof", h + R"({"type":"verify","hash":")" + hex(1) + "\"}\n",
       "r:2: a verify row without a 64-hex \"hash\" and a \"proof\"", 0, ""},
      {"a verify row with a short hash",
       h + R"({"type":"verify","hash":"ab","proof":"verified"})"
           "\n",
       "r:2: a verify row without", 0, ""},
      {"a hash row without an outcome", h + R"({"hash":")" + hex(1) + "\"}\n", "r:2: neither a typed row", 0,
       ""},
      {"a hash row with an empty outcome",
       h + R"({"hash":")" + hex(1) +
           R"(","outcome":""})"
           "\n",
       "r:2: neither a typed row", 0, ""},
      {"no hash, outcome not invalid",
       h + R"({"hash":null,"outcome":"deleted"})"
           "\n",
       "r:2: a row without a hash whose outcome is not \"invalid\"", 0, ""},
      // The fuzzer (CI stop 22): a hash row with outcome "invalid" was counted as a hash's final state but
      // left out of the outcome counts; keyrevoke writes an invalid line with "hash": null.
      {"a hash, outcome invalid",
       h + R"({"hash":")" + hex(1) +
           R"(","outcome":"invalid"})"
           "\n",
       "r:2: an \"invalid\" row with a hash", 0, ""},
      {"a hash that is a number",
       h + R"({"hash":12,"outcome":"deleted"})"
           "\n",
       "r:2: \"hash\" is not 64 hex", 0, ""},
      {"upper-case hex is a hash",
       h + R"({"hash":")" +
           [] {
             std::string u = hex(0xab);
             for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
             return u;
           }() +
           R"(","outcome":"deleted"})"
           "\n" +
           summary(),
       "", 1, ""},
  };
  for (const line_case& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      const std::string error = merge({{"r", c.text}}, r);
      if (c.error.empty()) {
        BOOST_TEST(error == "");
        BOOST_TEST(r.hashes.size() == c.hashes);
        if (!c.note.empty()) BOOST_TEST(mentions(r.notes, c.note), c.note);
      } else {
        BOOST_TEST(error.starts_with(c.error), error);
      }
    }
  }
}

// Invalid input lines: one per (input, line), whatever the number's type.
BOOST_AUTO_TEST_CASE(invalid_input_lines) {
  const std::string h = header("2026-11-27T21:00:00Z");
  const auto bad = [](std::string_view line, std::string_view file) {
    return R"({"hash":null,"outcome":"invalid","line":)" + std::string{line} + R"(,"file":)" +
           std::string{file} +
           R"(,"input":"zz","error":"not a hash"})"
           "\n";
  };
  kc::merged_report r;
  BOOST_TEST_REQUIRE(merge({{"r", h + bad("3", R"("b.txt")") + bad("3", R"("a.txt")") + bad("-2", "null") +
                                      bad("18446744073709551615", R"("a.txt")") + bad("\"x\"", R"("a.txt")") +
                                      bad("3", R"("a.txt")") + summary(1)}},
                           r) == "");
  BOOST_REQUIRE(r.invalid.size() == 5U);
  // In (file, line) order; the null file (stdin) first; a line that is no count reads as 0.
  BOOST_TEST(r.invalid[0].input_file == "");
  BOOST_TEST(r.invalid[0].line == 0U);
  BOOST_TEST(r.invalid[1].input_file == "a.txt");
  BOOST_TEST(r.invalid[1].line == 0U);
  BOOST_TEST(r.invalid[2].line == 3U);
  BOOST_TEST(r.invalid[2].preview == "zz");
  BOOST_TEST(r.invalid[2].error == "not a hash");
  BOOST_TEST(r.invalid[3].line == 18446744073709551615ULL);
  BOOST_TEST(r.invalid[4].input_file == "b.txt");
  BOOST_TEST(r.outcomes.at("invalid") == 5U);
  BOOST_TEST(r.runs[0].rows == 6U);
  BOOST_TEST(!r.all_done());
}

// Rows before any header (an older keyrevoke), summary or verify rows first, and proofs without an
// action row: they read, and what they do not show stays left.
BOOST_AUTO_TEST_CASE(rows_without_a_header) {
  using v = kc::verify_outcome;
  struct case_row {
    const char* name;
    std::string text;
    std::string outcome, proof;
    bool all_done;
    std::vector<std::string> failures;  // states of the groups
  };
  const std::vector<case_row> table = {
      {"a verify row alone", proof(1, v::verified), "", "verified", false, {"no action row"}},
      {"a failed verify row alone",
       proof(1, v::failed),
       "",
       "failed",
       false,
       {"no action row", "verify failed"}},
      {"a summary first", summary() + row(1, kc::outcome::deleted), "deleted", "", true, {}},
  };
  for (const case_row& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      BOOST_TEST_REQUIRE(merge({{"old", c.text}}, r) == "");
      BOOST_REQUIRE(r.hashes.size() == 1U);
      BOOST_REQUIRE(r.runs.size() == 1U);
      BOOST_TEST(r.runs[0].line == 0U);
      BOOST_TEST(r.hashes[0].outcome == c.outcome);
      BOOST_TEST(r.hashes[0].proof == c.proof);
      BOOST_TEST(mentions(r.notes, "old: rows before any header row"));
      std::vector<std::string> states;
      for (const kc::failure_group& g : r.failures) states.push_back(g.state);
      BOOST_TEST(states == c.failures, boost::test_tools::per_element());
      BOOST_TEST(r.left() == (c.failures.empty() ? 0U : 1U));  // one hash, however many groups it is in
      BOOST_TEST(r.all_done() == c.all_done);
    }
  }
}

// Runs ordered across files, resumes and shards: which row and which proof are final.
BOOST_AUTO_TEST_CASE(order_across_files_and_proofs) {
  using o = kc::outcome;
  using v = kc::verify_outcome;
  const std::string h1 = header("2026-11-27T21:00:00Z"), h2 = header("2026-11-27T21:05:00Z");
  struct case_row {
    const char* name;
    std::vector<file> files;
    std::string outcome, proof;
    bool all_done;
  };
  const std::vector<case_row> table = {
      {"a later file's earlier run does not override",
       {{"b", h2 + row(1, o::enabled) + summary()}, {"a", h1 + row(1, o::disabled) + summary()}},
       "enabled",
       "",
       true},
      {"same start in two files: the later file wins",
       {{"a", h1 + row(1, o::disabled) + summary()}, {"b", h1 + row(1, o::enabled) + summary()}},
       "enabled",
       "",
       true},
      {"a proof given before its row's file is still the row's",
       {{"verify", h2 + proof(1, v::mismatch, kc::observed_state::enabled) + summary(1)},
        {"act", h1 + row(1, o::disabled) + summary()}},
       "disabled",
       "mismatch",
       false},
      {"an earlier proof given later does not replace a later one",
       {{"b", h2 + proof(1, v::verified) + summary()},
        {"a", h1 + row(1, o::deleted) + proof(1, v::mismatch, kc::observed_state::enabled) + summary(1)}},
       "deleted",
       "verified",
       true},
      {"a later mismatch replaces a verified",
       {{"a", h1 + row(1, o::deleted) + proof(1, v::verified) + summary() + h2 +
                  proof(1, v::mismatch, kc::observed_state::enabled) + summary(1)}},
       "deleted",
       "mismatch",
       false},
      {"a later failed proof replaces a not_attempted one",
       {{"a", h1 + row(1, o::deleted) + proof(1, v::not_attempted) + summary(130) + h2 + proof(1, v::failed) +
                  summary(1)}},
       "deleted",
       "failed",
       false},
      // The second run acted again and its own verification failed: that failure is the final row's
      // proof; the first run's "verified" was about an earlier row.
      {"a new action row's failed proof is not hidden by an older row's verified one",
       {{"a", h1 + row(1, o::disabled) + proof(1, v::verified, kc::observed_state::disabled) + summary() +
                  h2 + row(1, o::enabled) + proof(1, v::failed) + summary(1)}},
       "enabled",
       "failed",
       false},
      {"same, the runs in two files given newest first",
       {{"b", h2 + row(1, o::enabled) + proof(1, v::failed) + summary(1)},
        {"a", h1 + row(1, o::disabled) + proof(1, v::verified, kc::observed_state::disabled) + summary()}},
       "enabled",
       "failed",
       false},
      {"a shown-nothing row after a proven one keeps the proven row and its proof",
       {{"a", h1 + row(1, o::deleted) + proof(1, v::verified) + summary() + h2 +
                  row(1, o::failed, "HTTP 500", 500) + summary(1)}},
       "deleted",
       "verified",
       true},
  };
  for (const case_row& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      BOOST_TEST_REQUIRE(merge(c.files, r) == "");
      BOOST_REQUIRE(r.hashes.size() == 1U);
      BOOST_TEST(r.hashes[0].outcome == c.outcome);
      BOOST_TEST(r.hashes[0].proof == c.proof);
      BOOST_TEST(r.all_done() == c.all_done);
    }
  }
}

// Shard and run problems beyond the basic ones.
BOOST_AUTO_TEST_CASE(more_shard_and_run_problems) {
  using o = kc::outcome;
  const auto shard_file = [&](std::uint8_t n, std::string_view shard) {
    return header("2026-11-27T21:00:00Z", shard) + row(n, o::deleted) + summary();
  };
  struct problem_case {
    const char* name;
    std::vector<file> files;
    std::vector<std::string> problems;
  };
  std::vector<file> one_of_30{{"a", shard_file(1, "1/30")}};
  const std::vector<problem_case> table = {
      {"one file's runs name two shards",
       {{"a", shard_file(1, "1/2") + header("2026-11-27T21:05:00Z", "2/2") + summary()}},
       {"a: its runs name different shards (1/2, 2/2)"}},
      {"29 of 30 shards missing: the first 20 listed",
       one_of_30,
       {"29 of 30 shards have no report: 2/30, 3/30, 4/30, 5/30, 6/30, 7/30, 8/30, 9/30, 10/30, 11/30, "
        "12/30, "
        "13/30, 14/30, 15/30, 16/30, 17/30, 18/30, 19/30, 20/30, 21/30, ... (their hashes"}},
      {"a run without a start time, killed",
       {{"a", R"({"type":"header","tool":"keyrevoke"})"
              "\n" +
                  row(1, o::deleted)}},
       {"a:1: the run started (unknown) has no summary row"}},
      {"a shard text that is no shard counts as none",
       {{"a", shard_file(1, "1/2")}, {"b", shard_file(2, "2/2")}, {"c", shard_file(3, "3/2")}},
       {"c: a run without --shard"}},
  };
  for (const problem_case& c : table) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      BOOST_TEST_REQUIRE(merge(c.files, r) == "");
      BOOST_TEST(r.problems.size() == c.problems.size());
      for (const std::string& p : c.problems) BOOST_TEST(mentions(r.problems, p), p);
      BOOST_TEST(!r.all_done());
    }
  }
  // A resumed run without a start time is named so in its note.
  kc::merged_report r;
  BOOST_TEST_REQUIRE(
      merge({{"a", R"({"type":"header","tool":"keyrevoke"})"
                   "\n" +
                       row(1, o::failed) + header("2026-11-27T21:05:00Z") + row(1, o::deleted) + summary()}},
            r) == "");
  BOOST_TEST(mentions(r.notes, "a:1: the run started (unknown) was interrupted"));
  BOOST_TEST(r.all_done());
}

BOOST_AUTO_TEST_SUITE_END()
