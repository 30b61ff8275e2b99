// dial_addresses: when the pool resolves its host name again, and which address a dial tries first.
// Fake clock; each row is a script of events.
#include "keyrevoke/core/dial_addresses.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace kc = keyrevoke::core;
using namespace std::chrono_literals;

namespace {

const kc::steady_time t0{std::chrono::hours{1}};

struct model {
  kc::dial_addresses addresses{kc::dial_addresses_config{}};
  kc::steady_time now = t0;
  std::uint64_t dial_generation = 0;  // the generation of the dial under way (started by 's')
};

// Events, separated by spaces:
//   r<N>     a resolution gives N addresses, the last connected one not among them
//   r<N>k<I> a resolution gives N addresses, the last connected one at index I
//   R        a resolution fails
//   s        a dial starts (takes the current generation)
//   c<I>     that dial connected to address I
//   f        that dial failed at every address
//   w<S>     S seconds pass
void run(model& m, const std::string& script) {
  std::size_t i = 0;
  while (i < script.size()) {
    const std::size_t end = std::min(script.find(' ', i), script.size());
    const std::string e = script.substr(i, end - i);
    i = end + 1;
    if (e.empty()) continue;
    switch (e[0]) {
      case 'r': {
        const std::size_t k = e.find('k');
        const std::size_t n = std::stoul(e.substr(1, k == std::string::npos ? std::string::npos : k - 1));
        std::optional<std::size_t> kept;
        if (k != std::string::npos) kept = std::stoul(e.substr(k + 1));
        m.addresses.on_resolved(m.now, n, kept);
        break;
      }
      case 'R': m.addresses.on_resolve_failed(m.now); break;
      case 's': m.dial_generation = m.addresses.generation(); break;
      case 'c': m.addresses.on_connected(m.dial_generation, std::stoul(e.substr(1))); break;
      case 'f': m.addresses.on_dial_failed(m.dial_generation); break;
      case 'w': m.now += std::chrono::seconds{std::stol(e.substr(1))}; break;
      default: BOOST_FAIL("unknown event " << e);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dial_addresses)

BOOST_AUTO_TEST_CASE(when_to_resolve_again) {
  struct row {
    const char* name;
    std::string script;
    bool needs;
  };
  const std::vector<row> rows = {
      {"before anything", "", true},
      {"after a resolution", "r1", false},
      {"after a failed first resolution", "R", false},
      {"a dial connected", "r1 s c0", false},
      {"a dial failed", "r1 s f", true},
      {"a dial failed, then resolved again", "r1 s f r1", false},
      {"the failed dial had started before the last resolution", "r1 s r1 f", false},
      {"a dial failed, the resolution failed too", "r1 s f R", false},
      {"then a dial of the kept addresses fails again", "r1 s f R s f", true},
      {"29 s after the last resolution", "r1 w29", false},
      {"30 s after the last resolution", "r1 w30", true},
      {"30 s after a failed resolution attempt", "r1 w30 R w29", false},
      {"refresh: due again 30 s later", "r1 w30 r1 w30", true},
      {"failed dials across a refresh ask once each", "r1 s w30 r2 f", false},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      model m;
      run(m, r.script);
      BOOST_TEST(m.addresses.needs_resolution(m.now) == r.needs);
    }
  }
}

BOOST_AUTO_TEST_CASE(which_address_first) {
  struct row {
    const char* name;
    std::string script;
    std::vector<std::size_t> order;  // pick(0), pick(1), ...
  };
  const std::vector<row> rows = {
      {"nothing resolved", "", {}},
      {"the resolver's order", "r3", {0, 1, 2}},
      {"the address that connected first, then the others", "r3 s c1", {1, 2, 0}},
      {"a failed dial keeps the order", "r3 s c2 s f", {2, 0, 1}},
      {"a failed resolution keeps the list and the order", "r3 s c2 R", {2, 0, 1}},
      {"a new list that still has it", "r3 s c2 r4k3", {3, 0, 1, 2}},
      {"a new list without it", "r3 s c2 r2", {0, 1}},
      {"a connect from an older generation does not move it", "r3 s r3 c2", {0, 1, 2}},
      {"an index past the list is ignored", "r2 s c5", {0, 1}},
      {"kept past the list is ignored", "r2k7", {0, 1}},
      {"no address is a failed resolution", "r2 s c1 r0", {1, 0}},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      model m;
      run(m, r.script);
      BOOST_TEST(m.addresses.count() == r.order.size());
      std::vector<std::size_t> order;
      for (std::size_t k = 0; k < m.addresses.count(); ++k) order.push_back(m.addresses.pick(k));
      BOOST_TEST(order == r.order, boost::test_tools::per_element());
    }
  }
}

// The failover of issue 15 item 2, as the pool lives it: the name moves while the old address dies.
// Each probe's dial whose addresses failed makes the next dial resolve first, so no two dials in a row
// fail on addresses that were not resolved afresh.
BOOST_AUTO_TEST_CASE(every_failed_dial_is_followed_by_a_fresh_resolution) {
  model m;
  run(m, "r1 s c0 w5");
  int resolutions = 1;
  for (int probe = 0; probe < 10; ++probe) {
    BOOST_TEST_CONTEXT("probe " << probe) {
      BOOST_TEST(m.addresses.needs_resolution(m.now) == (probe != 0));
      if (m.addresses.needs_resolution(m.now)) {
        run(m, "r1");
        ++resolutions;
      }
      run(m, "s f w1");
    }
  }
  BOOST_TEST(resolutions == 10);
}

BOOST_AUTO_TEST_SUITE_END()
