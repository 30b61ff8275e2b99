// `keyrevoke report --format`: text, Markdown, CSV and JSON of one merged report.
#include "keyrevoke/core/report_format.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace kc = keyrevoke::core;
namespace json = boost::json;

namespace {

kc::key_hash nth(std::uint8_t n) {
  kc::key_hash h{};
  h.fill(n);
  return h;
}

kc::merged_report sample() {
  kc::merged_report r;
  r.files = {"shard-1.jsonl", "shard-2.jsonl"};
  kc::report_run one;
  one.file = 0;
  one.line = 1;
  one.started_at = "2026-11-30T12:00:00Z";
  one.finished_at = "2026-11-30T12:01:00Z";
  one.finished = true;
  one.exit_code = 1;
  one.elapsed_s = 60.0;
  one.operator_name = "ali|ce";
  one.action = "delete";
  one.shard = "1/2";
  one.base_url = "https://h/api/v1";
  one.options = R"({"concurrency":16})";
  kc::report_run two = one;
  two.file = 1;
  two.shard = "2/2";
  two.finished = false;
  two.exit_code.reset();
  r.runs = {one, two};
  kc::hash_state a;
  a.hash = nth(1);
  a.outcome = "deleted";
  a.http_status = 200;
  a.attempts = 1;
  a.at = "2026-11-30T12:00:01.000Z";
  a.run = 0;
  a.line = 2;
  a.proof = "verified";
  a.observed = "gone";
  kc::hash_state b;
  b.hash = nth(2);
  b.outcome = "failed";
  b.http_status = 500;
  b.attempts = 8;
  b.error = "=HYPERLINK(\"x\"), \"quoted\" | piped\nnewline";
  b.run = 1;
  b.line = 2;
  r.hashes = {a, b};
  r.outcomes = {{"deleted", 1}, {"failed", 1}};
  r.proofs = {{"verified", 1}};
  r.failures = {{"failed", b.error, 1, nth(2)}};
  r.problems = {"shard-2.jsonl:1: the run started 2026-11-30T12:00:00Z has no summary row"};
  return r;
}

// RFC 4180 fields of one CSV document (quoted fields may hold commas, quotes and line breaks).
std::vector<std::vector<std::string>> read_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        rows.back().back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        rows.back().back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  if (rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(report_format)

BOOST_AUTO_TEST_CASE(format_names) {
  struct row {
    std::string_view name;
    std::optional<kc::report_format> expected;
  };
  const row rows[] = {{"text", kc::report_format::text},
                      {"markdown", kc::report_format::markdown},
                      {"md", kc::report_format::markdown},
                      {"csv", kc::report_format::csv},
                      {"json", kc::report_format::json},
                      {"JSON", std::nullopt},
                      {"", std::nullopt},
                      {"html", std::nullopt}};
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) { BOOST_TEST((kc::parse_report_format(r.name) == r.expected)); }
  }
}

BOOST_AUTO_TEST_CASE(text_and_markdown_say_what_is_left_and_why) {
  const kc::merged_report r = sample();
  struct row {
    kc::report_format format;
    std::vector<std::string> contains;
  };
  const std::vector<row> rows = {
      {kc::report_format::text,
       {"NOT ALL DONE: 1 left to do, 1 problem", "has no summary row", "UNFINISHED", "operator ali|ce",
        "shard 1/2", "deleted", "failed", "(e.g. " + kc::to_hex(nth(2)) + ")", "verified"}},
      {kc::report_format::markdown,
       {"## keyrevoke report", "**2 reports, 2 runs, 2 hashes: NOT ALL DONE", "| ali\\|ce |",
        "**unfinished**", "| failed | 1 |", "\\| piped newline", "`" + kc::to_hex(nth(2)) + "`",
        "| report | operator | started |"}},
  };
  for (const row& r2 : rows) {
    BOOST_TEST_CONTEXT(static_cast<int>(r2.format)) {
      const std::string out = kc::render_report(r, r2.format);
      BOOST_TEST(out.ends_with("\n"));
      for (const std::string& part : r2.contains) BOOST_TEST(out.find(part) != std::string::npos, part);
    }
  }
  // Markdown table rows keep their column count whatever the cells hold.
  std::istringstream lines{kc::render_report(r, kc::report_format::markdown)};
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with("| ")) continue;
    std::size_t bars = 0;
    for (std::size_t i = 0; i < line.size(); ++i) bars += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    BOOST_TEST((bars == 3 || bars == 5 || bars == 9), line);
  }
}

