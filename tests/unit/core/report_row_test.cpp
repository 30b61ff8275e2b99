#include "keyrevoke/core/report_row.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "allocation_counter.hpp"

namespace kc = keyrevoke::core;
namespace json = boost::json;

namespace {

const std::string hash_hex = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";
const kc::key_hash hash = *kc::parse_key_hash(hash_hex);
const std::string ellipsis = "\xE2\x80\xA6";
const std::string fffd = "\xEF\xBF\xBD";

// Parses one row as a whole line: exactly one JSON object and a final '\n'.
json::object parse_row(const std::string& line) {
  BOOST_TEST_REQUIRE(!line.empty());
  BOOST_TEST_REQUIRE(line.back() == '\n');
  BOOST_TEST_REQUIRE(line.find('\n') == line.size() - 1);
  return json::parse(std::string_view(line).substr(0, line.size() - 1)).as_object();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(report_row)

BOOST_AUTO_TEST_CASE(hash_rows_exactly) {
  struct row {
    kc::hash_row input;
    std::string expected;
  };
  const std::string prefix = R"({"hash":")" + hash_hex + R"(",)";
  const std::vector<row> table = {
      {{hash, kc::outcome::deleted, 200, 1, 12.4, ""},
       prefix + R"("outcome":"deleted","http_status":200,"attempts":1,"elapsed_ms":12.4,"error":null,"at":null})" + "\n"},
      {{hash, kc::outcome::not_found, 404, 2, 0.0, ""},
       prefix + R"("outcome":"not_found","http_status":404,"attempts":2,"elapsed_ms":0.0,"error":null,"at":null})" + "\n"},
      {{hash, kc::outcome::failed, 0, 5, 30001.26, "timed out"},
       prefix + R"("outcome":"failed","http_status":null,"attempts":5,"elapsed_ms":30001.3,"error":"timed out","at":null})" + "\n"},
      {{hash, kc::outcome::unauthorized, 401, 1, 3.04, "HTTP 401: \"bad\" key"},
       prefix + R"("outcome":"unauthorized","http_status":401,"attempts":1,"elapsed_ms":3.0,"error":"HTTP 401: \"bad\" key","at":null})" + "\n"},
      {{hash, kc::outcome::not_attempted, 0, 0, std::nan(""), ""},
       prefix + R"("outcome":"not_attempted","http_status":null,"attempts":0,"elapsed_ms":null,"error":null,"at":null})" + "\n"},
      {{hash, kc::outcome::failed, 4294967295u, 4294967295u, -1.25, "x"},
       prefix + R"("outcome":"failed","http_status":4294967295,"attempts":4294967295,"elapsed_ms":-1.2,"error":"x","at":null})" + "\n"},
  };
  for (const auto& [input, expected] : table) {
    BOOST_TEST_CONTEXT(expected) {
      std::string out;
      kc::append_row(out, input);
      BOOST_TEST(out == expected);
      const json::object parsed = parse_row(out);
      BOOST_TEST(parsed.at("hash").as_string() == hash_hex);
      BOOST_TEST(parsed.at("outcome").as_string() == kc::to_string(input.result));
    }
  }
}

BOOST_AUTO_TEST_CASE(extreme_elapsed_values_stay_valid_json) {
  for (const double value : {std::numeric_limits<double>::max(), -std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::infinity(), std::numeric_limits<double>::denorm_min(),
                             -0.0, 0.05, 0.04999, 1e15, 999'999'999'999'999.9, -12345678901234.5}) {
    BOOST_TEST_CONTEXT("elapsed_ms " << value) {
      std::string out;
      kc::append_row(out, kc::hash_row{hash, kc::outcome::deleted, 200, 1, value, ""});
      const json::object parsed = parse_row(out);
      const json::value& elapsed = parsed.at("elapsed_ms");
      if (std::abs(value) < 1e15) {
        BOOST_TEST(elapsed.is_double());
        BOOST_TEST(std::abs(elapsed.as_double() - value) <= 0.05 + std::abs(value) * 1e-15);
      } else {
        BOOST_TEST(elapsed.is_null());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_rows_exactly) {
  std::string out;
  kc::append_row(out, kc::invalid_row{17, "leak.txt", "sk-mg-" + ellipsis + "(73 chars)", "not a 64-hex-digit hash"});
  BOOST_TEST(out == R"x({"hash":null,"outcome":"invalid","line":17,"file":"leak.txt","input":"sk-mg-)x" + ellipsis +
                        R"x((73 chars)","error":"not a 64-hex-digit hash","at":null})x" + "\n");
  const json::object parsed = parse_row(out);
  BOOST_TEST(parsed.at("hash").is_null());
  BOOST_TEST(parsed.at("line").as_int64() == 17);

  std::string stdin_row;
  kc::append_row(stdin_row, kc::invalid_row{18446744073709551615ull, "", "(empty)", "line too long"});
  const json::object from_stdin = parse_row(stdin_row);
  BOOST_TEST(from_stdin.at("file").is_null());
  BOOST_TEST(from_stdin.at("line").as_uint64() == 18446744073709551615ull);
}

BOOST_AUTO_TEST_CASE(appends_without_clearing) {
  std::string out = "previous\n";
  kc::append_row(out, kc::hash_row{hash, kc::outcome::deleted, 200, 1, 1.0, ""});
  kc::append_row(out, kc::invalid_row{2, "f", "p", "e"});
  BOOST_TEST(out.starts_with("previous\n{\"hash\":\""));
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 3);
}

BOOST_AUTO_TEST_CASE(hostile_strings_round_trip) {
  struct row {
    std::string name;
    std::string input;
    std::string decoded;  // what a JSON parser must read back
  };
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls.push_back(static_cast<char>(c));
  const std::vector<row> table = {
      {"plain", "hello", "hello"},
      {"empty", "", ""},
      {"quotes and backslashes", R"(a"b\c\\"")", R"(a"b\c\\"")"},
      {"all control characters", all_controls, all_controls},
      {"DEL", "\x7f", "\x7f"},
      {"slash", "</script>", "</script>"},
      {"two-byte", "caf\xC3\xA9", "caf\xC3\xA9"},
      {"three-byte", "\xE2\x82\xAC 5", "\xE2\x82\xAC 5"},
      {"four-byte", "\xF0\x9D\x84\x9E", "\xF0\x9D\x84\x9E"},
      {"U+2028", "\xE2\x80\xA8", "\xE2\x80\xA8"},
      {"max code point", "\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"},
      {"lone continuation", "a\x80z", "a" + fffd + "z"},
      {"two continuations", "\x80\xBF", fffd + fffd},
      {"overlong NUL", "\xC0\x80", fffd + fffd},
      {"overlong slash", "\xE0\x80\xAF", fffd + fffd + fffd},
      {"surrogate", "\xED\xA0\x80", fffd + fffd + fffd},
      {"above U+10FFFF", "\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},
      {"F5 lead", "\xF5\x80", fffd + fffd},
      {"truncated three-byte at end", "x\xE2\x82", "x" + fffd},
      {"truncated four-byte then ASCII", "\xF0\x9D\x84z", fffd + "z"},
      {"lead then lead", "\xC3\xC3\xA9", fffd + "\xC3\xA9"},
      {"FF FE", "\xFF\xFE", fffd + fffd},
      {"NUL inside", std::string("a\0b", 3), std::string("a\0b", 3)},
  };
  for (const auto& [name, input, decoded] : table) {
    BOOST_TEST_CONTEXT(name) {
      std::string out;
      kc::append_json_string(out, input);
      BOOST_TEST(json::parse(out).as_string() == decoded);
      for (const char c : out) BOOST_TEST(static_cast<unsigned char>(c) >= 0x20u);

      std::string line;
      kc::append_row(line, kc::hash_row{hash, kc::outcome::failed, 500, 3, 1.5, input});
      const json::object parsed = parse_row(line);
      if (input.empty()) {
        BOOST_TEST(parsed.at("error").is_null());
      } else {
        BOOST_TEST(parsed.at("error").as_string() == decoded);
      }
      std::string invalid;
      kc::append_row(invalid, kc::invalid_row{1, input, input, input});
      const json::object parsed_invalid = parse_row(invalid);
      BOOST_TEST(parsed_invalid.at("input").as_string() == decoded);
      BOOST_TEST(parsed_invalid.at("error").as_string() == decoded);
    }
  }
}

BOOST_AUTO_TEST_CASE(escapes_are_the_short_forms) {
  std::string out;
  kc::append_json_string(out, "\"\\\n\r\t\b\f\x01\x1f");
  BOOST_TEST(out == R"("\"\\\n\r\t\b\f\u0001\u001f")");
}

BOOST_AUTO_TEST_CASE(encoding_into_a_reserved_buffer_does_not_allocate) {
  std::string out;
  out.reserve(64 * 1024);
  const std::string error = "HTTP 500: Internal Server Error \xC3\xA9 \xFF";
  std::size_t rows = 0;
  keyrevoke::test::allocation_counter allocations;
  for (int i = 0; i < 200; ++i) {
    kc::append_row(out, kc::hash_row{hash, kc::outcome::failed, 500, 3, 123.45, error});
    ++rows;
  }
  BOOST_TEST(allocations.count() == 0u);
  BOOST_TEST(static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) == rows);
}

BOOST_AUTO_TEST_CASE(header_verify_and_summary_rows_are_json) {
  using namespace std::chrono;
  using namespace std::chrono_literals;
  const std::array<kc::input_fingerprint, 2> inputs{{{"leak \"1\".txt", "abc123"}, {"-", ""}}};
  std::string out;
  kc::append_row(out, kc::header_row{"0.3.0", "2026-11-27T21:10:14Z", "alice", "disable", "modelgates.ai",
                                     "https://modelgates.ai/api/v1", inputs, "sha256:00", "2/3", "", 16, 0.0, 8, 30.0, true, false, 4242});
  BOOST_REQUIRE(out.back() == '\n');
  const json::object header = json::parse(out).as_object();
  BOOST_TEST(header.at("type").as_string() == "header");
  BOOST_TEST(header.at("action").as_string() == "disable");
  BOOST_TEST(header.at("operator").as_string() == "alice");
  BOOST_TEST(header.at("base_url").as_string() == "https://modelgates.ai/api/v1");
  BOOST_TEST(header.at("inputs").as_array().size() == 2U);
  BOOST_TEST(header.at("inputs").as_array()[0].as_object().at("name").as_string() == "leak \"1\".txt");
  BOOST_TEST(header.at("inputs").as_array()[1].as_object().at("sha256").is_null());
  BOOST_TEST(header.at("shard").as_string() == "2/3");
  BOOST_TEST(header.at("protect").is_null());
  BOOST_TEST(header.at("options").as_object().at("rate").is_null());
  BOOST_TEST(header.at("options").as_object().at("verify").as_bool());
  BOOST_TEST(header.at("pid").as_int64() == 4242);

  out.clear();
  kc::key_hash h{};
  h.fill(0xcd);
  kc::append_row(out, kc::verify_row{h, kc::verify_outcome::mismatch, kc::observed_state::enabled, 200, 3, 12.34, ""});
  const json::object verify = json::parse(out).as_object();
  BOOST_TEST(verify.at("type").as_string() == "verify");
  BOOST_TEST(verify.at("hash").as_string() == kc::to_hex(h));
  BOOST_TEST(verify.at("proof").as_string() == "mismatch");
  // A proof is not an action: `select(.outcome=="failed")` over a report counts no verify row.
  BOOST_TEST(!verify.contains("outcome"));
  BOOST_TEST(verify.at("observed").as_string() == "enabled");
  BOOST_TEST(verify.at("error").is_null());
  out.clear();
  kc::append_row(out, kc::verify_row{h, kc::verify_outcome::failed, kc::observed_state::unknown, 0, 1, 1.0, "timeout"});
  BOOST_TEST(json::parse(out).as_object().at("observed").is_null());
  BOOST_TEST(json::parse(out).as_object().at("http_status").is_null());

  out.clear();
  const std::array<std::pair<std::string_view, std::uint64_t>, 2> counts{{{"deleted", 5}, {"failed", 0}}};
  kc::append_row(out, kc::summary_row{"2026-11-27T21:11:00Z", 1, 46.0, counts});
  const json::object summary = json::parse(out).as_object();
  BOOST_TEST(summary.at("exit_code").as_int64() == 1);
  BOOST_TEST(summary.at("counts").as_object().at("deleted").as_int64() == 5);
  BOOST_TEST(!summary.contains("listing_showed_no_key"));  // only when it did
  out.clear();
  kc::append_row(out, kc::summary_row{"2026-11-27T21:11:00Z", 0, 1.0, counts, {}, "none", true});
  BOOST_TEST(json::parse(out).as_object().at("listing_showed_no_key").as_bool());

  out.clear();
  const std::array<std::pair<std::string_view, std::uint64_t>, 2> plan_counts{{{"selected", 295}, {"protected", 5}}};
  kc::append_row(out, kc::plan_row{"sha256:ab", "delete", "h:1", "https://h:1/api/v1", inputs, "", plan_counts});
  BOOST_REQUIRE(out.back() == '\n');
  const json::object plan = json::parse(out).as_object();
  BOOST_TEST(plan.at("plan").as_string() == "keyrevoke-plan-v2");
  BOOST_TEST(plan.at("base_url").as_string() == "https://h:1/api/v1");
  BOOST_TEST(plan.at("digest").as_string() == "sha256:ab");
  BOOST_TEST(plan.at("inputs").as_array().size() == 2U);
  BOOST_TEST(plan.at("shard").is_null());
  BOOST_TEST(plan.at("counts").as_object().at("selected").as_int64() == 295);

  BOOST_TEST(kc::format_utc(system_clock::time_point{} + 86400s + 3661s) == "1970-01-02T01:01:01Z");
}

BOOST_AUTO_TEST_CASE(every_row_ends_with_its_at_time) {
  const std::string at = "2026-11-27T21:10:14.123Z";
  const std::array<kc::input_fingerprint, 1> inputs{{{"f", ""}}};
  const std::array<std::pair<std::string_view, std::uint64_t>, 1> counts{{{"deleted", 1}}};
  struct row {
    std::string name;
    std::string line;
  };
  std::vector<row> table(6);
  table[0].name = "hash";
  kc::append_row(table[0].line, kc::hash_row{hash, kc::outcome::deleted, 200, 1, 1.0, "", at});
  table[1].name = "invalid";
  kc::append_row(table[1].line, kc::invalid_row{1, "f", "x", "e", at});
  table[2].name = "verify";
  kc::append_row(table[2].line, kc::verify_row{hash, kc::verify_outcome::failed, kc::observed_state::unknown, 0, 1, 1.0, "t", at});
  table[3].name = "header";
  kc::append_row(table[3].line, kc::header_row{"v", "2026-11-27T21:10:14Z", "", "delete", "h", "https://h/api/v1", inputs,
                                               "", "", "", 1, 0.0, 1, 1.0, false, false, 1, at});
  table[4].name = "summary";
  kc::append_row(table[4].line, kc::summary_row{"2026-11-27T21:10:14Z", 0, 1.0, counts, at});
  table[5].name = "protected";
  kc::append_row(table[5].line, kc::hash_row{hash, kc::outcome::protected_key, 0, 0, 0.0, "protected", at});
  for (const auto& [name, line] : table) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(line.ends_with(R"(,"at":"2026-11-27T21:10:14.123Z"})" "\n"));
      BOOST_TEST(parse_row(line).at("at").as_string() == at);
    }
  }
  // A verify row's state is "proof", never "outcome": a failed proof is not a failed action.
  BOOST_TEST(!parse_row(table[2].line).contains("outcome"));
  BOOST_TEST(parse_row(table[2].line).at("proof").as_string() == "failed");
}

