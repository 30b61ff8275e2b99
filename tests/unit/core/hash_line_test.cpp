#include "keyrevoke/core/hash_line.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "allocation_counter.hpp"

namespace kc = keyrevoke::core;

namespace {

const std::string hash_hex = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";
const std::string hash_upper = "F01D52606DC8F0A8303A7B5CC3FA07109C2E346CEC7C0A16B40DE462992CE943";
const std::string bom = "\xEF\xBB\xBF";

const char* name(kc::line_kind k) {
  switch (k) {
    case kc::line_kind::hash: return "hash";
    case kc::line_kind::skip: return "skip";
    case kc::line_kind::invalid: return "invalid";
  }
  return "?";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hash_line)

BOOST_AUTO_TEST_CASE(verdicts) {
  struct row {
    std::string text;
    bool first_line;
    kc::line_kind kind;
    std::string reason;
  };
  using k = kc::line_kind;
  const std::vector<row> table = {
      {hash_hex, false, k::hash, ""},
      {hash_upper, false, k::hash, ""},
      {bom + hash_hex, true, k::hash, ""},
      {bom + hash_hex, false, k::invalid, "not a 64-hex-digit hash"},  // a BOM only on line 1
      {bom, true, k::skip, ""},
      {hash_hex + "\r", false, k::hash, ""},
      {"  \t" + hash_hex + " \t", false, k::hash, ""},
      {"\t" + hash_hex + " \r", false, k::hash, ""},
      {hash_hex + "\r ", false, k::hash, ""},
      {"", false, k::skip, ""},
      {"   \t ", false, k::skip, ""},
      {"\r", false, k::skip, ""},
      {"#", false, k::skip, ""},
      {"# revoked keys, 2024-03-10", false, k::skip, ""},
      {"   # indented comment", false, k::skip, ""},
      {bom + "# comment", true, k::skip, ""},
      {hash_hex.substr(0, 63), false, k::invalid, "wrong length: 63 characters (a hash has 64)"},
      {hash_hex + "a", false, k::invalid, "wrong length: 65 characters (a hash has 64)"},
      {"a", false, k::invalid, "wrong length: 1 character (a hash has 64)"},
      {hash_hex + hash_hex, false, k::invalid, "wrong length: 128 characters (a hash has 64)"},
      {std::string(1024, 'a'), false, k::invalid, "wrong length: 1024 characters (a hash has 64)"},
      {std::string(1025, 'a'), false, k::invalid, "line too long"},
      {hash_hex.substr(0, 63) + "g", false, k::invalid, "non-hex character"},
      {hash_hex.substr(0, 32) + " " + hash_hex.substr(33), false, k::invalid, "non-hex character"},
      {hash_hex.substr(0, 10) + std::string(1, '\0') + hash_hex.substr(11), false, k::invalid, "contains a NUL byte"},
      {std::string(1, '\0'), false, k::invalid, "contains a NUL byte"},
      {"sk-mg-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false, k::invalid,
       "not a 64-hex-digit hash"},
      {"0x" + hash_hex, false, k::invalid, "not a 64-hex-digit hash"},
      {hash_hex + " # trailing comment", false, k::invalid, "not a 64-hex-digit hash"},
      {"\xC3\xA9", false, k::invalid, "not a 64-hex-digit hash"},
  };
  const auto expected_hash = kc::parse_key_hash(hash_hex);
  BOOST_TEST_REQUIRE(expected_hash.has_value());
  for (const auto& [text, first_line, kind, reason] : table) {
    BOOST_TEST_CONTEXT("line \"" << text.substr(0, 80) << "\" first_line=" << first_line) {
      const kc::parsed_line got = kc::parse_hash_line(text, text.size(), first_line);
      BOOST_TEST(name(got.kind) == name(kind));
      BOOST_TEST(got.reason == reason);
      if (kind == k::hash) BOOST_TEST((got.hash == *expected_hash));
    }
  }
}

BOOST_AUTO_TEST_CASE(truncated_lines) {
  const std::string kept(1024, 'a');
  struct row {
    std::string text;
    std::size_t full_length;
    kc::line_kind kind;
    std::string reason;
  };
  const std::vector<row> table = {
      {kept, 1 << 20, kc::line_kind::invalid, "line too long"},
      {"# " + kept, 1 << 20, kc::line_kind::skip, ""},  // a long comment is still a comment
      {"  " + hash_hex, 5000, kc::line_kind::invalid, "line too long"},
      {std::string(1024, ' '), 5000, kc::line_kind::invalid, "line too long"},
  };
  for (const auto& [text, full_length, kind, reason] : table) {
    BOOST_TEST_CONTEXT("line of " << full_length << " starting \"" << text.substr(0, 20) << "\"") {
      const auto got = kc::parse_hash_line(text, full_length, false);
      BOOST_TEST(name(got.kind) == name(kind));
      BOOST_TEST(got.reason == reason);
    }
  }
}

BOOST_AUTO_TEST_CASE(parsing_never_allocates) {
  const std::vector<std::string> lines = {hash_hex, "x", std::string(700, 'a'), "# c", "sk-mg-abc", ""};
  std::size_t invalid = 0;
  keyrevoke::test::allocation_counter allocations;
  for (const auto& line : lines) invalid += kc::parse_hash_line(line, line.size(), true).kind == kc::line_kind::invalid;
  BOOST_TEST(allocations.count() == 0u);
  BOOST_TEST(invalid == 3u);
}

BOOST_AUTO_TEST_CASE(redacted_previews) {
  struct row {
    std::string text;
    std::size_t full_length;
    std::string expected;
  };
  const std::string secret = "sk-mg-v1-" + std::string(64, '7');
  const std::vector<row> table = {
      {secret, secret.size(), "sk-mg-\xE2\x80\xA6(73 chars)"},
      {"", 0, "(empty)"},
      {"x", 1, "\xE2\x80\xA6(1 char)"},
      {"ab", 2, "a\xE2\x80\xA6(2 chars)"},
      {"hello", 5, "he\xE2\x80\xA6(5 chars)"},
      {"abcdefghijkl", 12, "abcdef\xE2\x80\xA6(12 chars)"},
      {"\tab\x01\xC3\xA9zz", 8, "?ab?\xE2\x80\xA6(8 chars)"},
      {"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 8, "????\xE2\x80\xA6(8 chars)"},
      {std::string(1024, 'q'), 1 << 20, "qqqqqq\xE2\x80\xA6(1048576 chars)"},
      {"ab", 100, "ab\xE2\x80\xA6(100 chars)"},  // never reads past the kept text
  };
  for (const auto& [text, full_length, expected] : table) {
    BOOST_TEST_CONTEXT("text \"" << text.substr(0, 20) << "\" of " << full_length) {
      BOOST_TEST(kc::redact_preview(text, full_length) == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_preview_never_contains_the_whole_line) {
  for (std::size_t n = 1; n <= 40; ++n) {
    const std::string text(n, 's');
    BOOST_TEST_CONTEXT("length " << n) {
      const std::string preview = kc::redact_preview(text, n);
      BOOST_TEST(preview.find(text) == std::string::npos);
      BOOST_TEST(preview.find(std::to_string(n)) != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
