// dial_limit: how many connections the pool may have open or being dialled. Each row drives a tiny
// model of the pool (connections open, dials under way with their tickets) through a script of events.
#include "keyrevoke/core/dial_limit.hpp"

#include <boost/test/unit_test.hpp>

#include <deque>
#include <string>
#include <vector>

namespace kc = keyrevoke::core;

namespace {

// The pool as the limit sees it.
struct model {
  explicit model(kc::dial_limit_config config) : limit{config} {}
  kc::dial_limit limit;
  std::size_t open = 0;
  std::deque<std::uint64_t> dialling;  // tickets, oldest first
  std::size_t in_use() const { return open + dialling.size(); }
  unsigned refused = 0;  // dials the script asked for that the limit did not allow
};

// Events, one letter each:
//   d  one dial starts (counted in `refused` if the limit does not allow it)
//   D  as many dials start as the limit allows
//   +  the oldest dial under way connects          *  every dial under way connects
//   x  the oldest dial under way fails             X  every dial under way fails, oldest first
//   -  the oldest dial under way is abandoned
//   a  a complete answer arrives                   A  ten of them
//   c  an open connection closes
void run(model& m, const std::string& script) {
  for (const char e : script) {
    switch (e) {
      case 'd':
        if (m.limit.may_dial(m.in_use())) {
          m.dialling.push_back(m.limit.on_dial_started());
        } else {
          ++m.refused;
        }
        break;
      case 'D':
        while (m.limit.may_dial(m.in_use())) m.dialling.push_back(m.limit.on_dial_started());
        break;
      case '+':
      case '*':
        do {
          if (m.dialling.empty()) break;
          m.dialling.pop_front();
          ++m.open;
          m.limit.on_dial_succeeded();
        } while (e == '*');
        break;
      case 'x':
      case 'X':
        do {
          if (m.dialling.empty()) break;
          const std::uint64_t ticket = m.dialling.front();
          m.limit.on_dial_failed(ticket, m.in_use());
          m.dialling.pop_front();
        } while (e == 'X');
        break;
      case '-':
        if (m.dialling.empty()) break;
        m.dialling.pop_front();
        m.limit.on_dial_abandoned();
        break;
      case 'a': m.limit.on_answer(m.in_use()); break;
      case 'A':
        for (int i = 0; i < 10; ++i) m.limit.on_answer(m.in_use());
        break;
      case 'c':
        if (m.open != 0) --m.open;
        break;
      default: BOOST_FAIL("unknown event " << e);
    }
  }
}

std::string times(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dial_limit)

BOOST_AUTO_TEST_CASE(transitions) {
  struct row {
    const char* name;
    kc::dial_limit_config config;
    std::string script;
    unsigned limit;
    unsigned threshold;
    std::uint64_t cuts;
    std::size_t in_use;  // after the script
    unsigned refused;
  };
  const std::vector<row> rows = {
      {"starts at initial", {1000, 10}, "", 10, 1000, 0, 0, 0},
      {"initial dials at once, no more", {1000, 10}, "D", 10, 1000, 0, 10, 0},
      {"the eleventh waits", {1000, 10}, "Dd", 10, 1000, 0, 10, 1},
      {"initial clamped to the ceiling", {4, 10}, "D", 4, 4, 0, 4, 0},
      {"initial 0 means 1", {8, 0}, "D", 1, 8, 0, 1, 0},
      {"ceiling 0 means 1", {0, 0}, "Dd", 1, 1, 0, 1, 1},
      {"each success lets one more dial start", {1000, 10}, "D+D", 11, 1000, 0, 11, 0},
      {"opening: initial more per round of dials", {1000, 10}, "D*D*D*", 40, 1000, 0, 30, 0},
      {"opening stops at the ceiling", {16, 10}, "D*D*D*", 16, 16, 0, 16, 0},
      {"answers do not grow the limit while opening", {1000, 10}, "D*AAAA", 20, 1000, 0, 10, 0},
      // A server that takes 25 connections: 10, 20, then 5 of the next 10 connect and 5 hang.
      {"a failed dial halves what is in use", {1000, 10}, "D*D*D+++++x", 15, 15, 1, 29, 0},
      {"one burst is one cut", {1000, 10}, "D*D*D+++++X", 15, 15, 1, 25, 0},
      {"a dial started after the cut cuts again", {1000, 10}, "D*D*D+++++Xcccccccccccdx", 7, 7, 2, 14, 0},
      {"after a cut no dial while in_use >= limit", {1000, 10}, "D*D*D+++++Xd", 15, 15, 1, 25, 1},
      // After the cut the limit climbs back to what stays open (25), one answer at a time ...
      {"answers climb back to the open connections", {1000, 10}, "D*D*D+++++XA", 25, 15, 1, 25, 0},
      // ... then one past them, and stop there until a dial uses it.
      {"then one more, then wait for a dial", {1000, 10}, "D*D*D+++++XAAA", 26, 15, 1, 25, 0},
      {"no growth while a dial is under way", {1000, 10}, "D*D*D+++++XAAAdAAA", 26, 15, 1, 26, 0},
      {"one new connection at a time", {1000, 10}, "D*D*D+++++XAAAd+AAAdAAA", 27, 15, 1, 27, 0},
      {"the probe hangs: cut again", {1000, 10}, "D*D*D+++++XAAAdx", 13, 13, 2, 25, 0},
      {"answers never pass the ceiling", {30, 10}, "D*D*D*" + times("A", 10), 30, 30, 0, 30, 0},
      {"after a cut, growth stops at the ceiling", {30, 10}, "D*D*D+++++XAAA" + times("d+AAA", 10), 30, 15, 1, 30,
       5},
      // A server that went away: every dial fails, the limit falls to 1 and stays >= 1.
      {"refused everywhere: down to 1", {1000, 10}, "DXdXdXdXdXdXdX", 1, 1, 7, 0, 0},
      {"at 1 a dial may still go", {1000, 10}, "DXdXdXdXdXdXdXd", 1, 1, 7, 1, 0},
      {"back after an outage: one at a time", {1000, 10}, "DXdXdXdXdXdXdXd+ad+ad+a", 4, 1, 7, 3, 0},
      {"abandoned dials neither cut nor grow", {1000, 10}, "D----------", 10, 1000, 0, 0, 0},
      {"abandoned dials free their place", {1000, 10}, "D--D", 10, 1000, 0, 10, 0},
      {"a closed connection frees a place", {16, 10}, "D*D*cd", 16, 16, 0, 16, 0},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      model m{r.config};
      run(m, r.script);
      BOOST_TEST(m.limit.limit() == r.limit);
      BOOST_TEST(m.limit.threshold() == r.threshold);
      BOOST_TEST(m.limit.cuts() == r.cuts);
      BOOST_TEST(m.in_use() == r.in_use);
      BOOST_TEST(m.refused == r.refused);
      BOOST_TEST(m.limit.pending() == m.dialling.size());
    }
  }
}

