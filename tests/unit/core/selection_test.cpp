// --shard K/N, the --plan / --confirm digest of the exact set, the own-key hash from GET {base}/key,
// and SHA-256 (core/selection). Pure; fixed seeds.
#include "keyrevoke/core/selection.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace kc = keyrevoke::core;

namespace {

kc::key_hash random_hash(std::mt19937_64& rng) {
  kc::key_hash h{};
  for (auto& byte : h) byte = static_cast<std::uint8_t>(rng());
  return h;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(selection)

BOOST_AUTO_TEST_CASE(shard_specs) {
  BOOST_TEST(kc::parse_shard("1/1").has_value());
  const auto s = kc::parse_shard("3/4");
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(s->index == 2U);
  BOOST_TEST(s->count == 4U);
  BOOST_TEST(kc::parse_shard("65536/65536").has_value());
  for (const char* bad : {"0/4", "5/4", "1/0", "", "/", "1/", "/2", "1//2", "-1/2", "+1/2", " 1/2", "1/2 ", "1.0/2",
                          "1/65537", "a/b", "1/2/3", "99999999999/99999999999"}) {
    BOOST_TEST(!kc::parse_shard(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(shards_partition_the_input_evenly_and_stably) {
  std::mt19937_64 rng{7};
  std::vector<kc::key_hash> hashes;
  for (int i = 0; i < 40000; ++i) hashes.push_back(random_hash(rng));
  for (const unsigned n : {2U, 3U, 4U, 7U, 16U}) {
    std::vector<std::size_t> per(n, 0);
    for (const auto& h : hashes) {
      const unsigned k = kc::shard_of(h, n);
      BOOST_REQUIRE(k < n);
      ++per[k];
    }
    const double expected = static_cast<double>(hashes.size()) / n;
    for (const std::size_t count : per) BOOST_TEST(std::abs(static_cast<double>(count) - expected) < 0.05 * expected);
  }
  // Hand-made hashes that differ in one byte still spread (a list of test keys often looks like this).
  std::vector<std::size_t> per(4, 0);
  for (unsigned i = 0; i < 4000; ++i) {
    kc::key_hash h{};
    h[31] = static_cast<std::uint8_t>(i);
    h[30] = static_cast<std::uint8_t>(i >> 8);
    ++per[kc::shard_of(h, 4)];
  }
  for (const std::size_t count : per) BOOST_TEST(count > 800U);
  // The function is a contract between runners (of different versions, on different machines):
  // pinned values, computed once from the documented construction. Changing them splits lists apart.
  const auto pinned = kc::parse_key_hash("f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943");
  BOOST_REQUIRE(pinned.has_value());
  BOOST_TEST(kc::shard_of(*pinned, 1) == 0U);
  BOOST_TEST(kc::shard_of(*pinned, 4) == 1U);
  BOOST_TEST(kc::shard_of(*pinned, 1000003) == 529304U);
  BOOST_TEST(kc::shard_of(kc::key_hash{}, 7) == 3U);
  BOOST_TEST(kc::shard_of(kc::key_hash{}, 65536) == 12998U);
}

BOOST_AUTO_TEST_CASE(own_key_hash_only_from_the_documented_shape) {
  const std::string hex = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";
  const auto h = kc::own_key_hash_from_body(R"({"data":{"label":"mgmt","hash":")" + hex + R"("}})");
  BOOST_REQUIRE(h.has_value());
  BOOST_TEST(kc::to_hex(*h) == hex);
  const std::vector<std::string> bodies{"", "{}", R"({"data":{"label":"x"}})", R"({"data":{"hash":"abc"}})",
                                        R"({"data":{"hash":7}})", R"({"hash":")" + hex + "\"}", "[1,2]", "{\"data\""};
  for (const std::string& body : bodies) {
    BOOST_TEST(!kc::own_key_hash_from_body(body).has_value(), body);
  }
}

BOOST_AUTO_TEST_CASE(sha256_known_answers) {
  BOOST_TEST(kc::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(kc::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(plan_digest_is_the_set_the_action_and_the_server) {
  std::mt19937_64 rng{11};
  std::vector<kc::key_hash> hashes;
  for (int i = 0; i < 500; ++i) hashes.push_back(random_hash(rng));
  std::vector<kc::key_hash> shuffled = hashes;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  shuffled.push_back(shuffled.front());  // a duplicate does not change the set

  std::vector<kc::key_hash> a = hashes;
  const std::string digest = kc::plan_digest(kc::action::delete_key, "https://modelgates.ai/api/v1", a);
  BOOST_TEST(digest.rfind("sha256:", 0) == 0U);
  BOOST_TEST(digest.size() == 7U + 64U);
  BOOST_TEST(kc::plan_digest(kc::action::delete_key, "https://modelgates.ai/api/v1", shuffled) == digest);
  BOOST_TEST(shuffled.size() == hashes.size());  // de-duplicated in place
  BOOST_TEST(std::is_sorted(shuffled.begin(), shuffled.end()));

  std::vector<kc::key_hash> b = hashes;
  BOOST_TEST(kc::plan_digest(kc::action::disable, "https://modelgates.ai/api/v1", b) != digest);
  b = hashes;
  BOOST_TEST(kc::plan_digest(kc::action::delete_key, "https://staging.modelgates.ai/api/v1", b) != digest);
  // The path too: a plan reviewed for /api/v1 does not run against /v1 (a wrong route on the same host).
  b = hashes;
  BOOST_TEST(kc::plan_digest(kc::action::delete_key, "https://modelgates.ai/v1", b) != digest);
  b = hashes;
  BOOST_TEST(kc::plan_digest(kc::action::delete_key, "http://modelgates.ai/api/v1", b) != digest);
  b = hashes;
  b.pop_back();
  BOOST_TEST(kc::plan_digest(kc::action::delete_key, "https://modelgates.ai/api/v1", b) != digest);
  b = hashes;
  b[17][3] ^= 1;
  BOOST_TEST(kc::plan_digest(kc::action::delete_key, "https://modelgates.ai/api/v1", b) != digest);

  // The documented construction, recomputed by hand for a two-hash set.
  std::vector<kc::key_hash> two{kc::key_hash{}, kc::key_hash{}};
  two[0].fill(0x11);
  two[1].fill(0x01);
  const std::string text = "keyrevoke-plan-v2\naction=enable\nbase_url=https://h:8443/api/v1\n" + kc::to_hex(two[1]) +
                           "\n" + kc::to_hex(two[0]) + "\n";
  BOOST_TEST(kc::plan_digest(kc::action::enable, "https://h:8443/api/v1", two) == "sha256:" + kc::sha256_hex(text));
  std::vector<kc::key_hash> none;
  BOOST_TEST(kc::plan_digest(kc::action::delete_key, "https://h", none) ==
             "sha256:" + kc::sha256_hex("keyrevoke-plan-v2\naction=delete\nbase_url=https://h\n"));
}

BOOST_AUTO_TEST_CASE(sha256_stream_fed_in_pieces_is_the_one_shot_digest) {
  // An input file's fingerprint is computed chunk by chunk as it is read: any cut must give the same
  // digest as the whole (a digest of only the last chunk, or one that drops a boundary byte, fails).
  const std::string million_a(1000000, 'a');
  struct row {
    std::string data;
    std::size_t piece;  // bytes per update()
    std::string expected;
  };
  const std::vector<row> rows = {
      {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abc", 2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      // FIPS 180-2's 56-byte message (its padding takes a second block), cut unevenly.
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 7,
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 55,
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {million_a, 4096, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
      {million_a, 999999, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.data.size() << " bytes in pieces of " << r.piece) {
      kc::sha256_stream stream;
      const std::string_view data = r.data;
      for (std::size_t at = 0; at < data.size(); at += r.piece) stream.update(data.substr(at, r.piece));
      BOOST_TEST(stream.hex_digest() == r.expected);
      BOOST_TEST(kc::sha256_hex(r.data) == r.expected);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