BOOST_AUTO_TEST_CASE(an_all_done_report_says_so) {
  kc::merged_report r = sample();
  r.hashes.pop_back();
  r.problems.clear();
  r.failures.clear();
  BOOST_TEST(r.all_done());
  BOOST_TEST(kc::render_report(r, kc::report_format::text).find("ALL DONE (every hash") != std::string::npos);
  // Without any --verify proof it does not speak of proofs (the trial read "every proof verified" for
  // runs that proved nothing).
  r.proofs.clear();
  const std::string text = kc::render_report(r, kc::report_format::text);
  BOOST_TEST(text.find("no --verify proofs") != std::string::npos, text);
  BOOST_TEST(text.find("every proof verified") == std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(csv_is_one_row_per_hash) {
  const std::vector<std::vector<std::string>> rows =
      read_csv(kc::render_report(sample(), kc::report_format::csv));
  BOOST_REQUIRE(rows.size() == 3U);
  for (const auto& row : rows) BOOST_TEST(row.size() == 11U);
  BOOST_TEST(rows[0][0] == "hash");
  BOOST_TEST(rows[1][0] == kc::to_hex(nth(1)));
  BOOST_TEST(rows[1][1] == "deleted");
  BOOST_TEST(rows[1][6] == "verified");
  BOOST_TEST(rows[1][9] == "shard-1.jsonl");
  BOOST_TEST(rows[2][1] == "failed");
  BOOST_TEST(rows[2][2] == "500");
  // A formula is defused; quotes, commas and line breaks survive.
  BOOST_TEST(rows[2][4] == "'=HYPERLINK(\"x\"), \"quoted\" | piped\nnewline");
  BOOST_TEST(rows[2][9] == "shard-2.jsonl");
}

BOOST_AUTO_TEST_CASE(json_is_one_object) {
  const std::string text = kc::render_report(sample(), kc::report_format::json);
  BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 1);
  const json::object o = json::parse(text).as_object();
  BOOST_TEST(!o.at("all_done").as_bool());
  BOOST_TEST(o.at("left").as_int64() == 1);
  BOOST_TEST(o.at("files").as_array().size() == 2U);
  BOOST_TEST(o.at("problems").as_array().size() == 1U);
  BOOST_TEST(o.at("counts").as_object().at("deleted").as_int64() == 1);
  BOOST_TEST(o.at("proofs").as_object().at("verified").as_int64() == 1);
  const json::array& runs = o.at("runs").as_array();
  BOOST_REQUIRE(runs.size() == 2U);
  BOOST_TEST(runs[0].as_object().at("options").as_object().at("concurrency").as_int64() == 16);
  BOOST_TEST(runs[0].as_object().at("exit_code").as_int64() == 1);
  BOOST_TEST(runs[1].as_object().at("exit_code").is_null());
  BOOST_TEST(!runs[1].as_object().at("finished").as_bool());
  const json::array& hashes = o.at("hashes").as_array();
  BOOST_REQUIRE(hashes.size() == 2U);
  BOOST_TEST(hashes[1].as_object().at("error").as_string() == sample().hashes[1].error);
  BOOST_TEST(hashes[1].as_object().at("proof").is_null());
  BOOST_TEST(hashes[1].as_object().at("report").as_string() == "shard-2.jsonl");
  BOOST_TEST(o.at("failures").as_array()[0].as_object().at("count").as_int64() == 1);
}

// A hash's JSON object carries every column of its CSV line, under the same names: a field added to
// one format and not the other (proof_error was CSV only) fails here.
BOOST_AUTO_TEST_CASE(json_hash_fields_match_csv_columns) {
  kc::merged_report r = sample();
  r.hashes[1].proof_error = "GET answered 500";
  const std::vector<std::vector<std::string>> rows = read_csv(kc::render_report(r, kc::report_format::csv));
  const json::object o = json::parse(kc::render_report(r, kc::report_format::json)).as_object();
  const json::array& hashes = o.at("hashes").as_array();
  BOOST_REQUIRE(hashes.size() == 2U);
  std::vector<std::string> csv_columns = rows.at(0);
  std::vector<std::string> json_fields;
  for (const auto& field : hashes[1].as_object()) json_fields.emplace_back(field.key());
  std::sort(csv_columns.begin(), csv_columns.end());
  std::sort(json_fields.begin(), json_fields.end());
  BOOST_TEST(csv_columns == json_fields, boost::test_tools::per_element());
  BOOST_TEST(hashes[1].as_object().at("proof_error").as_string() == "GET answered 500");
  BOOST_TEST(hashes[0].as_object().at("proof_error").is_null());
  BOOST_TEST(rows.at(2).at(8) == "GET answered 500");
}

// The status line, in every format that has one: what is left, counted and pluralised.
BOOST_AUTO_TEST_CASE(status_line_counts_what_is_left) {
  struct row {
    const char* name;
    std::size_t failed, invalid, problems;
    bool proofs;
    std::string text;  // after "N reports, N runs, N hashes: "
    bool all_done;
  };
  const row rows[] = {
      {"all done, no proof", 0, 0, 0, false, "ALL DONE (every hash done or protected; no --verify proofs)",
       true},
      {"all done, proofs", 0, 0, 0, true, "ALL DONE (every hash done or protected, every proof verified)",
       true},
      {"one left", 1, 0, 0, false, "NOT ALL DONE: 1 left to do", false},
      {"one invalid line", 0, 1, 0, false, "NOT ALL DONE: 1 invalid input line", false},
      {"two invalid lines", 0, 2, 0, false, "NOT ALL DONE: 2 invalid input lines", false},
      {"one problem", 0, 0, 1, false, "NOT ALL DONE: 1 problem with the reports", false},
      {"everything", 2, 2, 2, true,
       "NOT ALL DONE: 2 left to do, 2 invalid input lines, 2 problems with the reports", false},
  };
  for (const row& c : rows) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      r.files = {"a.jsonl"};
      kc::report_run run;
      run.line = 1;
      run.options = "{}";
      run.finished = true;
      r.runs = {run};
      kc::hash_state done;
      done.hash = nth(9);
      done.outcome = "deleted";
      if (c.proofs) {
        done.proof = "verified";
        r.proofs["verified"] = 1;
      }
      r.hashes.push_back(done);
      for (std::size_t i = 0; i < c.failed; ++i) {
        kc::hash_state h;
        h.hash = nth(static_cast<std::uint8_t>(i + 1));
        h.outcome = "failed";
        r.hashes.push_back(h);
      }
      for (std::size_t i = 0; i < c.invalid; ++i) r.invalid.push_back({"in.txt", i + 1, "not a hash", "x"});
      for (std::size_t i = 0; i < c.problems; ++i) r.problems.push_back("problem " + std::to_string(i));
      BOOST_TEST(r.all_done() == c.all_done);
      const std::string counts = "1 report, 1 run, " + std::to_string(r.hashes.size()) +
                                 (r.hashes.size() == 1 ? " hash: " : " hashes: ");
      const std::string text = kc::render_report(r, kc::report_format::text);
      BOOST_TEST(text.starts_with("keyrevoke report: " + counts + c.text + "\n"), text);
      const std::string md = kc::render_report(r, kc::report_format::markdown);
      BOOST_TEST(md.starts_with("## keyrevoke report\n\n**" + counts + c.text + "**\n"), md);
      const json::object o = json::parse(kc::render_report(r, kc::report_format::json)).as_object();
      BOOST_TEST(o.at("all_done").as_bool() == c.all_done);
      BOOST_TEST(o.at("left").as_int64() == static_cast<std::int64_t>(c.failed));
    }
  }
}

