// --summary-json and --metrics-file: one JSON object, and the Prometheus text format 0.0.4.
#include "keyrevoke/core/run_summary.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <sstream>
#include <string>

namespace kc = keyrevoke::core;
namespace json = boost::json;

namespace {

kc::run_counts sample_counts() {
  kc::run_counts c;
  c[kc::outcome::deleted] = 7;
  c[kc::outcome::failed] = 2;
  c[kc::outcome::not_attempted] = 1;
  c[kc::outcome::invalid] = 3;
  c.lines = 14;
  c.hashes = 10;
  c.requests = 25;
  c.throttled = 4;
  return c;
}

kc::run_summary sample(const kc::run_counts& c) {
  kc::run_summary s;
  s.counts = &c;
  for (const unsigned status :
       {200u, 200u, 200u, 200u, 200u, 200u, 200u, 200u, 429u, 429u, 429u, 429u, 500u, 0u, 0u}) {
    s.requests.count(status);
  }
  s.exit_code = 130;
  s.exit_reason = "interrupted";
  s.elapsed_s = 12.345;
  s.started_at = "2026-11-30T12:00:00Z";
  s.finished_at = "2026-11-30T12:00:12Z";
  s.finished_unix_s = 1796040012.5;
  s.version = "0.1.0";
  s.action = "delete";
  s.host = "modelgates.ai";
  s.shard = "2/4";
  s.report = "r \"x\".jsonl";
  return s;
}

// A small reader of the text exposition format: every sample line `name{labels} value` must follow a
// # HELP and # TYPE of its metric family; returns "name{labels}" -> value.
std::map<std::string, std::string> read_exposition(const std::string& text) {
  std::map<std::string, std::string> samples;
  std::map<std::string, int> described;  // family -> HELP (1) + TYPE (2)
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    BOOST_TEST_REQUIRE(!line.empty());
    if (line.starts_with("# HELP ")) {
      described[line.substr(7, line.find(' ', 7) - 7)] |= 1;
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      const std::string rest = line.substr(7);
      BOOST_TEST(rest.ends_with(" gauge"));
      described[rest.substr(0, rest.find(' '))] |= 2;
      continue;
    }
    const std::size_t space = line.rfind(' ');
    BOOST_TEST_REQUIRE(space != std::string::npos);
    const std::string key = line.substr(0, space);
    const std::string family = key.substr(0, key.find('{'));
    BOOST_TEST(family.starts_with("keyrevoke_"));
    BOOST_TEST(described[family] == 3, family);
    BOOST_TEST(samples.count(key) == 0U, key);
    samples[key] = line.substr(space + 1);
  }
  BOOST_TEST(text.ends_with("\n"));
  return samples;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(run_summary)

BOOST_AUTO_TEST_CASE(status_classes) {
  struct row {
    unsigned status;
    std::size_t index;
  };
  const row rows[] = {{0, 0},   {100, 1}, {204, 2}, {302, 3}, {404, 4}, {429, 4},
                      {503, 5}, {599, 5}, {600, 0}, {99, 0},  {1000, 0}};
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.status) {
      kc::status_tally t;
      t.count(r.status);
      BOOST_TEST(t.classes[r.index] == 1U);
    }
  }
}

BOOST_AUTO_TEST_CASE(summary_json_is_one_object_with_the_counts) {
  const kc::run_counts c = sample_counts();
  const std::string text = kc::summary_json(sample(c));
  BOOST_TEST(text.ends_with("}\n"));
  BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 1);
  const json::object o = json::parse(text).as_object();
  BOOST_TEST(o.at("tool").as_string() == "keyrevoke");
  BOOST_TEST(o.at("exit_code").as_int64() == 130);
  BOOST_TEST(o.at("exit_reason").as_string() == "interrupted");
  BOOST_TEST(o.at("report").as_string() == "r \"x\".jsonl");
  BOOST_TEST(o.at("shard").as_string() == "2/4");
  BOOST_TEST(o.at("elapsed_s").as_double() == 12.3);
  const json::object& counts = o.at("counts").as_object();
  BOOST_TEST(counts.size() == 22U);
  BOOST_TEST(counts.at("deleted").as_int64() == 7);
  BOOST_TEST(counts.at("failed").as_int64() == 2);
  BOOST_TEST(counts.at("invalid").as_int64() == 3);
  BOOST_TEST(counts.at("requests").as_int64() == 25);
  const json::object& classes = o.at("requests_by_status_class").as_object();
  BOOST_TEST(classes.at("2xx").as_int64() == 8);
  BOOST_TEST(classes.at("4xx").as_int64() == 4);
  BOOST_TEST(classes.at("5xx").as_int64() == 1);
  BOOST_TEST(classes.at("none").as_int64() == 2);
  BOOST_TEST(classes.at("1xx").as_int64() == 0);

  kc::run_summary unsharded = sample(c);
  unsharded.shard = "";
  BOOST_TEST(json::parse(kc::summary_json(unsharded)).as_object().at("shard").is_null());
}

BOOST_AUTO_TEST_CASE(metrics_are_the_text_exposition_format) {
  kc::run_counts c = sample_counts();
  kc::run_summary s = sample(c);
  s.host = "we\"ird\\host\nname";
  auto samples = read_exposition(kc::prometheus_metrics(s));
  BOOST_TEST(samples.at("keyrevoke_exit_code") == "130");
  BOOST_TEST(samples.at("keyrevoke_duration_seconds") == "12.345");
  BOOST_TEST(samples.at("keyrevoke_last_run_timestamp_seconds") == "1796040012.500");
  BOOST_TEST(samples.at("keyrevoke_input_lines") == "14");
  BOOST_TEST(samples.at("keyrevoke_hashes{outcome=\"deleted\"}") == "7");
  BOOST_TEST(samples.at("keyrevoke_hashes{outcome=\"failed\"}") == "2");
  BOOST_TEST(samples.at("keyrevoke_hashes{outcome=\"protected\"}") == "0");
  BOOST_TEST(samples.at("keyrevoke_requests{status_class=\"2xx\"}") == "8");
  BOOST_TEST(samples.at("keyrevoke_requests{status_class=\"none\"}") == "2");
  BOOST_TEST(samples.at("keyrevoke_throttled_answers") == "4");
  BOOST_TEST(
      samples.count(
          R"(keyrevoke_run_info{action="delete",host="we\"ird\\host\nname",shard="2/4",version="0.1.0"})") ==
      1U);
  BOOST_TEST(samples.count("keyrevoke_verify_proofs{proof=\"verified\"}") == 0U);  // not a --verify run

  c.verify = true;
  c.verified = 6;
  c.verify_failed = 1;
  samples = read_exposition(kc::prometheus_metrics(s));
  BOOST_TEST(samples.at("keyrevoke_verify_proofs{proof=\"verified\"}") == "6");
  BOOST_TEST(samples.at("keyrevoke_verify_proofs{proof=\"failed\"}") == "1");
}

BOOST_AUTO_TEST_SUITE_END()
