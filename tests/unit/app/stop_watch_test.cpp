// The stop watch: every stop signal reaches its owner once, those that came before it started first,
// and a cancelled watch leaves io_context::run free to return. Real signals (raise) to this process,
// inside a stop_deferral (outside one the handler would end the test binary with exit 130).
#include "keyrevoke/app/stop_watch.hpp"

#include "keyrevoke/app/stop_signals.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <utility>
#include <vector>

using namespace keyrevoke::app;

BOOST_AUTO_TEST_SUITE(stop_watch_signals)

BOOST_AUTO_TEST_CASE(each_stop_is_reported_once_in_order_and_cancel_ends_the_wait) {
  std::vector<std::pair<int, unsigned>> seen;
  const auto record = [&seen](int signal_number, unsigned count) { seen.emplace_back(signal_number, count); };

  // Before install_stop_handlers() (a library user that never installs them): no stop, nothing held.
  {
    boost::asio::io_context io;
    stop_watch watch{io.get_executor()};
    watch.start(record);
    BOOST_TEST(io.run() == 0U);
    BOOST_TEST(seen.empty());
  }

  install_stop_handlers();
  install_stop_handlers();  // once: a second call changes nothing
  const stop_deferral deferred;
  BOOST_TEST(stop_requests() == 0U);
  BOOST_TEST(std::raise(SIGTERM) == 0);  // before the watch starts: reported first
  BOOST_TEST(stop_requests() == 1U);
  BOOST_TEST(last_stop_signal() == SIGTERM);

  boost::asio::io_context io;
  stop_watch watch{io.get_executor()};
  watch.start(record);
  io.poll();
  BOOST_TEST(seen.size() == 1U);
  BOOST_TEST(seen.at(0).first == SIGTERM);
  BOOST_TEST(seen.at(0).second == 1U);

  BOOST_TEST(std::raise(SIGHUP) == 0);
  io.run_one();
  BOOST_TEST(seen.size() == 2U);
  BOOST_TEST(seen.at(1).first == SIGHUP);
  BOOST_TEST(seen.at(1).second == 2U);

  // Two before the loop looks again: two calls, counted 3 and 4.
  BOOST_TEST(std::raise(SIGINT) == 0);
  BOOST_TEST(std::raise(SIGINT) == 0);
  io.run_one();
  BOOST_TEST(seen.size() == 4U);
  BOOST_TEST(seen.at(3).first == SIGINT);
  BOOST_TEST(seen.at(3).second == 4U);

  watch.cancel();
  watch.cancel();
  io.restart();
  io.run();  // returns: no wait is left
  BOOST_TEST(seen.size() == 4U);
  BOOST_TEST(stop_requested());
}

BOOST_AUTO_TEST_CASE(each_stop_signal_has_its_word) {
  const std::vector<std::pair<int, std::string_view>> table{
      {SIGINT, "interrupted"}, {SIGTERM, "terminated"}, {SIGHUP, "hung up"}, {SIGUSR1, "stopped"}};
  for (const auto& [signal_number, word] : table) {
    BOOST_TEST_CONTEXT("signal " << signal_number) { BOOST_TEST(stop_word(signal_number) == word); }
  }
}

BOOST_AUTO_TEST_SUITE_END()
