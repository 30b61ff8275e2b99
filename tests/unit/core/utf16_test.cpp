// utf16: BOM sniffing, the BOM-less heuristic, and the streaming transcoder, fed whole, cut at every
// offset and byte by byte: the output never depends on where the reads split the input.
#include "keyrevoke/core/utf16.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "keyrevoke/core/hash_line.hpp"
#include "keyrevoke/core/line_splitter.hpp"

namespace kc = keyrevoke::core;
using namespace std::string_literals;

namespace {

// Feeds `input` cut at the given offsets (ascending), then finishes; returns all the text.
std::string decode(std::string_view input, const std::vector<std::size_t>& cuts, kc::input_decoder& d) {
  std::string out;
  std::size_t from = 0;
  for (const std::size_t cut : cuts) {
    out.append(d.feed(input.substr(from, cut - from)));
    from = cut;
  }
  out.append(d.feed(input.substr(from)));
  out.append(d.finish());
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", u);
      out.append(hex);
    }
  }
  return out;
}

// UTF-16 bytes of ASCII text, with or without a BOM.
std::string utf16(std::string_view ascii, bool le, bool bom = true) {
  std::string out = bom ? (le ? "\xFF\xFE"s : "\xFE\xFF"s) : ""s;
  for (const char c : ascii) {
    if (le) {
      out.push_back(c);
      out.push_back('\0');
    } else {
      out.push_back('\0');
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(utf16_suite)

BOOST_AUTO_TEST_CASE(sniffing_the_byte_order_mark) {
  struct row {
    std::string head;
    kc::input_encoding expected;
  };
  const row rows[] = {
      {"", kc::input_encoding::undecided},
      {"\xFF", kc::input_encoding::undecided},
      {"\xFE", kc::input_encoding::undecided},
      {"\xFF\xFE", kc::input_encoding::utf16le},
      {"\xFF\xFE\x00\x00"s, kc::input_encoding::utf16le},  // UTF-32LE's BOM reads as UTF-16LE + U+0000
      {"\xFE\xFF", kc::input_encoding::utf16be},
      {"\xFF\xFF", kc::input_encoding::utf8},
      {"\xFE\xFE", kc::input_encoding::utf8},
      {"\xEF\xBB\xBF"
       "abc",
       kc::input_encoding::utf8},
      {"a", kc::input_encoding::utf8},
      {"\0a"s, kc::input_encoding::utf8},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(printable(r.head)) { BOOST_TEST((kc::sniff_encoding(r.head) == r.expected)); }
  }
}

BOOST_AUTO_TEST_CASE(bomless_utf16_heuristic) {
  const std::string hash(64, 'a');
  struct row {
    const char* name;
    std::string head;
    std::optional<kc::input_encoding> expected;
  };
  const row rows[] = {
      {"LE hash line", utf16(hash + "\r\n" + hash + "\r\n", true, false), kc::input_encoding::utf16le},
      {"BE hash line", utf16(hash + "\n", false, false), kc::input_encoding::utf16be},
      {"LE, head cut mid-line", utf16(hash, true, false).substr(0, 21), kc::input_encoding::utf16le},
      {"LE, two characters", utf16("ab\n", true, false), kc::input_encoding::utf16le},
      {"LE, one character is not enough", utf16("a\n", true, false), std::nullopt},
      {"UTF-8", hash + "\n", std::nullopt},
      {"empty", "", std::nullopt},
      {"NUL bytes, not alternating", "ab\0\0cd"s, std::nullopt},
      {"mixed orders", "a\0\0b"s, std::nullopt},
      {"every byte NUL", std::string(16, '\0'), std::nullopt},
      {"a NUL on a UTF-8 line", "abc\0def\n"s, std::nullopt},
      {"LE first line only counts", utf16("ab\n", true, false) + "xyz", kc::input_encoding::utf16le},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      const auto got = kc::looks_like_bomless_utf16(r.head);
      BOOST_TEST(got.has_value() == r.expected.has_value());
      if (got && r.expected) BOOST_TEST((*got == *r.expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(transcodes_at_every_split) {
  struct row {
    const char* name;
    std::string input;
    std::string expected;
    kc::input_encoding encoding;  // after finish()
  };
  const row rows[] = {
      {"UTF-8 passes through", "abc\ndef", "abc\ndef", kc::input_encoding::utf8},
      {"UTF-8 BOM is left for the line parser",
       "\xEF\xBB\xBF"
       "ab\n",
       "\xEF\xBB\xBF"
       "ab\n",
       kc::input_encoding::utf8},
      {"empty", "", "", kc::input_encoding::utf8},
      {"a lone FF byte", "\xFF", "\xFF", kc::input_encoding::utf8},
      {"FF then text", "\xFFxy", "\xFFxy", kc::input_encoding::utf8},
      {"FE then text", "\xFE\n", "\xFE\n", kc::input_encoding::utf8},
      {"LE, BOM only", "\xFF\xFE", "", kc::input_encoding::utf16le},
      {"LE, CRLF", utf16("ab\r\ncd\r\n", true), "ab\r\ncd\r\n", kc::input_encoding::utf16le},
      {"BE, LF", utf16("ab\ncd", false), "ab\ncd", kc::input_encoding::utf16be},
      {"LE, U+00E9", "\xFF\xFE\xE9\x00"s, "\xC3\xA9", kc::input_encoding::utf16le},
      {"BE, U+20AC", "\xFE\xFF\x20\xAC"s, "\xE2\x82\xAC", kc::input_encoding::utf16be},
      {"LE, U+FFFD is text", "\xFF\xFE\xFD\xFF"s, "\xEF\xBF\xBD", kc::input_encoding::utf16le},
      {"LE, a second BOM is U+FEFF", "\xFF\xFE\xFF\xFE"s, "\xEF\xBB\xBF", kc::input_encoding::utf16le},
      {"LE, U+0000", "\xFF\xFE\x00\x00"s, "\0"s, kc::input_encoding::utf16le},
      {"LE, surrogate pair U+1F600", "\xFF\xFE\x3D\xD8\x00\xDE"s, "\xF0\x9F\x98\x80",
       kc::input_encoding::utf16le},
      {"BE, surrogate pair U+10FFFF", "\xFE\xFF\xDB\xFF\xDF\xFF"s, "\xF4\x8F\xBF\xBF",
       kc::input_encoding::utf16be},
      {"LE, high surrogate then A", "\xFF\xFE\x3D\xD8\x41\x00"s,
       "\xFF"
       "A",
       kc::input_encoding::utf16le},
      {"LE, high then high then low", "\xFF\xFE\x3D\xD8\x3D\xD8\x00\xDE"s, "\xFF\xF0\x9F\x98\x80",
       kc::input_encoding::utf16le},
      {"LE, lone low surrogate", "\xFF\xFE\x00\xDC\x41\x00"s,
       "\xFF"
       "A",
       kc::input_encoding::utf16le},
      {"LE, high surrogate at the end", "\xFF\xFE\x41\x00\x3D\xD8"s, "A\xFF", kc::input_encoding::utf16le},
      {"LE, odd trailing byte", "\xFF\xFE\x41\x00\x42"s, "A\xFE", kc::input_encoding::utf16le},
      {"BE, odd trailing byte after a newline", utf16("ab\n", false) + "x", "ab\n\xFE",
       kc::input_encoding::utf16be},
      {"LE, high surrogate and an odd byte", "\xFF\xFE\x3D\xD8\x41"s, "\xFF\xFE",
       kc::input_encoding::utf16le},
      {"BOM-less UTF-16 is not decoded", utf16("ab", true, false), "a\0b\0"s, kc::input_encoding::utf8},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      {
        kc::input_decoder d;
        BOOST_TEST(printable(decode(r.input, {}, d)) == printable(r.expected));
        BOOST_TEST((d.encoding() == r.encoding));
      }
      for (std::size_t cut = 0; cut <= r.input.size(); ++cut) {
        BOOST_TEST_CONTEXT("cut at " << cut) {
          kc::input_decoder d;
          BOOST_TEST(printable(decode(r.input, {cut}, d)) == printable(r.expected));
        }
      }
      std::vector<std::size_t> every;
      for (std::size_t i = 1; i < r.input.size(); ++i) every.push_back(i);
      kc::input_decoder d;
      BOOST_TEST(printable(decode(r.input, every, d)) == printable(r.expected), "byte by byte");
    }
  }
}

BOOST_AUTO_TEST_CASE(utf8_chunks_are_not_copied) {
  kc::input_decoder d;
  const std::string first = "abc\n", second = "def\n";
  const auto a = d.feed(first);
  const auto b = d.feed(second);
  BOOST_TEST(static_cast<const void*>(a.data()) == static_cast<const void*>(first.data()));
  BOOST_TEST(static_cast<const void*>(b.data()) == static_cast<const void*>(second.data()));
  BOOST_TEST(d.finish().empty());
}

BOOST_AUTO_TEST_CASE(output_is_bounded_by_the_chunk) {
  // U+20AC: 2 bytes in, 3 bytes out, the worst case for a chunk.
  std::string chunk;
  for (int i = 0; i < 32 * 1024; ++i) chunk.append("\xAC\x20");
  kc::input_decoder d;
  BOOST_TEST(d.feed("\xFF\xFE").empty());
  for (int round = 0; round < 4; ++round) {
    const auto out = d.feed(chunk);
    BOOST_TEST(out.size() == chunk.size() / 2 * 3);
  }
  BOOST_TEST(d.finish().empty());
}

BOOST_AUTO_TEST_CASE(error_reasons) {
  BOOST_TEST(kc::utf16_error_reason("abc").empty());
  BOOST_TEST(kc::utf16_error_reason("ab\xFF"
                                    "c") == "invalid UTF-16: an unpaired surrogate");
  BOOST_TEST(kc::utf16_error_reason("ab\xFE") == "invalid UTF-16: the input ends with an odd byte");
  BOOST_TEST(kc::utf16_error_reason("\xC3\xA9\xE2\x82\xAC").empty());  // UTF-8 text holds neither byte
}

BOOST_AUTO_TEST_CASE(a_powershell_list_reads_like_its_utf8_twin) {
  // 300 lines of hashes (one upper-case, a comment, a blank line), CRLF, through the decoder and the
  // line splitter with 7-byte reads: the same lines and verdicts as the UTF-8 text.
  std::string text = "# exported\r\n\r\n";
  for (int i = 0; i < 300; ++i) {
    char line[80];
    std::snprintf(line, sizeof line, "%056x%08X\r\n", i * 7919, static_cast<unsigned>(i));
    text.append(line);
  }
  const auto verdicts = [](std::string_view bytes) {
    kc::input_decoder d;
    kc::line_splitter splitter(kc::max_hash_line_length);
    std::vector<std::string> out;
    const auto on_line = [&](const kc::input_line& line) {
      const auto parsed = kc::parse_hash_line(line.text, line.full_length, line.number == 1);
      switch (parsed.kind) {
        case kc::line_kind::hash: out.push_back(kc::to_hex(parsed.hash)); break;
        case kc::line_kind::skip: out.emplace_back("skip"); break;
        case kc::line_kind::invalid:
          out.push_back(std::string(parsed.reason) + "|" + std::string(line.text));
          break;
      }
    };
    for (std::size_t i = 0; i < bytes.size(); i += 7) splitter.feed(d.feed(bytes.substr(i, 7)), on_line);
    splitter.feed(d.finish(), on_line);
    splitter.finish(on_line);
    return out;
  };
  const auto utf8 = verdicts(text);
  BOOST_TEST(utf8.size() == 302u);
  BOOST_TEST(verdicts(utf16(text, true)) == utf8, "UTF-16LE");
  BOOST_TEST(verdicts(utf16(text, false)) == utf8, "UTF-16BE");
  BOOST_TEST(verdicts("\xEF\xBB\xBF" + text) == utf8, "UTF-8 with BOM");
}

BOOST_AUTO_TEST_SUITE_END()