// A run as each format shows it: unknown times as "?", an unfinished run never shows an exit or a
// duration, rows before any header (line 0) name no line.
BOOST_AUTO_TEST_CASE(runs_in_every_format) {
  struct row {
    const char* name;
    kc::report_run run;
    std::string text;      // the run's three text lines
    std::string markdown;  // its table row
    std::string json_line, json_exit;
    std::optional<double> json_elapsed;  // nullopt: null
    std::string json_started;
  };
  kc::report_run full;
  full.line = 3;
  full.started_at = "2026-11-30T12:00:00Z";
  full.finished_at = "2026-11-30T12:00:30Z";
  full.finished = true;
  full.exit_code = 0;
  full.elapsed_s = 30.04;
  full.operator_name = "bob";
  full.action = "disable";
  full.shard = "2/4";
  full.base_url = "https://h/api/v1";
  full.version = "0.9.0";
  full.pid = 42;
  full.options = R"({"verify":true})";
  kc::report_run bare;  // an older keyrevoke's rows: no header
  bare.line = 0;
  bare.options = "{}";
  kc::report_run finished_unknown = bare;
  finished_unknown.line = 1;
  finished_unknown.finished = true;
  finished_unknown.elapsed_s = 2.24;
  const row rows[] = {
      {"every field", full,
       "  r.jsonl:3  2026-11-30T12:00:00Z -> 2026-11-30T12:00:30Z, exit 0, 30.0 s\n"
       "    operator bob, action disable, shard 2/4, https://h/api/v1, version 0.9.0, pid 42\n"
       "    options {\"verify\":true}\n",
       "| `r.jsonl:3` | bob | 2026-11-30T12:00:00Z | 2026-11-30T12:00:30Z (exit 0) | disable | 2/4 | "
       "https://h/api/v1 | `{\"verify\":true}` |\n",
       "3", "0", 30.0, "\"2026-11-30T12:00:00Z\""},
      {"no header", bare,
       "  r.jsonl  ? -> UNFINISHED (no summary row)\n"
       "    operator -, action -, shard -, -, version -, pid 0\n    options {}\n",
       "| `r.jsonl` | - | - | **unfinished** | - | - | - | `{}` |\n", "null", "null", std::nullopt, "null"},
      {"finished, times unknown, no exit code", finished_unknown,
       "  r.jsonl:1  ? -> ?, 2.2 s\n    operator -, action -, shard -, -, version -, pid 0\n    options {}\n",
       "| `r.jsonl:1` | - | - | - | - | - | - | `{}` |\n", "1", "null", 2.2, "null"},
  };
  for (const row& c : rows) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      r.files = {"r.jsonl"};
      r.runs = {c.run};
      const std::string text = kc::render_report(r, kc::report_format::text);
      BOOST_TEST(text.find("\nRuns:\n" + c.text + "\n") != std::string::npos, text);
      const std::string md = kc::render_report(r, kc::report_format::markdown);
      BOOST_TEST(md.find("|---|---|---|---|---|---|---|---|\n" + c.markdown) != std::string::npos, md);
      const std::string js = kc::render_report(r, kc::report_format::json);
      const json::object run = json::parse(js).as_object().at("runs").as_array().at(0).as_object();
      BOOST_TEST(json::serialize(run.at("line")) == c.json_line);
      BOOST_TEST(json::serialize(run.at("exit_code")) == c.json_exit);
      if (c.json_elapsed) {
        BOOST_TEST(run.at("elapsed_s").as_double() == *c.json_elapsed);
      } else {
        BOOST_TEST(run.at("elapsed_s").is_null());
      }
      BOOST_TEST(json::serialize(run.at("started_at")) == c.json_started);
      BOOST_TEST(run.at("finished").as_bool() == c.run.finished);
      BOOST_TEST(run.at("pid").as_int64() == static_cast<std::int64_t>(c.run.pid));
    }
  }
}

