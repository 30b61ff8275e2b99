// `keyrevoke report --format`: text, Markdown, CSV and JSON of one merged report.
#include "keyrevoke/core/report_format.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>
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

BOOST_AUTO_TEST_SUITE_END()
