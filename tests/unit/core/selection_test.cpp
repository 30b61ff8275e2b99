// The incident workflow's pure parts: PATCH/GET classification, --verify decisions, --shard,
// --plan digests, and the header, verify and summary rows with what --resume reads back from them.
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/report_reader.hpp"
#include "keyrevoke/core/report_row.hpp"
#include "keyrevoke/core/selection.hpp"
#include "keyrevoke/core/verdict.hpp"
#include "keyrevoke/core/verification.hpp"

namespace kc = keyrevoke::core;
namespace json = boost::json;
using namespace std::chrono;
using namespace std::chrono_literals;
using vk = kc::verdict_kind;
using rk = kc::request_kind;

namespace {

const system_clock::time_point now = sys_days{2026y / November / 27} + 12h;

kc::verdict answer(unsigned status, std::string_view body, rk request) {
  return kc::classify_response({status, body, {}}, now, 60s, request);
}

kc::key_hash random_hash(std::mt19937_64& rng) {
  kc::key_hash h{};
  for (auto& byte : h) byte = static_cast<std::uint8_t>(rng());
  return h;
}

const std::string disabled_key = R"({"data":{"hash":"ab","name":"ci","disabled":true,"usage":0}})";
const std::string enabled_key = R"({"data":{"hash":"ab","name":"ci","disabled":false,"usage":0}})";
// The API's own "no such key" (../shared/API.md), and what a wrong route answers instead.
const std::string api_not_found =
    R"({"error":{"code":404,"message":"Key not found","metadata":null},"modelgates_metadata":null,"user_id":null})";
const std::string route_not_found = "<html><head><title>404 Not Found</title></head><body>nginx</body></html>";

}  // namespace

BOOST_AUTO_TEST_SUITE(incident)

BOOST_AUTO_TEST_CASE(actions_have_stable_names) {
  for (const kc::action a : {kc::action::delete_key, kc::action::disable, kc::action::enable}) {
    BOOST_TEST((kc::action_from_string(kc::to_string(a)) == a));
  }
  BOOST_TEST(kc::to_string(kc::action::delete_key) == "delete");
  BOOST_TEST(!kc::action_from_string("Delete"));
  BOOST_TEST(!kc::action_from_string(""));
  BOOST_TEST(kc::to_string(kc::outcome::protected_key) == "protected");
  BOOST_TEST((kc::outcome_from_string("disabled") == kc::outcome::disabled));
  BOOST_TEST(kc::is_done(kc::outcome::disabled));
  BOOST_TEST(kc::is_done(kc::outcome::enabled));
  BOOST_TEST(!kc::is_done(kc::outcome::protected_key));
}

BOOST_AUTO_TEST_CASE(patch_answers_must_show_the_asked_for_state) {
  BOOST_TEST((answer(200, disabled_key, rk::disable).kind == vk::disabled));
  BOOST_TEST((answer(200, enabled_key, rk::enable).kind == vk::enabled));
  // The API answers a PATCH 200 with the key: a 204 shows no state.
  BOOST_TEST((answer(204, "", rk::disable).kind == vk::not_api));
  BOOST_TEST((answer(204, "", rk::enable).kind == vk::not_api));
  // A 200 that shows the other state, or no key, is not proof: retryable server_error.
  const kc::verdict wrong = answer(200, enabled_key, rk::disable);
  BOOST_TEST((wrong.kind == vk::server_error));
  BOOST_TEST(wrong.message.find("disabled") != std::string::npos);
  BOOST_TEST((answer(200, R"({"deleted":true})", rk::disable).kind == vk::server_error));
  BOOST_TEST((answer(200, R"({"data":{"disabled":"true"}})", rk::disable).kind == vk::server_error));
  BOOST_TEST((answer(200, "not json", rk::enable).kind == vk::server_error));
  // A DELETE's 200 is not a PATCH's, and the other way round.
  BOOST_TEST((answer(200, disabled_key, rk::delete_key).kind == vk::server_error));
  BOOST_TEST((answer(404, api_not_found, rk::disable).kind == vk::not_found));
  // A 404 that is not the API's proves nothing about the key.
  for (const rk request : {rk::disable, rk::enable}) {
    for (const std::string& body : {std::string{}, route_not_found, std::string{R"({"error":"not found"})"}}) {
      BOOST_TEST_CONTEXT(body) {
        const kc::verdict v = answer(404, body, request);
        BOOST_TEST((v.kind == vk::not_api));
        BOOST_TEST(kc::is_retryable(v.kind));
        BOOST_TEST(v.message.find("check --base-url") != std::string::npos);
      }
    }
  }
  BOOST_TEST((answer(429, "", rk::enable).kind == vk::throttled));
  BOOST_TEST((answer(401, "", rk::disable).kind == vk::unauthorized));
}