// RFC 4180 quoting and formula defusing, cell by cell (the error column of one hash's line).
BOOST_AUTO_TEST_CASE(csv_cells) {
  struct row {
    std::string error;
    std::string cell;  // as written between the 4th and the 6th comma
  };
  const std::vector<row> rows = {
      {"", ""},
      {"plain text", "plain text"},
      {"a,b", "\"a,b\""},
      {"say \"hi\"", "\"say \"\"hi\"\"\""},
      {"two\nlines", "\"two\nlines\""},
      {"cr\rhere", "\"cr\rhere\""},
      {"=1+2", "\"'=1+2\""},
      {"+1", "\"'+1\""},
      {"-1", "\"'-1\""},
      {"@SUM(A1)", "\"'@SUM(A1)\""},
      {"=\"x\",y", "\"'=\"\"x\"\",y\""},
      {"\t=1+2", "\"'\t=1+2\""},  // a tab or a carriage return first: also run as a formula
      {"\r=1+2", "\"'\r=1+2\""},
      {"\tplain", "\"'\tplain\""},
      {"a=b-c", "a=b-c"},  // an operator inside is no formula
      {"a\tb", "a\tb"},    // a tab inside is plain text
      {"d\xc3\xa9j\xc3\xa0 vu \xe2\x9c\x93", "d\xc3\xa9j\xc3\xa0 vu \xe2\x9c\x93"},
  };
  for (const row& c : rows) {
    BOOST_TEST_CONTEXT(c.error) {
      kc::merged_report r;
      r.files = {"r,1.jsonl"};
      kc::report_run run;
      run.line = 1;
      run.options = "{}";
      r.runs = {run};
      kc::hash_state h;
      h.hash = nth(7);
      h.outcome = "failed";
      h.attempts = 3;
      h.error = c.error;
      r.hashes = {h};
      const std::string csv = kc::render_report(r, kc::report_format::csv);
      // http_status 0 and line 0 are empty cells; the file name holds a comma.
      BOOST_TEST(csv ==
                 "hash,outcome,http_status,attempts,error,at,proof,observed,proof_error,report,line\r\n" +
                     kc::to_hex(nth(7)) + ",failed,,3," + c.cell + ",,,,,\"r,1.jsonl\",\r\n");
    }
  }
  // No hash: the header line alone.
  kc::merged_report empty;
  BOOST_TEST(kc::render_report(empty, kc::report_format::csv) ==
             "hash,outcome,http_status,attempts,error,at,proof,observed,proof_error,report,line\r\n");
}

