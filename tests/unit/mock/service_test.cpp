// service: the request pipeline (auth -> cap -> bucket -> faults -> latency -> handler) and the
// routes, driven with a fake clock and no sockets.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "keyrevoke/mock/service.hpp"

using namespace keyrevoke::mock;
using keyrevoke::core::to_hex;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const unix_seconds today{std::chrono::sys_days{std::chrono::year{2025} / 1 / 10}.time_since_epoch()};
constexpr std::string_view good_auth = "Bearer secret-key";

struct fixture {
  std::unique_ptr<key_store> store = key_store::generate(300, 1, today);
  stats counters;
  fault_plan faults;
  std::unique_ptr<service> api;
  std::vector<key_hash> hashes = store->hashes_in_generation_order();
  clock_reading now{0ns, std::chrono::system_clock::time_point{today.time_since_epoch()} + 12h};

  explicit fixture(service_config config = {}, double latency_ms = 0)
      : faults(0, 0, 0, latency_ms, latency_dist::fixed, 1) {
    if (config.management_key.empty()) config.management_key = "secret-key";
    api = std::make_unique<service>(std::move(config), *store, counters, faults);
  }

  // One request through the whole pipeline, as the server runs it.
  reply call(http_method method, const std::string& target, std::string_view auth = good_auth,
             std::string_view body = {}, std::uint64_t in_flight = 1, admission* out_admission = nullptr) {
    reply r;
    const api_request req{method, target, auth, body};
    const auto a = api->admit(req, now, in_flight, r);
    if (a.step == next_step::proceed) api->execute(req, a, now, r);
    if (out_admission != nullptr) *out_admission = a;
    return r;
  }
  std::string key_path(std::size_t i) const { return "/api/v1/keys/" + to_hex(hashes[i]); }
};

