// fault_plan: probabilities honoured over many draws with a fixed seed; per-hash faults exact.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <map>
#include <vector>

#include "keyrevoke/mock/fault_plan.hpp"

using namespace keyrevoke::mock;
using keyrevoke::core::key_hash;

namespace {

key_hash hash_of(std::uint8_t b) {
  key_hash h{};
  h.fill(b);
  return h;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fault_plan_suite)

BOOST_AUTO_TEST_CASE(probabilities_are_roughly_honoured) {
  struct row {
    double p500, preset, phang;
  };
  const row rows[] = {{0.05, 0, 0}, {0, 0.1, 0}, {0, 0, 0.02}, {0.03, 0.02, 0.01}, {0.5, 0.25, 0.25}};
  constexpr int draws = 10'000;
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("p500 " << r.p500 << " preset " << r.preset << " phang " << r.phang) {
      fault_plan plan(r.p500, r.preset, r.phang, 0, latency_dist::fixed, 12345);
      std::map<fault, int> seen;
      for (int i = 0; i < draws; ++i) ++seen[plan.decide(nullptr).kind];
      // Within 5 standard deviations of the expected count (plus 3 for tiny probabilities).
      const auto close = [&](fault f, double p) {
        const double expected = p * draws;
        const double tolerance = 5 * std::sqrt(draws * p * (1 - p)) + 3;
        BOOST_TEST_CONTEXT(to_string(f) << " seen " << seen[f] << " expected " << expected) {
          BOOST_TEST(std::abs(seen[f] - expected) <= tolerance);
        }
      };
      close(fault::status_500, r.p500);
      close(fault::reset, r.preset);
      close(fault::hang, r.phang);
      BOOST_TEST(seen[fault::status_400] == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(same_seed_same_sequence) {
  fault_plan a(0.2, 0.2, 0.2, 10, latency_dist::lognormal, 99);
  fault_plan b(0.2, 0.2, 0.2, 10, latency_dist::lognormal, 99);
  fault_plan c(0.2, 0.2, 0.2, 10, latency_dist::lognormal, 100);
  int differences_with_other_seed = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto x = a.decide(nullptr), y = b.decide(nullptr), z = c.decide(nullptr);
    BOOST_TEST_REQUIRE((x.kind == y.kind && x.latency == y.latency));
    differences_with_other_seed += (x.kind != z.kind || x.latency != z.latency) ? 1 : 0;
  }
  BOOST_TEST(differences_with_other_seed > 500);
}

BOOST_AUTO_TEST_CASE(per_hash_faults_are_exact) {
  fault_plan plan(0, 0, 0, 0, latency_dist::fixed, 1);
  plan.add_hash_fault(hash_of(1), {fault::status_500, 1});
  plan.add_hash_fault(hash_of(2), {fault::status_500, -1});  // always500
  plan.add_hash_fault(hash_of(3), {fault::status_400, -1});
  plan.add_hash_fault(hash_of(4), {fault::reset, 2});
  plan.add_hash_fault(hash_of(5), {fault::hang, 1});
  BOOST_TEST(plan.active());
  struct row {
    std::uint8_t hash;
    std::vector<fault> sequence;
  };
  using enum fault;
  const row rows[] = {
      {1, {status_500, none, none}},
      {2, {status_500, status_500, status_500, status_500}},
      {3, {status_400, status_400}},
      {4, {reset, reset, none}},
      {5, {hang, none}},
      {6, {none, none}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("hash byte " << int{r.hash}) {
      const auto h = hash_of(r.hash);
      for (std::size_t i = 0; i < r.sequence.size(); ++i) {
        BOOST_TEST_CONTEXT("request " << i) { BOOST_TEST((plan.decide(&h).kind == r.sequence[i])); }
      }
    }
  }
  BOOST_TEST((plan.decide(nullptr).kind == fault::none));
}

BOOST_AUTO_TEST_CASE(fault_file_lines) {
  const std::string h(64, 'a');
  struct row {
    std::string line;
    bool entry;
    fault kind;
    std::int64_t times;
  };
  const row rows[] = {
      {h + " 500", true, fault::status_500, 1},      {h + " always500", true, fault::status_500, -1},
      {h + " 400", true, fault::status_400, -1},     {h + "\treset", true, fault::reset, 1},
      {"  " + h + "  hang  ", true, fault::hang, 1}, {h + " 500 3", true, fault::status_500, 3},
      {h + " 400 3", true, fault::status_400, -1},   {h + " ghost", true, fault::ghost, -1},
      {h + " ghost 2", true, fault::ghost, 2},       {h + " lost", true, fault::lost, 1},
      {h + " lost 3", true, fault::lost, 3},         {"", false, fault::none, 0},
      {"# comment", false, fault::none, 0},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("line \"" << r.line << "\"") {
      const auto parsed = parse_fault_line(r.line);
      BOOST_TEST(parsed.has_value() == r.entry);
      if (parsed && r.entry) {
        BOOST_TEST((parsed->second.kind == r.kind));
        BOOST_TEST(parsed->second.times == r.times);
      }
    }
  }
  const std::vector<std::string> bad_lines = {h + " 503",     h,
                                              "xyz 500",      h + " 500 0",
                                              h + " 500 1 2", h.substr(1) + " 500",
                                              h + " ghost 0", h + " ghost x",
                                              h + " ghosts",  h + " lost 0",
                                              h + " lost -1", h + " Lost"};
  for (const auto& bad : bad_lines) {
    BOOST_TEST_CONTEXT("bad line \"" << bad << "\"") { BOOST_CHECK_THROW(parse_fault_line(bad), std::invalid_argument); }
  }
}

BOOST_AUTO_TEST_CASE(latency_distributions) {
  struct row {
    latency_dist dist;
    double median_low, median_high;  // of the draws, in ms, for --latency-ms 50
    double p99_low, p99_high;
  };
  const row rows[] = {
      {latency_dist::fixed, 50, 50, 50, 50},
      {latency_dist::exp, 30, 40, 200, 260},           // median 50 ln 2 = 34.7, p99 50 ln 100 = 230
      {latency_dist::lognormal, 45, 55, 400, 620},     // median 50, p99 50 e^2.326 = 512
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(to_string(r.dist)) {
      fault_plan plan(0, 0, 0, 50, r.dist, 2024);
      std::vector<double> ms;
      for (int i = 0; i < 10'000; ++i) ms.push_back(static_cast<double>(plan.decide(nullptr).latency.count()) / 1000.0);
      std::sort(ms.begin(), ms.end());
      const double median = ms[ms.size() / 2], p99 = ms[ms.size() * 99 / 100];
      BOOST_TEST_CONTEXT("median " << median << " p99 " << p99) {
        BOOST_TEST(median >= r.median_low);
        BOOST_TEST(median <= r.median_high);
        BOOST_TEST(p99 >= r.p99_low);
        BOOST_TEST(p99 <= r.p99_high);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(probabilities_over_one_are_rejected) {
  BOOST_CHECK_THROW(fault_plan(0.5, 0.4, 0.2, 0, latency_dist::fixed, 1), std::invalid_argument);
  BOOST_TEST(!fault_plan(0, 0, 0, 0, latency_dist::fixed, 1).active());
}

BOOST_AUTO_TEST_CASE(ghost_writes_per_hash) {
  fault_plan plan(0, 0, 0, 0, latency_dist::fixed, 1);
  plan.add_hash_fault(hash_of(1), {fault::ghost, -1});
  plan.add_hash_fault(hash_of(2), {fault::ghost, 2});
  plan.add_hash_fault(hash_of(3), {fault::status_500, 1});
  plan.add_hash_fault(hash_of(3), {fault::ghost, 1});  // its own table: both faults stay
  BOOST_TEST(plan.ghosts_active());
  BOOST_TEST(plan.hash_fault_count() == 4u);
  struct row {
    std::uint8_t hash;
    std::vector<bool> ghosts;
  };
  const row rows[] = {
      {1, {true, true, true, true}},
      {2, {true, true, false, false}},
      {3, {true, false}},
      {4, {false, false}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("hash byte " << int{r.hash}) {
      const auto h = hash_of(r.hash);
      // decide() (what every request meets, GETs included) neither reports nor consumes a ghost.
      BOOST_TEST((plan.decide(&h).kind != fault::ghost));
      for (std::size_t i = 0; i < r.ghosts.size(); ++i) {
        BOOST_TEST_CONTEXT("write " << i) { BOOST_TEST(plan.take_ghost(h) == r.ghosts[i]); }
      }
    }
  }
  const auto h3 = hash_of(3);
  BOOST_TEST((plan.decide(&h3).kind == fault::none));  // the 500 was taken by the first decide()
  BOOST_TEST(!fault_plan(0, 0, 0, 0, latency_dist::fixed, 1).ghosts_active());
}

BOOST_AUTO_TEST_CASE(lost_answers_per_hash) {
  fault_plan plan(0, 0, 0, 0, latency_dist::fixed, 1);
  BOOST_TEST(!plan.losts_active());
  plan.add_hash_fault(hash_of(1), {fault::lost, 1});
  plan.add_hash_fault(hash_of(2), {fault::lost, 3});
  plan.add_hash_fault(hash_of(3), {fault::ghost, 1});
  plan.add_hash_fault(hash_of(3), {fault::lost, 1});  // its own table: the ghost stays
  BOOST_TEST(plan.losts_active());
  BOOST_TEST(plan.hash_fault_count() == 4u);
  struct row {
    std::uint8_t hash;
    std::vector<bool> lost;
  };
  const row rows[] = {
      {1, {true, false, false}},
      {2, {true, true, true, false}},
      {3, {true, false}},
      {4, {false, false}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("hash byte " << int{r.hash}) {
      const auto h = hash_of(r.hash);
      // decide() (every request) neither reports nor consumes a lost answer.
      BOOST_TEST((plan.decide(&h).kind == fault::none));
      for (std::size_t i = 0; i < r.lost.size(); ++i) {
        BOOST_TEST_CONTEXT("write " << i) { BOOST_TEST(plan.take_lost(h) == r.lost[i]); }
      }
    }
  }
  BOOST_TEST(plan.take_ghost(hash_of(3)));  // the ghost was not consumed by the lost answers
}

BOOST_AUTO_TEST_CASE(ghost_rate_is_seeded_and_roughly_honoured) {
  constexpr int draws = 10'000;
  const auto count_ghosts = [](double rate, std::uint64_t seed) {
    fault_plan plan(0, 0, 0, 0, latency_dist::fixed, seed);
    plan.set_ghost_rate(rate);
    std::vector<bool> seen;
    for (int i = 0; i < draws; ++i) seen.push_back(plan.take_ghost(hash_of(static_cast<std::uint8_t>(i))));
    return seen;
  };
  for (const double rate : {0.0, 0.01, 0.25, 1.0}) {
    BOOST_TEST_CONTEXT("rate " << rate) {
      const auto a = count_ghosts(rate, 7);
      const auto n = std::count(a.begin(), a.end(), true);
      const double expected = rate * draws;
      BOOST_TEST(std::abs(static_cast<double>(n) - expected) <= 5 * std::sqrt(draws * rate * (1 - rate)) + 3);
      BOOST_TEST((a == count_ghosts(rate, 7)));
    }
  }
  BOOST_TEST((count_ghosts(0.5, 7) != count_ghosts(0.5, 8)));
  // Ghosts at rate 0 draw nothing: the fault sequence of a seed is what it was before ghosts.
  fault_plan with(0.3, 0, 0, 0, latency_dist::fixed, 5), without(0.3, 0, 0, 0, latency_dist::fixed, 5);
  with.set_ghost_rate(0);
  for (int i = 0; i < 100; ++i) {
    BOOST_TEST_REQUIRE(!with.take_ghost(hash_of(1)));
    BOOST_TEST_REQUIRE((with.decide(nullptr).kind == without.decide(nullptr).kind));
  }
}

BOOST_AUTO_TEST_SUITE_END()