BOOST_AUTO_TEST_CASE(counts_every_failure_and_the_lowest_limit) {
  model m{{1000, 10}};
  BOOST_TEST(m.limit.lowest() == 0U);  // no cut yet
  run(m, "D*D*D+++++X");  // 5 failures, one cut to 15
  BOOST_TEST(m.limit.failures() == 5U);
  BOOST_TEST(m.limit.lowest() == 15U);
  run(m, "AAAdx");  // the probe fails: 26 in use -> 13
  BOOST_TEST(m.limit.failures() == 6U);
  BOOST_TEST(m.limit.lowest() == 13U);
  run(m, "AAAAAA");  // back to 26
  BOOST_TEST(m.limit.limit() == 26U);
  BOOST_TEST(m.limit.lowest() == 13U);
  BOOST_TEST(m.limit.cuts() == 2U);
}

// The case of issue 15 item 5: --concurrency 1000 against a server that takes `server_cap` connections
// and leaves the rest unanswered until they time out. In each round (one --timeout) dials go while
// allowed and those within the cap connect; the rest fail together at the timeout; answers keep coming
// on the open connections. What it may cost: at most `initial` failed dials in each of the first two
// timeouts (the window of dials while opening, then what is left of the halved limit), and at most
// one per timeout after (a single probe above the connections the server took). Before, every
// connection past the cap was dialled again each timeout: 900 failed dials per round.
BOOST_AUTO_TEST_CASE(capped_server_costs_few_failed_dials) {
  struct row {
    const char* name;
    unsigned ceiling;
    std::size_t server_cap;
    bool fails;  // whether any dial may fail at all
  };
  const std::vector<row> rows = {
      {"1000 against 100", 1000, 100, true},
      {"1000 against 4", 1000, 4, true},
      {"1000 against 1", 1000, 1, true},
      {"100 against 100: nothing fails", 100, 100, false},
      {"16 against 1000: nothing fails", 16, 1000, false},
  };
  constexpr unsigned initial = 10;
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      model m{{r.ceiling, initial}};
      for (int round = 0; round < 20; ++round) {
        BOOST_TEST_CONTEXT("round " << round) {
          for (int step = 0; step < 500; ++step) {
            run(m, "D");
            bool progressed = false;
            while (!m.dialling.empty() && m.open < r.server_cap) {
              run(m, "+");
              progressed = true;
            }
            run(m, m.open != 0 ? "A" : "");
            if (!progressed && !m.limit.may_dial(m.in_use())) break;
          }
          const std::uint64_t before = m.limit.failures();
          run(m, "X");  // the timeout: whatever still dials fails
          const std::uint64_t failed = m.limit.failures() - before;
          BOOST_TEST(failed <= (!r.fails ? 0U : round < 2 ? initial : 1U));
          BOOST_TEST(m.open == std::min<std::size_t>(r.ceiling, r.server_cap));  // none lost
          run(m, m.open != 0 ? "A" : "");
        }
      }
      BOOST_TEST_MESSAGE(r.name << ": " << m.limit.failures() << " failed dials, " << m.limit.cuts()
                                << " cuts");
      BOOST_TEST(m.limit.limit() >= 1U);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