// JSON strings survive any text (quotes, backslashes, controls, non-ASCII; invalid UTF-8 as U+FFFD);
// empty text is null.
BOOST_AUTO_TEST_CASE(json_strings_round_trip) {
  struct row {
    std::string text;
    std::optional<std::string> parsed;  // nullopt: null
  };
  const std::vector<row> rows = {
      {"", std::nullopt},
      {"plain", "plain"},
      {"\"quoted\" \\ back", "\"quoted\" \\ back"},
      {"line\nbreak\ttab\r", "line\nbreak\ttab\r"},
      {std::string{"nul\0bell\x07", 9}, std::string{"nul\0bell\x07", 9}},
      {"d\xc3\xa9j\xc3\xa0 \xf0\x9f\x94\x91", "d\xc3\xa9j\xc3\xa0 \xf0\x9f\x94\x91"},
      {"bad \xff byte", "bad \xef\xbf\xbd byte"},
      {"</script>", "</script>"},
  };
  for (const row& c : rows) {
    BOOST_TEST_CONTEXT(c.parsed.value_or("(null)")) {
      kc::merged_report r;
      r.files = {c.text.empty() ? std::string{"r"} : c.text};
      kc::report_run run;
      run.line = 1;
      run.options = "{}";
      run.operator_name = c.text;
      r.runs = {run};
      kc::hash_state h;
      h.hash = nth(3);
      h.outcome = "failed";
      h.error = c.text;
      h.proof = "failed";
      h.proof_error = c.text;
      r.hashes = {h};
      r.invalid = {{c.text, 4, c.text, c.text}};
      r.problems = {c.text};
      const std::string text = kc::render_report(r, kc::report_format::json);
      BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 1);
      const json::object o = json::parse(text).as_object();
      const auto same = [&](const json::value& v) {
        return c.parsed ? v.is_string() && v.as_string() == *c.parsed : v.is_null();
      };
      BOOST_TEST(same(o.at("runs").as_array()[0].as_object().at("operator")));
      BOOST_TEST(same(o.at("hashes").as_array()[0].as_object().at("error")));
      const json::object& bad = o.at("invalid").as_array()[0].as_object();
      BOOST_TEST(same(bad.at("file")));
      BOOST_TEST(same(bad.at("error")));
      BOOST_TEST(same(bad.at("input")));
      BOOST_TEST(bad.at("line").as_int64() == 4);
      if (c.parsed) BOOST_TEST(o.at("problems").as_array()[0].as_string() == *c.parsed);
    }
  }
}