json::object error_of(const reply& r) { return json::parse(r.body).as_object().at("error").as_object(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(service_suite)

BOOST_AUTO_TEST_CASE(routes_and_statuses) {
  fixture f;
  const std::string bad_upper = "/api/v1/keys/" + std::string(64, 'A');
  struct row {
    const char* name;
    http_method method;
    std::string target;
    std::string_view auth;
    unsigned status;
    const char* message;  // nullptr: not an error body
  };
  const row rows[] = {
      {"delete", http_method::delete_, f.key_path(0), good_auth, 200, nullptr},
      {"delete again", http_method::delete_, f.key_path(0), good_auth, 404, "Key not found"},
      {"get deleted", http_method::get, f.key_path(0), good_auth, 404, "Key not found"},
      {"get", http_method::get, f.key_path(1), good_auth, 200, nullptr},
      {"unknown hash", http_method::delete_, "/api/v1/keys/" + std::string(64, 'f'), good_auth, 404, "Key not found"},
      {"upper-case hash", http_method::delete_, bad_upper, good_auth, 400, nullptr},
      {"short hash", http_method::delete_, "/api/v1/keys/abc", good_auth, 400, nullptr},
      {"empty hash", http_method::delete_, "/api/v1/keys/", good_auth, 400, nullptr},
      {"list", http_method::get, "/api/v1/keys", good_auth, 200, nullptr},
      {"post list", http_method::post, "/api/v1/keys", good_auth, 405, "Method not allowed"},
      {"put key", http_method::put, f.key_path(1), good_auth, 405, "Method not allowed"},
      {"unknown route", http_method::get, "/api/v1/other", good_auth, 404, "Not found"},
      {"nested", http_method::get, f.key_path(1) + "/x", good_auth, 404, "Not found"},
      {"outside base", http_method::get, "/keys", good_auth, 404, "Not found"},
      {"no auth", http_method::delete_, f.key_path(2), "", 401, "Invalid management key"},
      {"wrong key", http_method::delete_, f.key_path(2), "Bearer secret-kez", 401, "Invalid management key"},
      {"no scheme", http_method::delete_, f.key_path(2), "secret-key", 401, "Invalid management key"},
      {"auth before routing", http_method::get, "/api/v1/other", "", 401, "Invalid management key"},
      {"bad offset", http_method::get, "/api/v1/keys?offset=x", good_auth, 400, "Invalid offset"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name << ": " << r.target) {
      const auto rep = f.call(r.method, r.target, r.auth);
      BOOST_TEST(rep.status == r.status);
      const auto doc = json::parse(rep.body).as_object();  // every answer is JSON
      if (r.status >= 400) {
        const auto& e = doc.at("error").as_object();
        BOOST_TEST(e.at("code").as_int64() == r.status);
        BOOST_TEST(e.at("metadata").is_null());
        BOOST_TEST(doc.at("modelgates_metadata").is_null());
        BOOST_TEST(doc.at("user_id").is_null());
        if (r.message != nullptr) BOOST_TEST(e.at("message").as_string() == r.message);
      }
      if (r.status == 405) BOOST_TEST(!rep.allow.empty());
    }
  }
  BOOST_TEST(f.call(http_method::delete_, f.key_path(3)).body == R"({"deleted":true})");
  BOOST_TEST(f.counters.auth_failures.load() == 4u);
  BOOST_TEST(f.counters.api_requests.load() == 20u);
}

BOOST_AUTO_TEST_CASE(error_body_is_byte_exact) {
  std::string body;
  write_error_body(body, 404, "Key not found");
  BOOST_TEST(body ==
             R"({"error":{"code":404,"message":"Key not found","metadata":null},"modelgates_metadata":null,"user_id":null})");
}

BOOST_AUTO_TEST_CASE(auth_failure_status_403) {
  service_config c;
  c.auth_failure_status = 403;
  fixture f(c);
  const auto rep = f.call(http_method::delete_, f.key_path(0), "Bearer nope");
  BOOST_TEST(rep.status == 403u);
  BOOST_TEST(error_of(rep).at("code").as_int64() == 403);
  BOOST_TEST(f.store->totals().deleted == 0u);
}

BOOST_AUTO_TEST_CASE(key_objects_and_listing) {
  fixture f;
  const auto got = json::parse(f.call(http_method::get, f.key_path(5)).body).as_object().at("data").as_object();
  for (const char* field : {"hash", "name", "label", "disabled", "limit", "usage", "created_at", "updated_at"})
    BOOST_TEST_CONTEXT(field) { BOOST_TEST(got.contains(field)); }
  BOOST_TEST(got.at("hash").as_string() == to_hex(f.hashes[5]));
  BOOST_TEST(got.at("name").as_string() == "key-000005");

  const auto page = [&](const std::string& query) {
    return json::parse(f.call(http_method::get, "/api/v1/keys" + query).body).as_object().at("data").as_array();
  };
  const auto disabled = f.store->totals().disabled;
  struct row {
    std::string query;
    std::size_t size;
  };
  const row rows[] = {
      {"", 100}, {"?offset=200&include_disabled=true", 100}, {"?include_disabled=true&offset=250", 50},
      {"?offset=200", 100 - disabled}, {"?offset=300&include_disabled=true", 0}, {"?offset=", 100},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("query " << r.query) { BOOST_TEST(page(r.query).size() == r.size); }
  }
}

BOOST_AUTO_TEST_CASE(patch_disables_and_enables) {
  fixture f;
  const auto target = f.store->list(0, false).front().hash;
  const auto path = "/api/v1/keys/" + to_hex(target);
  auto rep = f.call(http_method::patch, path, good_auth, R"({"disabled": true})");
  BOOST_TEST(rep.status == 200u);
  const auto data = json::parse(rep.body).as_object().at("data").as_object();
  BOOST_TEST(data.at("disabled").as_bool());
  BOOST_TEST(data.at("updated_at").as_string() == "2025-01-10T12:00:00Z");
  BOOST_TEST(f.store->get(target)->disabled);
  rep = f.call(http_method::patch, path, good_auth, R"({"disabled": false})");
  BOOST_TEST(!f.store->get(target)->disabled);
  for (const char* bad : {"", "{}", "[]", R"({"disabled":"yes"})", "{"}) {
    BOOST_TEST_CONTEXT("body " << bad) { BOOST_TEST(f.call(http_method::patch, path, good_auth, bad).status == 400u); }
  }
  f.call(http_method::delete_, path);
  BOOST_TEST(f.call(http_method::patch, path, good_auth, R"({"disabled": true})").status == 404u);
}

BOOST_AUTO_TEST_CASE(concurrency_cap) {
  service_config c;
  c.max_concurrent = 4;
  fixture f(c);
  struct row {
    std::uint64_t in_flight;
    unsigned status;
  };
  const row rows[] = {{1, 200}, {4, 200}, {5, 429}, {100, 429}};
  std::size_t i = 0;
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("in flight " << r.in_flight) {
      const auto rep = f.call(http_method::delete_, f.key_path(i++), good_auth, {}, r.in_flight);
      BOOST_TEST(rep.status == r.status);
      if (r.status == 429) {
        BOOST_TEST(error_of(rep).at("message").as_string() == "Rate limit exceeded");
        BOOST_TEST(rep.hint_header.empty());
      }
    }
  }
  BOOST_TEST(f.counters.concurrency_limited.load() == 2u);
  BOOST_TEST(f.store->totals().deleted == 2u);  // a 429 never reaches the store
}

BOOST_AUTO_TEST_CASE(token_bucket_429_with_hints) {
  struct row {
    retry_hint_mode mode;
    std::string_view header;
    std::string value;
  };
  const row rows[] = {
      {retry_hint_mode::seconds, "Retry-After", "1"},
      {retry_hint_mode::http_date, "Retry-After", "Fri, 10 Jan 2025 12:00:01 GMT"},
      {retry_hint_mode::reset_ms, "X-RateLimit-Reset", "1736510400100"},
      {retry_hint_mode::none, "", ""},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("mode " << to_string(r.mode)) {
      service_config c;
      c.rate = 10;
      c.burst = 2;
      c.retry_mode = r.mode;
      fixture f(c);
      BOOST_TEST(f.call(http_method::delete_, f.key_path(0)).status == 200u);
      BOOST_TEST(f.call(http_method::delete_, f.key_path(1)).status == 200u);
      const auto limited = f.call(http_method::delete_, f.key_path(2));
      BOOST_TEST(limited.status == 429u);
      BOOST_TEST(limited.hint_header == r.header);
      BOOST_TEST(limited.hint_value == r.value);
      BOOST_TEST(f.counters.rate_limited.load() == 1u);
      // 100 ms later one token is back.
      f.now.since_start += 100ms;
      BOOST_TEST(f.call(http_method::delete_, f.key_path(2)).status == 200u);
      BOOST_TEST(f.store->totals().deleted == 3u);
    }
  }
}

BOOST_AUTO_TEST_CASE(pipeline_order) {
  // Auth is checked before the bucket (a 401 takes no token), the bucket before faults.
  service_config c;
  c.rate = 1;
  c.burst = 1;
  fixture f(c);
  f.faults.add_hash_fault(f.hashes[0], {fault::status_500, -1});
  BOOST_TEST(f.call(http_method::delete_, f.key_path(0), "Bearer wrong").status == 401u);
  BOOST_TEST(f.call(http_method::delete_, f.key_path(0)).status == 500u);  // took the only token
  BOOST_TEST(f.call(http_method::delete_, f.key_path(0)).status == 429u);  // bucket before faults
  BOOST_TEST(f.counters.faults_500.load() == 1u);
  BOOST_TEST(f.store->counters(f.hashes[0]).value().delete_requests == 0u);  // faults stop before the store
}

BOOST_AUTO_TEST_CASE(faults_and_latency_become_steps) {
  fixture f;
  f.faults.add_hash_fault(f.hashes[0], {fault::reset, 1});
  f.faults.add_hash_fault(f.hashes[1], {fault::hang, 1});
  f.faults.add_hash_fault(f.hashes[2], {fault::status_400, -1});
  struct row {
    std::size_t key;
    next_step step;
    unsigned status;
  };
  const row rows[] = {
      {0, next_step::reset, 0}, {0, next_step::proceed, 200}, {1, next_step::hang, 0},
      {1, next_step::proceed, 200}, {2, next_step::respond, 400}, {2, next_step::respond, 400},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("key " << r.key) {
      admission a;
      const auto rep = f.call(http_method::delete_, f.key_path(r.key), good_auth, {}, 1, &a);
      BOOST_TEST((a.step == r.step));
      if (r.status != 0) BOOST_TEST(rep.status == r.status);
    }
  }
  BOOST_TEST(f.counters.resets.load() == 1u);
  BOOST_TEST(f.counters.hangs.load() == 1u);
  BOOST_TEST(f.counters.faults_400.load() == 2u);

  fixture slow({}, 25);
  admission a;
  slow.call(http_method::delete_, slow.key_path(0), good_auth, {}, 1, &a);
  BOOST_TEST((a.step == next_step::proceed));
  BOOST_TEST(a.delay.count() == 25'000);
  BOOST_TEST(slow.counters.delayed.load() == 1u);
}

BOOST_AUTO_TEST_CASE(admin_routes_need_no_auth_and_skip_limits) {
  service_config c;
  c.rate = 1;
  c.burst = 1;
  c.max_concurrent = 1;
  fixture f(c);
  f.call(http_method::delete_, f.key_path(0));
  f.call(http_method::delete_, f.key_path(0));  // 429: bucket empty
  const auto keys = json::parse(f.call(http_method::get, "/__admin/keys", "", {}, 50).body).as_object();
  BOOST_TEST(keys.at("remaining").to_number<std::uint64_t>() == 299u);
  BOOST_TEST(keys.at("deleted").to_number<std::uint64_t>() == 1u);
  const auto st = json::parse(f.call(http_method::get, "/__admin/stats?hashes=1", "").body).as_object();
  for (const char* field : {"requests_total", "api_requests", "status_counts", "rate_limited", "auth_failures",
                            "faults_500", "resets", "hangs", "in_flight_max", "connections_open_max",
                            "connections_accepted", "tls_handshakes", "tls_sessions_resumed", "keys",
                            "hashes_requested_more_than_once", "not_found_after_delete", "repeated_hashes"})
    BOOST_TEST_CONTEXT(field) { BOOST_TEST(st.contains(field)); }
  BOOST_TEST(st.at("rate_limited").to_number<std::uint64_t>() == 1u);
  BOOST_TEST(st.at("keys").as_object().at("deleted").to_number<std::uint64_t>() == 1u);
  const auto plain = json::parse(f.call(http_method::get, "/__admin/stats", "").body).as_object();
  BOOST_TEST(!plain.contains("repeated_hashes"));
  BOOST_TEST(f.counters.admin_requests.load() == 3u);
}

BOOST_AUTO_TEST_CASE(custom_base_path) {
  service_config c;
  c.base_path = "/v2";
  fixture f(c);
  BOOST_TEST(f.call(http_method::delete_, "/v2/keys/" + to_hex(f.hashes[0])).status == 200u);
  BOOST_TEST(f.call(http_method::delete_, f.key_path(1)).status == 404u);
}

BOOST_AUTO_TEST_SUITE_END()