BOOST_AUTO_TEST_CASE(utc_stamp_is_rfc3339_with_milliseconds) {
  using namespace std::chrono;
  struct row {
    system_clock::time_point t;
    std::string expected;
  };
  const system_clock::time_point epoch{};
  const std::vector<row> table = {
      {epoch, "1970-01-01T00:00:00.000Z"},
      {epoch + 1ms, "1970-01-01T00:00:00.001Z"},
      {epoch + 999999us, "1970-01-01T00:00:00.999Z"},  // truncated, not rounded
      {epoch + 86400s + 3661s + 42ms, "1970-01-02T01:01:01.042Z"},
      {epoch + 1795813814s + 123ms, "2026-11-27T21:10:14.123Z"},
      {epoch + 1795813814s + 124ms, "2026-11-27T21:10:14.124Z"},  // same second: the cached part
      {epoch + 1795813815s, "2026-11-27T21:10:15.000Z"},          // the next second
      {epoch + 1795813814s + 5ms, "2026-11-27T21:10:14.005Z"},    // back again
  };
  kc::utc_stamp stamp;
  for (const auto& [t, expected] : table) {
    BOOST_TEST_CONTEXT(expected) {
      BOOST_TEST(std::string{stamp(t)} == expected);
      BOOST_TEST(kc::format_utc_ms(t) == expected);
    }
  }
  // The hot path: a stamp per loop turn allocates nothing.
  keyrevoke::test::allocation_counter allocations;
  std::size_t total = 0;
  for (int i = 0; i < 100; ++i) total += stamp(epoch + 1795813814s + milliseconds{i * 37}).size();
  BOOST_TEST(allocations.count() == 0u);
  BOOST_TEST(total == 2400u);
}

BOOST_AUTO_TEST_SUITE_END()