// An empty report still renders in every format (no hash, no run: nothing claimed beyond that).
BOOST_AUTO_TEST_CASE(an_empty_report) {
  const kc::merged_report r;
  for (const auto format : {kc::report_format::text, kc::report_format::markdown, kc::report_format::csv,
                            kc::report_format::json}) {
    BOOST_TEST_CONTEXT(static_cast<int>(format)) {
      const std::string out = kc::render_report(r, format);
      BOOST_TEST(out.ends_with("\n"));
      BOOST_TEST(out.find("Verify proofs") == std::string::npos);
      BOOST_TEST(out.find("Left to do") == std::string::npos);
      BOOST_TEST(out.find("Invalid input") == std::string::npos);
    }
  }
  const json::object o = json::parse(kc::render_report(r, kc::report_format::json)).as_object();
  BOOST_TEST(o.at("hashes").as_array().empty());
  BOOST_TEST(o.at("runs").as_array().empty());
  BOOST_TEST(o.at("counts").as_object().empty());
}

// Invalid input lines, failures and notes in text and Markdown: stdin named, errors absent said so,
// at most 50 lines listed (the rest in csv/json), Markdown cells escaped.
BOOST_AUTO_TEST_CASE(invalid_lines_failures_and_notes) {
  struct row {
    const char* name;
    std::size_t invalid;
    std::vector<std::string> text_has, text_lacks, md_has, md_lacks;
  };
  const std::vector<row> rows = {
      {"one from stdin",
       1,
       {"\nInvalid input lines (1):\n  (stdin):1: not a hash: zz|z\n", "(no error text)",
        "\nNotes:\n  - a note | piped\n", "Left to do, by reason:\n  1       no action row"},
       {"lists every hash"},
       {"### Invalid input lines (1)\n\n| input | line | error |\n|---|---:|---|\n| - | 1 | not a hash |\n",
        "| 1 | no action row | - | `", "### Notes\n\n- a note \\| piped\n"},
       {"listed)"}},
      {"fifty listed of fifty-one",
       51,
       {"(51):\n", "  (stdin):50: not a hash", "  ... (--format csv or json lists every hash)\n"},
       {"  (stdin):51:"},
       {"### Invalid input lines (51)", "| - | 50 | not a hash |", "\n(first 50 listed)\n"},
       {"| - | 51 |"}},
  };
  for (const row& c : rows) {
    BOOST_TEST_CONTEXT(c.name) {
      kc::merged_report r;
      r.files = {"r"};
      kc::report_run run;
      run.line = 1;
      run.options = "{}";
      run.finished = true;
      r.runs = {run};
      kc::hash_state h;
      h.hash = nth(5);
      r.hashes = {h};
      r.failures = {{"no action row", "", 1, nth(5)}};
      for (std::size_t i = 0; i < c.invalid; ++i) r.invalid.push_back({"", i + 1, "not a hash", "zz|z"});
      r.notes = {"a note | piped"};
      const std::string text = kc::render_report(r, kc::report_format::text);
      for (const std::string& s : c.text_has) BOOST_TEST(text.find(s) != std::string::npos, s);
      for (const std::string& s : c.text_lacks) BOOST_TEST(text.find(s) == std::string::npos, s);
      const std::string md = kc::render_report(r, kc::report_format::markdown);
      for (const std::string& s : c.md_has) BOOST_TEST(md.find(s) != std::string::npos, s);
      for (const std::string& s : c.md_lacks) BOOST_TEST(md.find(s) == std::string::npos, s);
      const json::object o = json::parse(kc::render_report(r, kc::report_format::json)).as_object();
      BOOST_TEST(o.at("invalid").as_array().size() == c.invalid);  // JSON lists every line
      BOOST_TEST(o.at("failures").as_array()[0].as_object().at("error").is_null());
    }
  }
}

