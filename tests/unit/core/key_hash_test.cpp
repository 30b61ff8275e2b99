// A key hash (core/key_hash): exactly 64 hex digits in, 32 bytes in memory, 64 lower-case hex digits out.
#include "keyrevoke/core/key_hash.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace kc = keyrevoke::core;

namespace {

const std::string pinned = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";

}  // namespace

BOOST_AUTO_TEST_SUITE(key_hash)

BOOST_AUTO_TEST_CASE(accepted_hex_parses_to_the_bytes) {
  struct row {
    std::string text;
    std::uint8_t first;
    std::uint8_t last;
    std::string hex;  // to_hex of the result: always lower case
  };
  const std::vector<row> rows = {
      {pinned, 0xf0, 0x43, pinned},
      {"F01D52606DC8F0A8303A7B5CC3FA07109C2E346CEC7C0A16B40DE462992CE943", 0xf0, 0x43, pinned},
      {"F01d52606Dc8f0A8303a7b5cc3fa07109c2e346cec7c0a16b40de462992cE943", 0xf0, 0x43, pinned},
      {std::string(64, '0'), 0x00, 0x00, std::string(64, '0')},
      {std::string(64, 'f'), 0xff, 0xff, std::string(64, 'f')},
      {"0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789ABCDEF", 0x01, 0xef,
       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto h = kc::parse_key_hash(r.text);
      BOOST_TEST_REQUIRE(h.has_value());
      BOOST_TEST((*h)[0] == r.first);
      BOOST_TEST((*h)[31] == r.last);
      BOOST_TEST(kc::to_hex(*h) == r.hex);
      BOOST_TEST((kc::parse_key_hash(kc::to_hex(*h)) == h));
    }
  }
}

BOOST_AUTO_TEST_CASE(anything_but_64_hex_digits_is_rejected) {
  const std::vector<std::string> rows = {
      "",
      pinned.substr(0, 63),                            // one digit short
      pinned + "0",                                    // one digit long
      pinned.substr(0, 32),                            // 16 bytes
      "0x" + pinned.substr(0, 62),                     // a prefix, right length
      "g" + pinned.substr(1),                          // first digit not hex
      pinned.substr(0, 63) + "g",                      // last digit not hex
      pinned.substr(0, 31) + " " + pinned.substr(32),  // a space inside
      " " + pinned.substr(1),                          // leading space, right length
      pinned.substr(0, 63) + "\n",                     // a newline in place of the last digit
      pinned.substr(0, 40) + ":" + pinned.substr(41),  // ':' is '9' + 1
      pinned.substr(0, 40) + "@" + pinned.substr(41),  // '@' is 'A' - 1
      pinned.substr(0, 40) + "`" + pinned.substr(41),  // '`' is 'a' - 1
      pinned.substr(0, 40) + "G" + pinned.substr(41),
      std::string(64, '\0'),
      "sk-mg-v1-" + pinned.substr(0, 55),  // a key, not a hash
  };
  for (const std::string& text : rows) {
    BOOST_TEST_CONTEXT('"' << text << "\" (" << text.size() << " bytes)") {
      BOOST_TEST(!kc::parse_key_hash(text).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(write_hex_writes_exactly_64_digits) {
  struct row {
    kc::key_hash hash;
    std::string hex;
  };
  kc::key_hash counting{};
  for (std::size_t i = 0; i < counting.size(); ++i) counting[i] = static_cast<std::uint8_t>(i * 8 + 7);
  const std::vector<row> rows = {
      {kc::key_hash{}, std::string(64, '0')},
      {*kc::parse_key_hash(pinned), pinned},
      {counting, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.hex) {
      std::string out(70, '#');  // no terminator: the bytes after the 64 digits
                                 // stay as they were
      kc::write_hex(r.hash, out.data());
      BOOST_TEST(out.substr(0, 64) == r.hex);
      BOOST_TEST(out.substr(64) == "######");
      BOOST_TEST(kc::to_hex(r.hash) == r.hex);
      BOOST_TEST(kc::to_hex(r.hash).size() == kc::key_hash_hex_size);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
