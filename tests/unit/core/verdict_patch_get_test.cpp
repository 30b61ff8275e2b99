// core/verdict's classify_response for the PATCH (--disable/--enable) and GET (--verify) answers.
// These cases belong in verdict_test.cpp (they came from the old incident_test.cpp). They sit in their
// own file only so that this change does not edit verdict_test.cpp while verdict.cpp is being reworked
// on another branch: fold them into verdict_test.cpp once that work is merged, then delete this file.
#include "keyrevoke/core/verdict.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

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

const std::string disabled_key = R"({"data":{"hash":"ab","name":"ci","disabled":true,"usage":0}})";
const std::string enabled_key = R"({"data":{"hash":"ab","name":"ci","disabled":false,"usage":0}})";
// The API's own "no such key" (../shared/API.md), and what a wrong route answers instead.
const std::string api_not_found =
    R"({"error":{"code":404,"message":"Key not found","metadata":null},"modelgates_metadata":null,"user_id":null})";
const std::string route_not_found = "<html><head><title>404 Not Found</title></head><body>nginx</body></html>";

}  // namespace

BOOST_AUTO_TEST_SUITE(verdict_patch_and_get)

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

BOOST_AUTO_TEST_CASE(get_answers_show_the_key_or_prove_nothing) {
  const kc::verdict d = answer(200, disabled_key, rk::get);
  BOOST_TEST((d.kind == vk::present));
  BOOST_TEST(d.key_disabled);
  const kc::verdict e = answer(200, enabled_key, rk::get);
  BOOST_TEST((e.kind == vk::present));
  BOOST_TEST(!e.key_disabled);
  // No proof either way: a 204, an empty or odd body.
  BOOST_TEST((answer(204, "", rk::get).kind == vk::not_api));
  BOOST_TEST((answer(200, R"({"data":[]})", rk::get).kind == vk::server_error));
}

BOOST_AUTO_TEST_SUITE_END()