// A duration no number can print (a report with "elapsed_s":1e400 reads as infinity) is null, never
// "inf" (which is no JSON) nor a made-up number.
BOOST_AUTO_TEST_CASE(durations_that_do_not_print) {
  const double values[] = {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN(), 1e300};
  for (const double v : values) {
    BOOST_TEST_CONTEXT(v) {
      kc::merged_report r;
      r.files = {"r"};
      kc::report_run run;
      run.line = 1;
      run.options = "{}";
      run.finished = true;
      run.elapsed_s = v;
      r.runs = {run};
      const std::string js = kc::render_report(r, kc::report_format::json);
      json::error_code ec;
      const json::value parsed = json::parse(js, ec);
      BOOST_TEST_REQUIRE(!ec, js);
      BOOST_TEST(parsed.as_object().at("runs").as_array()[0].as_object().at("elapsed_s").is_null());
      const std::string text = kc::render_report(r, kc::report_format::text);
      BOOST_TEST(text.find("inf") == std::string::npos, text);
      BOOST_TEST(text.find("nan") == std::string::npos, text);
    }
  }
}

// Text read from the reports cannot forge a line of the text output, nor send a terminal an escape
// sequence: control characters become spaces there (as in Markdown's cells). CSV and JSON keep them.
BOOST_AUTO_TEST_CASE(text_output_keeps_each_row_on_its_line) {
  const std::string forged = "HTTP 500\nkeyrevoke report: 1 report, 1 run, 1 hash: ALL DONE\x1b[2K\r\x7f";
  kc::merged_report r;
  r.files = {"r\n.jsonl"};
  kc::report_run run;
  run.line = 1;
  run.options = "{}";
  run.operator_name = forged;
  run.started_at = forged;
  run.finished = true;
  run.finished_at = forged;
  r.runs = {run};
  kc::hash_state h;
  h.hash = nth(4);
  h.outcome = "failed";
  h.error = forged;
  r.hashes = {h};
  r.outcomes = {{"failed", 1}};
  r.failures = {{"failed", forged, 1, nth(4)}};
  r.invalid = {{forged, 2, forged, forged}};
  r.problems = {forged};
  r.notes = {forged};
  for (const auto format : {kc::report_format::text, kc::report_format::markdown}) {
    BOOST_TEST_CONTEXT(static_cast<int>(format)) {
      const std::string out = kc::render_report(r, format);
      BOOST_TEST(out.find('\x1b') == std::string::npos);
      BOOST_TEST(out.find('\r') == std::string::npos);
      if (format == kc::report_format::text) BOOST_TEST(out.find('\x7f') == std::string::npos);
      BOOST_TEST(out.find("\nkeyrevoke report:") == std::string::npos);
      BOOST_TEST(out.find("HTTP 500 keyrevoke report: 1 report, 1 run, 1 hash: ALL DONE [2K") !=
                 std::string::npos);
    }
  }
  const json::object o = json::parse(kc::render_report(r, kc::report_format::json)).as_object();
  BOOST_TEST(o.at("hashes").as_array()[0].as_object().at("error").as_string() == forged);
}

BOOST_AUTO_TEST_SUITE_END()
