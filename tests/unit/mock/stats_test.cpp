// The mock's request tally (mock/stats): counts per method, and a bounded table of content types.
#include "keyrevoke/mock/stats.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace keyrevoke::mock;

BOOST_AUTO_TEST_SUITE(stats_suite)

BOOST_AUTO_TEST_CASE(content_types_are_bounded) {
  request_tally tally;
  for (int i = 0; i < 40; ++i) tally.count(http_method::delete_, true, "type/" + std::to_string(i % 20));
  tally.count(http_method::delete_, true, std::string(500, 'x'));
  const auto c = tally.counts(http_method::delete_);
  BOOST_TEST(c.requests == 41u);
  BOOST_TEST(c.with_body == 41u);
  BOOST_TEST_REQUIRE(c.content_types.size() == request_tally::content_type_limit);
  BOOST_TEST(c.content_types.front().first == "type/0");
  BOOST_TEST(c.content_types.front().second == 2u);
  BOOST_TEST(c.content_types.back().first == "(other)");
  // 20 types twice: 15 kept, 5 more types (10 requests) and the long one go to "(other)".
  BOOST_TEST(c.content_types.back().second == 11u);
  for (const auto& [type, n] : c.content_types)
    BOOST_TEST(type.size() <= request_tally::content_type_max_size);
  BOOST_TEST(tally.counts(http_method::get).requests == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
