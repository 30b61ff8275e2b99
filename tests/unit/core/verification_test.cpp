// --verify (core/verification): what a verifying GET observed, whether it proves the action, and the
// plan after each check (retry a lagging state, then call it a mismatch). Answers are real verdicts
// from core::classify_response; fixed uniform draws, no clock.
#include "keyrevoke/core/verification.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

#include "api_bodies.hpp"

namespace kc = keyrevoke::core;
using namespace std::chrono;
using namespace std::chrono_literals;
using vk = kc::verdict_kind;
using rk = kc::request_kind;

namespace {

const system_clock::time_point now = sys_days{2026y / November / 27} + 12h;

kc::verdict answer(unsigned status, std::string_view body, rk request) {
  return kc::classify_response({status, body, {}}, now, 60s, request);
}

using keyrevoke::test::api_not_found;
using keyrevoke::test::disabled_key;
using keyrevoke::test::enabled_key;
using keyrevoke::test::route_not_found;

}  // namespace

BOOST_AUTO_TEST_SUITE(verification)

BOOST_AUTO_TEST_CASE(get_answers_say_what_the_server_holds) {
  const kc::verdict d = answer(200, disabled_key, rk::get);
  const kc::verdict e = answer(200, enabled_key, rk::get);
  BOOST_TEST((kc::observed(d) == kc::observed_state::disabled));
  BOOST_TEST((kc::observed(e) == kc::observed_state::enabled));
  BOOST_TEST((kc::observed(answer(404, api_not_found, rk::get)) == kc::observed_state::gone));
  // A non-API 404 is never a proof of "gone".
  BOOST_TEST((kc::observed(answer(404, "", rk::get)) == kc::observed_state::unknown));
  BOOST_TEST((kc::observed(answer(404, route_not_found, rk::get)) == kc::observed_state::unknown));
  BOOST_TEST((kc::observed(answer(410, "Gone", rk::get)) == kc::observed_state::unknown));
  // No proof either way: a 5xx.
  BOOST_TEST((kc::observed(answer(500, "", rk::get)) == kc::observed_state::unknown));
}

BOOST_AUTO_TEST_CASE(what_proves_each_action) {
  using os = kc::observed_state;
  BOOST_TEST(kc::proves(kc::action::delete_key, os::gone));
  BOOST_TEST(!kc::proves(kc::action::delete_key, os::disabled));
  BOOST_TEST(!kc::proves(kc::action::delete_key, os::enabled));
  BOOST_TEST(kc::proves(kc::action::disable, os::disabled));
  BOOST_TEST(kc::proves(kc::action::disable, os::gone));
  BOOST_TEST(!kc::proves(kc::action::disable, os::enabled));
  BOOST_TEST(kc::proves(kc::action::enable, os::enabled));
  BOOST_TEST(!kc::proves(kc::action::enable, os::disabled));
  // A key enabled, then gone, was not kept enabled; gone proves only an enable that found no key.
  BOOST_TEST(!kc::proves(kc::action::enable, os::gone));
  BOOST_TEST(kc::proves(kc::action::enable, os::gone, true));
  BOOST_TEST(!kc::proves(kc::action::enable, os::disabled, true));
  BOOST_TEST(kc::proves(kc::action::delete_key, os::gone, true));
  BOOST_TEST(kc::proves(kc::action::disable, os::gone, true));
  for (const kc::action a : {kc::action::delete_key, kc::action::disable, kc::action::enable}) {
    BOOST_TEST(!kc::proves(a, os::unknown));
  }
}

BOOST_AUTO_TEST_CASE(verification_retries_a_lagging_state_then_calls_it_a_mismatch) {
  const kc::backoff_policy policy;
  const kc::verdict still_there = answer(200, enabled_key, rk::get);
  for (unsigned attempt = 1; attempt < 4; ++attempt) {
    const kc::verify_step step = kc::plan_after_check(kc::action::delete_key, still_there, false, attempt, 4, policy, 0.5);
    BOOST_TEST(step.retry);
    BOOST_TEST(step.delay.count() <= kc::full_jitter_delay(policy, attempt, 1.0).count());
  }
  const kc::verify_step last = kc::plan_after_check(kc::action::delete_key, still_there, false, 4, 4, policy, 0.5);
  BOOST_TEST(!last.retry);
  BOOST_TEST((last.result == kc::verify_outcome::mismatch));
  BOOST_TEST((last.seen == kc::observed_state::enabled));

  const kc::verify_step gone =
      kc::plan_after_check(kc::action::delete_key, answer(404, api_not_found, rk::get), false, 1, 4, policy, 0.5);
  BOOST_TEST(!gone.retry);
  BOOST_TEST((gone.result == kc::verify_outcome::verified));
  BOOST_TEST((gone.seen == kc::observed_state::gone));
  // A wrong route's 404 is retried, then fails: never "verified".
  for (const kc::action done : {kc::action::delete_key, kc::action::disable, kc::action::enable}) {
    const kc::verdict route = answer(404, route_not_found, rk::get);
    const kc::verify_step again = kc::plan_after_check(done, route, false, 1, 4, policy, 0.5);
    BOOST_TEST(again.retry);
    BOOST_TEST((again.seen == kc::observed_state::unknown));
    const kc::verify_step spent_on_route = kc::plan_after_check(done, route, false, 4, 4, policy, 0.5);
    BOOST_TEST(!spent_on_route.retry);
    BOOST_TEST((spent_on_route.result == kc::verify_outcome::failed));
  }

  // Failures follow the ordinary retry rules and end "failed", with nothing observed.
  const kc::verdict busy = answer(503, "", rk::get);
  BOOST_TEST(kc::plan_after_check(kc::action::disable, busy, false, 1, 3, policy, 0.5).retry);
  const kc::verify_step spent = kc::plan_after_check(kc::action::disable, busy, false, 3, 3, policy, 0.5);
  BOOST_TEST(!spent.retry);
  BOOST_TEST((spent.result == kc::verify_outcome::failed));
  BOOST_TEST((spent.seen == kc::observed_state::unknown));
  const kc::verify_step bad = kc::plan_after_check(kc::action::disable, answer(400, "", rk::get), false, 1, 3, policy, 0.5);
  BOOST_TEST(!bad.retry);
  BOOST_TEST((bad.result == kc::verify_outcome::failed));
  // A hinted 429 waits at least the hint.
  const kc::verdict slow = kc::classify_response({429, "", {"7", "", ""}}, now, 60s, rk::get);
  const kc::verify_step hinted = kc::plan_after_check(kc::action::enable, slow, false, 1, 3, policy, 0.0);
  BOOST_TEST(hinted.retry);
  BOOST_TEST(hinted.delay.count() >= 7000);
}

