// --version: the program's version and the libraries it was built with and runs with.
#include "keyrevoke/app/version.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace keyrevoke::app;

BOOST_AUTO_TEST_SUITE(version)

BOOST_AUTO_TEST_CASE(version_names_the_libraries) {
  const std::string version = version_text();
  BOOST_TEST(version.rfind("keyrevoke " KEYREVOKE_VERSION, 0) == 0U);
  BOOST_TEST(version.find("\nbuilt with Boost 1.") != std::string::npos);
  BOOST_TEST(version.find(", OpenSSL 3.") != std::string::npos);
  BOOST_TEST(version.find("\nrunning with OpenSSL 3.") != std::string::npos);
  BOOST_TEST(version.back() == '\n');
}

BOOST_AUTO_TEST_SUITE_END()
