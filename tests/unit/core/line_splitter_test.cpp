#include "keyrevoke/core/line_splitter.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "allocation_counter.hpp"
#include "keyrevoke/core/hash_line.hpp"

namespace kc = keyrevoke::core;

namespace {

struct seen_line {
  std::string text;
  std::size_t full_length;
  std::uint64_t number;
  bool operator==(const seen_line&) const = default;
};

std::ostream& operator<<(std::ostream& os, const seen_line& l) {
  return os << '{' << l.number << ": \"" << l.text << "\" (" << l.full_length << ")}";
}

// Feeds input cut at the given offsets (ascending), then finishes.
std::vector<seen_line> split(std::string_view input, const std::vector<std::size_t>& cuts, std::size_t max_kept = 1024) {
  kc::line_splitter splitter(max_kept);
  std::vector<seen_line> out;
  const auto collect = [&out](const kc::input_line& line) {
    out.push_back({std::string(line.text), line.full_length, line.number});
  };
  std::size_t from = 0;
  for (const std::size_t cut : cuts) {
    splitter.feed(input.substr(from, cut - from), collect);
    from = cut;
  }
  splitter.feed(input.substr(from), collect);
  splitter.finish(collect);
  BOOST_TEST(splitter.lines_seen() == out.size());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(line_splitter)

BOOST_AUTO_TEST_CASE(whole_input_in_one_chunk) {
  struct row {
    std::string input;
    std::vector<seen_line> expected;
  };
  const std::vector<row> table = {
      {"", {}},
      {"a", {{"a", 1, 1}}},
      {"a\n", {{"a", 1, 1}}},
      {"a\nbc", {{"a", 1, 1}, {"bc", 2, 2}}},
      {"a\nbc\n", {{"a", 1, 1}, {"bc", 2, 2}}},
      {"\n", {{"", 0, 1}}},
      {"\n\n", {{"", 0, 1}, {"", 0, 2}}},
      {"a\r\nb\r\n", {{"a\r", 2, 1}, {"b\r", 2, 2}}},  // '\r' is hash_line's business
      {"x\n\ny", {{"x", 1, 1}, {"", 0, 2}, {"y", 1, 3}}},
  };
  for (const auto& [input, expected] : table) {
    BOOST_TEST_CONTEXT("input \"" << input << "\"") {
      const auto got = split(input, {});
      BOOST_TEST(got == expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(every_single_and_double_cut_gives_the_same_lines) {
  const std::string input = "abc\n\ndef\r\n#x\n  g  \nlast";
  const auto expected = split(input, {});
  BOOST_TEST_REQUIRE(expected.size() == 6u);
  for (std::size_t i = 0; i <= input.size(); ++i) {
    BOOST_TEST_CONTEXT("cut at " << i) { BOOST_TEST(split(input, {i}) == expected, boost::test_tools::per_element()); }
    for (std::size_t j = i; j <= input.size(); ++j) {
      BOOST_TEST_CONTEXT("cuts at " << i << ", " << j) { BOOST_TEST((split(input, {i, j}) == expected)); }
    }
  }
}

BOOST_AUTO_TEST_CASE(byte_by_byte_feeding) {
  const std::string input = "one\ntwo\n\nthree";
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  BOOST_TEST(split(input, cuts) == split(input, {}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(long_lines_are_truncated_but_measured_at_every_cut) {
  const std::string input = "0123456789abcdefghij\nshort\n" + std::string(30, 'z');
  const std::vector<seen_line> expected = {
      {"01234567", 20, 1}, {"short", 5, 2}, {"zzzzzzzz", 30, 3}};
  for (std::size_t i = 0; i <= input.size(); ++i) {
    BOOST_TEST_CONTEXT("cut at " << i) {
      BOOST_TEST(split(input, {i}, 8) == expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(one_megabyte_line_in_small_chunks_is_bounded_and_too_long) {
  const std::string big(1 << 20, 'a');
  kc::line_splitter splitter;
  std::vector<seen_line> lines;
  std::vector<kc::parsed_line> verdicts;
  const auto collect = [&](const kc::input_line& line) {
    lines.push_back({std::string(line.text), line.full_length, line.number});
    verdicts.push_back(kc::parse_hash_line(line.text, line.full_length, line.number == 1));
  };
  const std::string input = big + "\n" + std::string(64, 'b') + "\n";
  {
    keyrevoke::test::allocation_counter allocations;
    for (std::size_t at = 0; at < input.size(); at += 4096) {
      // The collecting lambda allocates; count only the splitter by feeding into a no-op first.
      splitter.feed(std::string_view(input).substr(at, 4096), [](const kc::input_line&) {});
    }
    BOOST_TEST(allocations.count() == 0u);  // the pending buffer was reserved up front
  }
  kc::line_splitter second;
  for (std::size_t at = 0; at < input.size(); at += 4096) second.feed(std::string_view(input).substr(at, 4096), collect);
  second.finish(collect);
  BOOST_TEST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[0].text.size() == 1024u);
  BOOST_TEST(lines[0].full_length == big.size());
  BOOST_TEST((verdicts[0].kind == kc::line_kind::invalid));
  BOOST_TEST(verdicts[0].reason == "line too long");
  BOOST_TEST(lines[1].number == 2u);
  BOOST_TEST((verdicts[1].kind == kc::line_kind::hash));
}

BOOST_AUTO_TEST_CASE(finish_emits_once_and_numbering_continues) {
  kc::line_splitter splitter;
  std::vector<std::uint64_t> numbers;
  const auto collect = [&](const kc::input_line& line) { numbers.push_back(line.number); };
  splitter.feed("a\nb", collect);
  splitter.finish(collect);
  splitter.finish(collect);
  BOOST_TEST(numbers == (std::vector<std::uint64_t>{1, 2}), boost::test_tools::per_element());
  splitter.feed("c\n", collect);
  BOOST_TEST(splitter.lines_seen() == 3u);
  BOOST_TEST(numbers.back() == 3u);
}

BOOST_AUTO_TEST_CASE(many_lines_do_not_allocate) {
  std::string input;
  for (int i = 0; i < 10000; ++i) input.append(64, 'f').push_back('\n');
  kc::line_splitter splitter;
  std::size_t hashes = 0;
  keyrevoke::test::allocation_counter allocations;
  for (std::size_t at = 0; at < input.size(); at += 65536) {
    splitter.feed(std::string_view(input).substr(at, 65536), [&](const kc::input_line& line) {
      hashes += kc::parse_hash_line(line.text, line.full_length, line.number == 1).kind == kc::line_kind::hash;
    });
  }
  splitter.finish([](const kc::input_line&) {});
  BOOST_TEST(allocations.count() == 0u);
  BOOST_TEST(hashes == 10000u);
}

BOOST_AUTO_TEST_SUITE_END()
