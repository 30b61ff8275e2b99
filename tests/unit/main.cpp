#define BOOST_TEST_MODULE keyrevoke unit tests
#include <boost/test/unit_test.hpp>