BOOST_AUTO_TEST_CASE(get_answers_say_what_the_server_holds) {
  const kc::verdict d = answer(200, disabled_key, rk::get);
  BOOST_TEST((d.kind == vk::present));
  BOOST_TEST(d.key_disabled);
  const kc::verdict e = answer(200, enabled_key, rk::get);
  BOOST_TEST((e.kind == vk::present));
  BOOST_TEST(!e.key_disabled);
  BOOST_TEST((kc::observed(d) == kc::observed_state::disabled));
  BOOST_TEST((kc::observed(e) == kc::observed_state::enabled));
  BOOST_TEST((kc::observed(answer(404, api_not_found, rk::get)) == kc::observed_state::gone));
  // A non-API 404 is never a proof of "gone".
  BOOST_TEST((kc::observed(answer(404, "", rk::get)) == kc::observed_state::unknown));
  BOOST_TEST((kc::observed(answer(404, route_not_found, rk::get)) == kc::observed_state::unknown));
  BOOST_TEST((kc::observed(answer(410, "Gone", rk::get)) == kc::observed_state::unknown));
  // No proof either way: a 204, an empty or odd body, a 5xx.
  BOOST_TEST((answer(204, "", rk::get).kind == vk::not_api));
  BOOST_TEST((answer(200, R"({"data":[]})", rk::get).kind == vk::server_error));
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

BOOST_AUTO_TEST_CASE(header_verify_and_summary_rows_are_json) {
  const std::array<kc::input_fingerprint, 2> inputs{{{"leak \"1\".txt", "abc123"}, {"-", ""}}};
  std::string out;
  kc::append_row(out, kc::header_row{"0.3.0", "2026-11-27T21:10:14Z", "alice", "disable", "modelgates.ai",
                                     "https://modelgates.ai/api/v1", inputs, "sha256:00", "2/3", "", 16, 0.0, 8, 30.0, true, false, 4242});
  BOOST_REQUIRE(out.back() == '\n');
  const json::object header = json::parse(out).as_object();
  BOOST_TEST(header.at("type").as_string() == "header");
  BOOST_TEST(header.at("action").as_string() == "disable");
  BOOST_TEST(header.at("operator").as_string() == "alice");
  BOOST_TEST(header.at("base_url").as_string() == "https://modelgates.ai/api/v1");
  BOOST_TEST(header.at("inputs").as_array().size() == 2U);
  BOOST_TEST(header.at("inputs").as_array()[0].as_object().at("name").as_string() == "leak \"1\".txt");
  BOOST_TEST(header.at("inputs").as_array()[1].as_object().at("sha256").is_null());
  BOOST_TEST(header.at("shard").as_string() == "2/3");
  BOOST_TEST(header.at("protect").is_null());
  BOOST_TEST(header.at("options").as_object().at("rate").is_null());
  BOOST_TEST(header.at("options").as_object().at("verify").as_bool());
  BOOST_TEST(header.at("pid").as_int64() == 4242);

  out.clear();
  kc::key_hash h{};
  h.fill(0xcd);
  kc::append_row(out, kc::verify_row{h, kc::verify_outcome::mismatch, kc::observed_state::enabled, 200, 3, 12.34, ""});
  const json::object verify = json::parse(out).as_object();
  BOOST_TEST(verify.at("type").as_string() == "verify");
  BOOST_TEST(verify.at("hash").as_string() == kc::to_hex(h));
  BOOST_TEST(verify.at("outcome").as_string() == "mismatch");
  BOOST_TEST(verify.at("observed").as_string() == "enabled");
  BOOST_TEST(verify.at("error").is_null());
  out.clear();
  kc::append_row(out, kc::verify_row{h, kc::verify_outcome::failed, kc::observed_state::unknown, 0, 1, 1.0, "timeout"});
  BOOST_TEST(json::parse(out).as_object().at("observed").is_null());
  BOOST_TEST(json::parse(out).as_object().at("http_status").is_null());

  out.clear();
  const std::array<std::pair<std::string_view, std::uint64_t>, 2> counts{{{"deleted", 5}, {"failed", 0}}};
  kc::append_row(out, kc::summary_row{"2026-11-27T21:11:00Z", 1, 46.0, counts});
  const json::object summary = json::parse(out).as_object();
  BOOST_TEST(summary.at("exit_code").as_int64() == 1);
  BOOST_TEST(summary.at("counts").as_object().at("deleted").as_int64() == 5);

  out.clear();
  const std::array<std::pair<std::string_view, std::uint64_t>, 2> plan_counts{{{"selected", 295}, {"protected", 5}}};
  kc::append_row(out, kc::plan_row{"sha256:ab", "delete", "h:1", "https://h:1/api/v1", inputs, "", plan_counts});
  BOOST_REQUIRE(out.back() == '\n');
  const json::object plan = json::parse(out).as_object();
  BOOST_TEST(plan.at("plan").as_string() == "keyrevoke-plan-v2");
  BOOST_TEST(plan.at("base_url").as_string() == "https://h:1/api/v1");
  BOOST_TEST(plan.at("digest").as_string() == "sha256:ab");
  BOOST_TEST(plan.at("inputs").as_array().size() == 2U);
  BOOST_TEST(plan.at("shard").is_null());
  BOOST_TEST(plan.at("counts").as_object().at("selected").as_int64() == 295);

  BOOST_TEST(kc::format_utc(system_clock::time_point{} + 86400s + 3661s) == "1970-01-02T01:01:01Z");
}

BOOST_AUTO_TEST_CASE(resume_reads_the_action_and_the_proofs) {
  kc::key_hash a{}, b{}, c{};
  a.fill(1);
  b.fill(2);
  c.fill(3);
  std::string report;
  const std::array<kc::input_fingerprint, 1> inputs{{{"-", ""}}};
  const kc::header_row header{"0.3.0", "t", "", "disable", "h", "https://h", inputs, "", "", "", 1, 0.0, 1, 1.0, true, false, 1};
  kc::append_row(report, header);
  kc::append_row(report, kc::hash_row{a, kc::outcome::disabled, 200, 1, 1.0, ""});
  kc::append_row(report, kc::hash_row{b, kc::outcome::not_found, 404, 1, 1.0, ""});
  kc::append_row(report, kc::hash_row{c, kc::outcome::protected_key, 0, 0, 0.0, ""});
  kc::append_row(report, kc::verify_row{a, kc::verify_outcome::verified, kc::observed_state::disabled, 200, 1, 1.0, ""});
  kc::append_row(report, kc::verify_row{b, kc::verify_outcome::failed, kc::observed_state::unknown, 0, 8, 1.0, "x"});
  const std::array<std::pair<std::string_view, std::uint64_t>, 1> counts{{{"disabled", 1}}};
  kc::append_row(report, kc::summary_row{"t", 0, 1.0, counts});
  report += R"({"type":"verify","hash":"zz","outcome":"verified"})" "\n";   // ignored, not malformed
  report += R"({"type":7})" "\n";                                            // malformed

  kc::report_reader reader;
  reader.feed(report);
  const kc::resume_scan scan = reader.finish();
  BOOST_TEST(scan.action == "disable");
  BOOST_TEST(scan.headers == 1U);
  BOOST_TEST(!scan.mixed_actions);
  BOOST_TEST(scan.done.contains(a));
  BOOST_TEST(scan.done.contains(b));
  BOOST_TEST(!scan.done.contains(c));  // protected is re-decided by each run
  BOOST_TEST(scan.verified.contains(a));
  BOOST_TEST(!scan.verified.contains(b));
  BOOST_TEST(scan.rows == 8U);
  BOOST_TEST(scan.malformed_rows == 1U);

  std::string two = report;
  const kc::header_row other{"0.3.0", "t", "", "delete", "h", "https://h", inputs, "", "", "", 1, 0.0, 1, 1.0, false, true, 1};
  kc::append_row(two, other);
  kc::report_reader again;
  again.feed(two);
  const kc::resume_scan mixed = again.finish();
  BOOST_TEST(mixed.headers == 2U);
  BOOST_TEST(mixed.mixed_actions);
  BOOST_TEST(mixed.action == "disable");
}

BOOST_AUTO_TEST_SUITE_END()
