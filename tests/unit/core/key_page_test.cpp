// One page of GET /keys (core/key_page): fields parsed by type (a wrong type is absent, never coerced),
// unusable objects kept in place, and bodies that are not a page at all.
#include "keyrevoke/core/key_page.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

using namespace keyrevoke::core;

BOOST_AUTO_TEST_SUITE(key_page_suite)

BOOST_AUTO_TEST_CASE(pages_parse_fields_by_type) {
  const std::string hash(64, 'a');
  const std::string body = R"({"data":[{"hash":")" + hash +
                           R"(","name":"n","label":"ci-1","disabled":true,"limit":null,"usage":3,)"
                           R"("created_at":"2026-11-20T10:00:00Z","updated_at":null,"extra":{"x":[1,2]}},)"
                           R"({"hash":")" +
                           std::string(64, 'B') +
                           R"(","name":7,"label":null,"disabled":"yes","usage":"3",)"
                           R"("created_at":"not a time"},)"
                           R"({"name":"no hash"},{"hash":"abc"},42]})";
  const auto page = parse_key_page(body);
  BOOST_TEST_REQUIRE(page.has_value());
  BOOST_TEST_REQUIRE(page->entries.size() == 5u);
  BOOST_TEST(page->unusable == 3u);
  BOOST_TEST(page->entries[0].usable);
  BOOST_TEST(to_hex(page->entries[0].hash) == hash);
  BOOST_TEST(page->fields[0].name.value() == "n");
  BOOST_TEST(page->fields[0].label.value() == "ci-1");
  BOOST_TEST(page->fields[0].disabled.value());
  BOOST_TEST(page->fields[0].usage.value() == 3.0);
  BOOST_TEST(page->fields[0].created_at.value() == *parse_timestamp("2026-11-20T10:00:00Z"));
  BOOST_TEST(!page->fields[0].updated_at.has_value());
  BOOST_TEST((page->entries[0].created_at == page->fields[0].created_at));
  BOOST_TEST(page->json[0].find('\n') == std::string::npos);
  BOOST_TEST(page->json[0].find(R"("extra":{"x":[1,2]})") != std::string::npos);
  // Wrong types are absent, not coerced; an upper-case hash is still a hash.
  BOOST_TEST(page->entries[1].usable);
  BOOST_TEST(to_hex(page->entries[1].hash) == std::string(64, 'b'));
  BOOST_TEST(!page->fields[1].name.has_value());
  BOOST_TEST(!page->fields[1].label.has_value());
  BOOST_TEST(!page->fields[1].disabled.has_value());
  BOOST_TEST(!page->fields[1].usage.has_value());
  BOOST_TEST(!page->fields[1].created_at.has_value());
  BOOST_TEST(!page->entries[2].usable);
  BOOST_TEST(!page->entries[3].usable);
  BOOST_TEST(!page->entries[4].usable);
  BOOST_TEST(page->json[4].empty());
}

BOOST_AUTO_TEST_CASE(bodies_that_are_not_a_page) {
  const std::string_view rows[] = {"",
                                   "{",
                                   "[]",
                                   "{}",
                                   R"({"data":{}})",
                                   R"({"data":null})",
                                   "<html>",
                                   R"({"error":{"code":500}})",
                                   "{\"data\":[]}trailing"};
  for (const std::string_view body : rows) {
    BOOST_TEST_CONTEXT(body) { BOOST_TEST(!parse_key_page(body).has_value()); }
  }
  const auto empty = parse_key_page(R"({"data":[]})");
  BOOST_TEST_REQUIRE(empty.has_value());
  BOOST_TEST(empty->entries.empty());
}

BOOST_AUTO_TEST_SUITE_END()