BOOST_AUTO_TEST_CASE(only_a_shown_key_or_the_apis_not_found_is_observed) {
  // observed() reads the verdict alone: every kind but present and not_found says nothing about the
  // key, whatever its key_disabled field holds.
  struct row {
    vk kind;
    bool key_disabled;
    kc::observed_state expected;
  };
  const row rows[] = {
      {vk::present, true, kc::observed_state::disabled},
      {vk::present, false, kc::observed_state::enabled},
      {vk::not_found, false, kc::observed_state::gone},
      {vk::not_found, true, kc::observed_state::gone},
      {vk::deleted, false, kc::observed_state::unknown},
      {vk::disabled, true, kc::observed_state::unknown},
      {vk::enabled, false, kc::observed_state::unknown},
      {vk::not_api, true, kc::observed_state::unknown},
      {vk::server_error, true, kc::observed_state::unknown},
      {vk::throttled, false, kc::observed_state::unknown},
      {vk::client_error, false, kc::observed_state::unknown},
      {vk::unauthorized, false, kc::observed_state::unknown},
      {vk::network_error, false, kc::observed_state::unknown},
      {vk::timeout, false, kc::observed_state::unknown},
      {vk::tls_error, false, kc::observed_state::unknown},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(kc::to_string(r.kind) << " key_disabled " << r.key_disabled) {
      kc::verdict v{};
      v.kind = r.kind;
      v.key_disabled = r.key_disabled;
      BOOST_TEST((kc::observed(v) == r.expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(proof_table) {
  // verification.hpp: delete -> gone; disable -> disabled or gone (contained either way); enable ->
  // enabled, or gone only when the enable itself found no key (its row said not_found). unknown proves
  // nothing.
  using os = kc::observed_state;
  struct row {
    kc::action done;
    os seen;
    bool proved;                // the action found the key (its row: deleted, disabled, enabled)
    bool proved_if_not_found;   // its row said not_found
  };
  const row rows[] = {
      {kc::action::delete_key, os::gone, true, true},      {kc::action::delete_key, os::disabled, false, false},
      {kc::action::delete_key, os::enabled, false, false}, {kc::action::delete_key, os::unknown, false, false},
      {kc::action::disable, os::gone, true, true},         {kc::action::disable, os::disabled, true, true},
      {kc::action::disable, os::enabled, false, false},    {kc::action::disable, os::unknown, false, false},
      {kc::action::enable, os::gone, false, true},         {kc::action::enable, os::disabled, false, false},
      {kc::action::enable, os::enabled, true, true},       {kc::action::enable, os::unknown, false, false},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(kc::to_string(r.done) << " seen " << kc::to_string(r.seen)) {
      BOOST_TEST(kc::proves(r.done, r.seen) == r.proved);
      BOOST_TEST(kc::proves(r.done, r.seen, false) == r.proved);
      BOOST_TEST(kc::proves(r.done, r.seen, true) == r.proved_if_not_found);
    }
  }
}

BOOST_AUTO_TEST_CASE(names_in_the_verify_rows) {
  struct state_row {
    kc::observed_state value;
    std::string name;
  };
  const state_row states[] = {
      {kc::observed_state::unknown, "unknown"},
      {kc::observed_state::gone, "gone"},
      {kc::observed_state::disabled, "disabled"},
      {kc::observed_state::enabled, "enabled"},
  };
  for (const state_row& r : states) {
    BOOST_TEST_CONTEXT(r.name) { BOOST_TEST(kc::to_string(r.value) == r.name); }
  }
  struct outcome_row {
    kc::verify_outcome value;
    std::string name;
  };
  const outcome_row outcomes[] = {
      {kc::verify_outcome::verified, "verified"},
      {kc::verify_outcome::mismatch, "mismatch"},
      {kc::verify_outcome::failed, "failed"},
      {kc::verify_outcome::not_attempted, "not_attempted"},
  };
  for (const outcome_row& r : outcomes) {
    BOOST_TEST_CONTEXT(r.name) { BOOST_TEST(kc::to_string(r.value) == r.name); }
  }
}

BOOST_AUTO_TEST_SUITE_END()
