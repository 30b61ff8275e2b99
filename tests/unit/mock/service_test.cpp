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
    return call(
        api_request{method, target, auth, body, body.empty() ? "" : "application/json", !body.empty()},
        in_flight, out_admission);
  }
  reply call(const api_request& req, std::uint64_t in_flight = 1, admission* out_admission = nullptr) {
    reply r;
    const auto a = api->admit(req, now, in_flight, r);
    if (a.step == next_step::proceed) api->execute(req, a, now, r);
    if (out_admission != nullptr) *out_admission = a;
    return r;
  }
  std::string key_path(std::size_t i) const { return "/api/v1/keys/" + to_hex(hashes[i]); }
};

json::object error_of(const reply& r) { return json::parse(r.body).as_object().at("error").as_object(); }

// nginx's page: what a web server or gateway answers, never the API's JSON.
bool is_gateway_page(const reply& r, unsigned status) {
  const std::string title = "<title>" + std::to_string(status) + " ";
  return r.content_type == "text/html" && r.status == status && r.body.starts_with("<html>") &&
         r.body.find(title) != std::string::npos && r.body.find("nginx") != std::string::npos;
}

json::object admin_stats(fixture& f) {
  return json::parse(f.call(http_method::get, "/__admin/stats", "").body).as_object();
}

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
    const char* message;  // nullptr: not an error body; "html": the web server's page, not the API's
  };
  const row rows[] = {
      {"delete", http_method::delete_, f.key_path(0), good_auth, 200, nullptr},
      {"delete again", http_method::delete_, f.key_path(0), good_auth, 404, "Key not found"},
      {"get deleted", http_method::get, f.key_path(0), good_auth, 404, "Key not found"},
      {"get", http_method::get, f.key_path(1), good_auth, 200, nullptr},
      {"unknown hash", http_method::delete_, "/api/v1/keys/" + std::string(64, 'f'), good_auth, 404,
       "Key not found"},
      {"upper-case hash", http_method::delete_, bad_upper, good_auth, 400, nullptr},
      {"short hash", http_method::delete_, "/api/v1/keys/abc", good_auth, 400, nullptr},
      {"empty hash", http_method::delete_, "/api/v1/keys/", good_auth, 400, nullptr},
      {"list", http_method::get, "/api/v1/keys", good_auth, 200, nullptr},
      {"post list", http_method::post, "/api/v1/keys", good_auth, 405, "Method not allowed"},
      {"put key", http_method::put, f.key_path(1), good_auth, 405, "Method not allowed"},
      {"unknown route", http_method::get, "/api/v1/other", good_auth, 404, "html"},
      {"nested", http_method::get, f.key_path(1) + "/x", good_auth, 404, "html"},
      {"outside base", http_method::get, "/keys", good_auth, 404, "html"},
      {"outside base, no auth", http_method::delete_, "/v1/keys/" + to_hex(f.hashes[2]), "", 404, "html"},
      {"base lookalike", http_method::delete_, "/api/v1x/keys/" + to_hex(f.hashes[2]), good_auth, 404,
       "html"},
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
      if (r.message != nullptr && std::string_view{r.message} == "html") {
        BOOST_TEST(is_gateway_page(rep, r.status));
        continue;
      }
      BOOST_TEST(rep.content_type == "application/json");
      const auto doc = json::parse(rep.body).as_object();  // every API answer is JSON
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
  BOOST_TEST(f.counters.api_requests.load() == 22u);
  BOOST_TEST(f.counters.route_not_found.load() == 5u);
  BOOST_TEST(f.store->counters(f.hashes[2]).value().delete_requests == 0u);  // no route reached the store
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

BOOST_AUTO_TEST_CASE(page_size_is_the_servers) {
  // --page-size: at most N keys a page, whatever is asked; --page-sizes: the n-th request's size.
  struct row {
    std::size_t page_size;
    std::vector<std::size_t> page_sizes;
    std::vector<std::size_t> offsets;   // one GET /keys each, in order
    std::vector<std::size_t> expected;  // keys in each answer (300 keys in the store)
  };
  const row rows[] = {
      {100, {}, {0, 100, 250, 300}, {100, 100, 50, 0}},
      {50, {}, {0, 50, 280}, {50, 50, 20}},
      {37, {}, {0, 296}, {37, 4}},
      {1, {}, {0, 299, 300}, {1, 1, 0}},
      {100, {50, 37, 1}, {0, 0, 0, 0, 10}, {50, 37, 1, 1, 1}},
      {100, {200}, {0, 250}, {200, 50}},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("page size " << r.page_size << " sizes " << r.page_sizes.size()) {
      service_config c;
      c.page_size = r.page_size;
      c.page_sizes = r.page_sizes;
      fixture f{c};
      for (std::size_t i = 0; i < r.offsets.size(); ++i) {
        const reply got =
            f.call(http_method::get, "/api/v1/keys?include_disabled=true&offset=" + std::to_string(r.offsets[i]));
        BOOST_TEST(got.status == 200u);
        BOOST_TEST(json::parse(got.body).as_object().at("data").as_array().size() == r.expected[i]);
      }
    }
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

// --advertise: every answer that met the bucket, 200 and 429 alike, carries its quota.
BOOST_AUTO_TEST_CASE(advertised_quota_on_every_answer) {
  service_config c;
  c.rate = 10;
  c.burst = 2;
  c.advertise = advertise_mode::xratelimit;
  fixture f(c);
  const auto first = f.call(http_method::delete_, f.key_path(0));
  BOOST_TEST(first.status == 200u);
  BOOST_TEST_REQUIRE(first.quota.count == 3u);
  BOOST_TEST(first.quota.fields[1].name == "X-RateLimit-Remaining");
  BOOST_TEST(first.quota.fields[1].value == "1");
  BOOST_TEST(f.call(http_method::delete_, f.key_path(1)).quota.fields[1].value == "0");
  const auto limited = f.call(http_method::delete_, f.key_path(2));
  BOOST_TEST(limited.status == 429u);
  BOOST_TEST_REQUIRE(limited.quota.count == 3u);
  BOOST_TEST(limited.quota.fields[1].value == "0");
  // Admin routes do not meet the bucket: no quota.
  BOOST_TEST(f.call(http_method::get, "/__admin/stats", "").quota.count == 0u);
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

BOOST_AUTO_TEST_CASE(ghost_writes_answer_success_and_change_nothing) {
  fixture f;
  f.faults.add_hash_fault(f.hashes[0], {fault::ghost, -1});
  f.faults.add_hash_fault(f.hashes[1], {fault::ghost, 1});
  const bool was_disabled = f.store->get(f.hashes[0]).value().disabled;
  const std::string patch_body = was_disabled ? R"({"disabled":false})" : R"({"disabled":true})";
  struct row {
    const char* name;
    http_method method;
    std::size_t key;
    std::string_view body;
    unsigned status;
    std::uint64_t ghosts_after;
  };
  const row rows[] = {
      {"always: get first (no ghost consumed)", http_method::get, 0, {}, 200, 0},
      {"always: delete", http_method::delete_, 0, {}, 200, 1},
      {"always: still there", http_method::get, 0, {}, 200, 1},
      {"always: delete again", http_method::delete_, 0, {}, 200, 2},
      {"always: patch", http_method::patch, 0, patch_body, 200, 3},
      {"once: get", http_method::get, 1, {}, 200, 3},
      {"once: delete is a ghost", http_method::delete_, 1, {}, 200, 4},
      {"once: still there", http_method::get, 1, {}, 200, 4},
      {"once: delete is real", http_method::delete_, 1, {}, 200, 4},
      {"once: gone", http_method::get, 1, {}, 404, 4},
      {"once: and stays gone", http_method::delete_, 1, {}, 404, 4},
      {"bad patch body is no write", http_method::patch, 0, R"({"disabled":1})", 400, 4},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      const auto rep = f.call(r.method, f.key_path(r.key), good_auth, r.body);
      BOOST_TEST(rep.status == r.status);
      BOOST_TEST(f.counters.ghost_writes.load() == r.ghosts_after);
      if (r.method == http_method::delete_ && r.status == 200) BOOST_TEST(rep.body == R"({"deleted":true})");
      if (r.method == http_method::patch && r.status == 200) {
        const auto data = json::parse(rep.body).as_object().at("data").as_object();
        BOOST_TEST(data.at("disabled").as_bool() == !was_disabled);  // what the client asked for
        BOOST_TEST(data.at("hash").as_string() == to_hex(f.hashes[0]));
      }
    }
  }
  const auto k = f.store->get(f.hashes[0]);
  BOOST_TEST_REQUIRE(k.has_value());
  BOOST_TEST(k->disabled == was_disabled);  // the PATCH was a ghost
  BOOST_TEST(f.store->totals().deleted == 1u);

  const auto st = json::parse(f.call(http_method::get, "/__admin/stats?hashes=1", "").body).as_object();
  BOOST_TEST(st.at("ghost_writes").to_number<std::uint64_t>() == 4u);
  BOOST_TEST(st.at("patch_requests").to_number<std::uint64_t>() == 1u);  // the 400 never reached the store
  BOOST_TEST(st.at("patched_more_than_once").to_number<std::uint64_t>() == 0u);
  BOOST_TEST(st.at("get_key_requests").to_number<std::uint64_t>() == 5u);
  BOOST_TEST(st.at("hashes_requested_more_than_once").to_number<std::uint64_t>() == 2u);
  const auto& repeated = st.at("repeated_hashes").as_array();
  BOOST_TEST_REQUIRE(repeated.size() == 2u);
  for (const auto& v : repeated) {
    const auto& h = v.as_object();
    const bool always = h.at("hash").as_string() == to_hex(f.hashes[0]);
    BOOST_TEST_CONTEXT(h) {
      BOOST_TEST(h.at("known").as_bool());
      BOOST_TEST(h.at("deleted").as_bool() == !always);
      BOOST_TEST(h.at("delete_requests").to_number<std::uint64_t>() == (always ? 2u : 3u));
      BOOST_TEST(h.at("deletes_ok").to_number<std::uint64_t>() == (always ? 0u : 1u));
      BOOST_TEST(h.at("not_found_after_delete").to_number<std::uint64_t>() == (always ? 0u : 1u));
      BOOST_TEST(h.at("patch_requests").to_number<std::uint64_t>() == (always ? 1u : 0u));
      BOOST_TEST(h.at("get_requests").to_number<std::uint64_t>() == (always ? 2u : 3u));
    }
  }
}

BOOST_AUTO_TEST_CASE(ghost_rate_applies_to_writes_only) {
  fixture f;
  f.faults.set_ghost_rate(1.0);
  BOOST_TEST(f.call(http_method::delete_, f.key_path(0)).status == 200u);
  BOOST_TEST(f.call(http_method::patch, f.key_path(1), good_auth, R"({"disabled":true})").status == 200u);
  BOOST_TEST(f.call(http_method::get, f.key_path(0)).status == 200u);
  BOOST_TEST(f.call(http_method::get, "/api/v1/keys").status == 200u);
  BOOST_TEST(f.counters.ghost_writes.load() == 2u);
  BOOST_TEST(f.store->totals().deleted == 0u);
}

BOOST_AUTO_TEST_CASE(patch_and_list_counters_in_stats) {
  fixture f;
  for (int i = 0; i < 3; ++i)
    f.call(http_method::patch, f.key_path(5), good_auth, i % 2 == 0 ? R"({"disabled":true})" : R"({"disabled":false})");
  f.call(http_method::patch, f.key_path(6), good_auth, R"({"disabled":true})");
  f.call(http_method::patch, f.key_path(6), good_auth, R"({"disabled":true})");
  f.call(http_method::patch, f.key_path(7), good_auth, R"({"disabled":true})");
  f.call(http_method::get, f.key_path(7));
  f.call(http_method::get, "/api/v1/keys");
  f.call(http_method::get, "/api/v1/keys?offset=100&include_disabled=true");
  f.call(http_method::get, "/api/v1/keys?offset=x");  // 400: no page
  const auto st = json::parse(f.call(http_method::get, "/__admin/stats?hashes=1", "").body).as_object();
  BOOST_TEST(st.at("patch_requests").to_number<std::uint64_t>() == 6u);
  BOOST_TEST(st.at("patched_more_than_once").to_number<std::uint64_t>() == 2u);
  BOOST_TEST(st.at("get_key_requests").to_number<std::uint64_t>() == 1u);
  BOOST_TEST(st.at("list_requests").to_number<std::uint64_t>() == 2u);
  BOOST_TEST(st.at("ghost_writes").to_number<std::uint64_t>() == 0u);
  BOOST_TEST(st.at("hashes_requested_more_than_once").to_number<std::uint64_t>() == 0u);
  const auto& repeated = st.at("repeated_hashes").as_array();
  BOOST_TEST_REQUIRE(repeated.size() == 2u);  // PATCHed more than once: keys 5 and 6
  for (const auto& v : repeated) BOOST_TEST(v.as_object().at("delete_requests").to_number<std::uint64_t>() == 0u);
}

BOOST_AUTO_TEST_CASE(list_latency_delays_list_pages_only) {
  service_config c;
  c.list_latency = 40ms;
  struct row {
    const char* name;
    http_method method;
    std::string target;
    std::string_view auth;
    std::int64_t delay_us;  // with --latency-ms 0 / 25
    std::int64_t delay_with_latency_us;
  };
  const row rows[] = {
      {"list", http_method::get, "/api/v1/keys", good_auth, 40'000, 65'000},
      {"list page 2", http_method::get, "/api/v1/keys?offset=100", good_auth, 40'000, 65'000},
      {"get key", http_method::get, "/api/v1/keys/" + std::string(64, 'a'), good_auth, 0, 25'000},
      {"delete", http_method::delete_, "/api/v1/keys/" + std::string(64, 'a'), good_auth, 0, 25'000},
      {"post list", http_method::post, "/api/v1/keys", good_auth, 0, 25'000},
      {"unauthorized list", http_method::get, "/api/v1/keys", "", 0, 0},
  };
  for (const double latency_ms : {0.0, 25.0}) {
    fixture f(c, latency_ms);
    std::uint64_t delayed = 0;
    for (const auto& r : rows) {
      BOOST_TEST_CONTEXT(r.name << " latency " << latency_ms) {
        admission a;
        f.call(r.method, r.target, r.auth, {}, 1, &a);
        const auto expected = latency_ms > 0 ? r.delay_with_latency_us : r.delay_us;
        BOOST_TEST(a.delay.count() == expected);
        delayed += expected > 0 ? 1 : 0;
        BOOST_TEST(f.counters.delayed.load() == delayed);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(delete_latency_delays_deletes_of_one_key_only) {
  service_config c;
  c.delete_latency = 30ms;
  c.list_latency = 40ms;
  struct row {
    const char* name;
    http_method method;
    std::string target;
    std::string_view auth;
    std::int64_t delay_us;
  };
  const std::string key = "/api/v1/keys/" + std::string(64, 'a');
  const row rows[] = {
      {"delete", http_method::delete_, key, good_auth, 30'000},
      {"delete, malformed hash", http_method::delete_, "/api/v1/keys/xyz", good_auth, 30'000},
      {"get key", http_method::get, key, good_auth, 0},
      {"patch key", http_method::patch, key, good_auth, 0},
      {"list", http_method::get, "/api/v1/keys", good_auth, 40'000},
      {"delete the list", http_method::delete_, "/api/v1/keys", good_auth, 0},
      {"unauthorized delete", http_method::delete_, key, "", 0},
  };
  fixture f(c);
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      admission a;
      f.call(r.method, r.target, r.auth, {}, 1, &a);
      BOOST_TEST(a.delay.count() == r.delay_us);
    }
  }
}

BOOST_AUTO_TEST_CASE(management_key_hash_is_sha256) {
  BOOST_TEST(to_hex(management_key_hash("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(to_hex(management_key_hash("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

BOOST_AUTO_TEST_CASE(current_key_route) {
  const std::string mgmt_hex = to_hex(management_key_hash("secret-key"));
  BOOST_TEST((parse_route("/api/v1/key", "/api/v1").kind == route_kind::current_key));
  BOOST_TEST((parse_route("/api/v1/key?x=1", "/api/v1").kind == route_kind::current_key));
  BOOST_TEST((parse_route("/api/v1/key/", "/api/v1").kind == route_kind::unknown));
  struct row {
    const char* name;
    bool expose;
    http_method method;
    std::string_view auth;
    unsigned status;
  };
  const row rows[] = {
      {"hidden", false, http_method::get, good_auth, 404},
      {"hidden, no auth", false, http_method::get, "", 401},
      {"exposed", true, http_method::get, good_auth, 200},
      {"exposed, no auth", true, http_method::get, "", 401},
      {"exposed, delete", true, http_method::delete_, good_auth, 405},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      service_config c;
      c.expose_key_hash = r.expose;
      fixture f(c);
      const auto rep = f.call(r.method, "/api/v1/key", r.auth);
      BOOST_TEST(rep.status == r.status);
      if (r.status == 404) BOOST_TEST(is_gateway_page(rep, 404));  // a route the API does not have
      if (r.status == 200) {
        BOOST_TEST(rep.body == R"({"data":{"label":"management key","hash":")" + mgmt_hex +
                                   R"(","is_management_key":true}})");
        json::parse(rep.body);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(listed_management_key_revokes_itself) {
  const auto mgmt = management_key_hash("secret-key");
  const std::string mgmt_path = "/api/v1/keys/" + to_hex(mgmt);
  struct row {
    const char* name;
    http_method method;
    std::string_view body;
  };
  for (const auto& r : {row{"delete", http_method::delete_, {}}, row{"disable", http_method::patch, R"({"disabled":true})"}}) {
    BOOST_TEST_CONTEXT(r.name) {
      fixture f;
      f.store = key_store::generate(300, 1, today, mgmt);
      f.hashes = f.store->hashes_in_generation_order();
      service_config c;
      c.management_key = "secret-key";
      f.api = std::make_unique<service>(c, *f.store, f.counters, f.faults);
      // Listed like the others.
      std::size_t seen = 0;
      for (std::size_t offset = 0; offset < 400; offset += 100) {
        const auto page = json::parse(f.call(http_method::get, "/api/v1/keys?include_disabled=true&offset=" +
                                                                   std::to_string(offset)).body);
        for (const auto& k : page.at("data").as_array())
          if (k.at("hash").as_string() == to_hex(mgmt)) {
            ++seen;
            BOOST_TEST(k.at("name").as_string() == "management");
            BOOST_TEST(k.at("label").as_string() == "mgmt");
          }
      }
      BOOST_TEST(seen == 1u);
      BOOST_TEST(f.call(http_method::get, mgmt_path).status == 200u);
      BOOST_TEST(f.call(http_method::delete_, f.key_path(0)).status == 200u);
      // A ghost write does not revoke it.
      f.faults.add_hash_fault(mgmt, {fault::ghost, 1});
      BOOST_TEST(f.call(r.method, mgmt_path, good_auth, r.body).status == 200u);
      BOOST_TEST(f.call(http_method::delete_, f.key_path(1)).status == 200u);
      // The real write does: it is answered, and every later request fails auth.
      BOOST_TEST(f.call(r.method, mgmt_path, good_auth, r.body).status == 200u);
      const auto failures = f.counters.auth_failures.load();
      BOOST_TEST(f.call(http_method::delete_, f.key_path(2)).status == 401u);
      BOOST_TEST(error_of(f.call(http_method::get, "/api/v1/keys")).at("code").as_int64() == 401);
      BOOST_TEST(f.call(http_method::get, mgmt_path).status == 401u);
      BOOST_TEST(f.counters.auth_failures.load() == failures + 3);
      BOOST_TEST(f.store->get(f.hashes[2]).has_value());
      // The admin endpoint still answers, and says so.
      const auto st = json::parse(f.call(http_method::get, "/__admin/stats", "").body).as_object();
      BOOST_TEST(st.at("management_key_listed").as_bool());
      BOOST_TEST(st.at("management_key_revoked").as_bool());
      BOOST_TEST(st.at("keys").as_object().at("total").to_number<std::uint64_t>() == 301u);
    }
  }
}

BOOST_AUTO_TEST_CASE(requests_are_tallied_by_method_body_and_content_type) {
  fixture f;
  const std::string k0 = f.key_path(0), k1 = f.key_path(1), k2 = f.key_path(2), k3 = f.key_path(3);
  struct row {
    const char* name;
    api_request request;
  };
  const row rows[] = {
      {"delete, no body", {http_method::delete_, k0, good_auth, {}, {}, false}},
      {"delete, {} as json", {http_method::delete_, k1, good_auth, "{}", "application/json", true}},
      {"delete, chunked, empty", {http_method::delete_, k2, good_auth, {}, {}, true}},
      {"delete, Content-Type but no body",
       {http_method::delete_, k3, good_auth, {}, "application/json", false}},
      {"patch",
       {http_method::patch, k3, good_auth, R"({"disabled":true})", "application/json; charset=utf-8", true}},
      {"get", {http_method::get, "/api/v1/keys", good_auth, {}, {}, false}},
      {"unauthorized get still counted", {http_method::get, "/api/v1/keys", "", {}, {}, false}},
      {"outside the base still counted", {http_method::put, "/v1/keys", good_auth, "x", "text/plain", true}},
      {"other method", {http_method::other, "/api/v1/keys", good_auth, {}, {}, false}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) { f.call(r.request); }
  }
  f.call(http_method::get, "/__admin/keys", "");  // admin requests are not tallied
  const auto by = admin_stats(f).at("requests_by_method").as_object();
  struct expect {
    const char* method;
    std::uint64_t requests, with_body;
    std::vector<std::pair<std::string, std::uint64_t>> types;
  };
  const expect expected[] = {
      {"DELETE", 4, 2, {{"application/json", 2}}},
      {"PATCH", 1, 1, {{"application/json; charset=utf-8", 1}}},
      {"GET", 2, 0, {}},
      {"PUT", 1, 1, {{"text/plain", 1}}},
      {"OTHER", 1, 0, {}},
  };
  BOOST_TEST(by.size() == std::size(expected));  // no POST, no HEAD: methods never seen are absent
  for (const auto& e : expected) {
    BOOST_TEST_CONTEXT(e.method) {
      BOOST_TEST_REQUIRE(by.contains(e.method));
      const auto& m = by.at(e.method).as_object();
      BOOST_TEST(m.at("requests").to_number<std::uint64_t>() == e.requests);
      BOOST_TEST(m.at("with_body").to_number<std::uint64_t>() == e.with_body);
      const auto& types = m.at("content_types").as_object();
      BOOST_TEST(types.size() == e.types.size());
      for (const auto& [type, n] : e.types) BOOST_TEST(types.at(type).to_number<std::uint64_t>() == n);
    }
  }
}

BOOST_AUTO_TEST_CASE(delete_with_or_without_a_body_is_answered_the_same) {
  struct row {
    const char* name;
    std::string_view body;
    std::string_view content_type;
    bool has_body;
  };
  const row rows[] = {
      {"no body", {}, {}, false},
      {"{} as json", "{}", "application/json", true},
      {"chunked, empty", {}, {}, true},
      {"junk", "not json at all", "text/plain", true},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      fixture f;
      const std::string target = f.key_path(0);
      const api_request req{http_method::delete_, target, good_auth, r.body, r.content_type, r.has_body};
      const auto first = f.call(req);
      BOOST_TEST(first.status == 200u);
      BOOST_TEST(first.body == R"({"deleted":true})");
      const auto again = f.call(req);
      BOOST_TEST(again.status == 404u);
      BOOST_TEST(error_of(again).at("message").as_string() == "Key not found");
      BOOST_TEST(again.content_type == "application/json");
      BOOST_TEST(f.store->totals().deleted == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(throttle_status_body_and_hint_variants) {
  struct row {
    unsigned status;
    throttle_body body;
    retry_hint_mode mode;
    std::string_view header;
    std::string value;
  };
  const row rows[] = {
      {429, throttle_body::api, retry_hint_mode::seconds, "Retry-After", "1"},
      {403, throttle_body::api, retry_hint_mode::seconds, "Retry-After", "1"},
      {403, throttle_body::html, retry_hint_mode::none, "", ""},
      {503, throttle_body::html, retry_hint_mode::http_date, "Retry-After", "Fri, 10 Jan 2025 12:00:01 GMT"},
      {429, throttle_body::big, retry_hint_mode::seconds, "Retry-After", "1"},
      {429, throttle_body::api, retry_hint_mode::zero, "Retry-After", "0"},
      {429, throttle_body::api, retry_hint_mode::past, "Retry-After", "Fri, 10 Jan 2025 11:00:00 GMT"},
      {429, throttle_body::api, retry_hint_mode::reset_delta, "X-RateLimit-Reset", "1"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.status << " " << to_string(r.body) << " " << to_string(r.mode)) {
      service_config c;
      c.rate = 10;
      c.burst = 1;
      c.retry_mode = r.mode;
      c.throttle_status = r.status;
      c.throttle_answer = r.body;
      fixture f(c);
      BOOST_TEST(f.call(http_method::delete_, f.key_path(0)).status == 200u);
      const auto limited = f.call(http_method::delete_, f.key_path(1));
      BOOST_TEST(limited.status == r.status);
      BOOST_TEST(limited.hint_header == r.header);
      BOOST_TEST(limited.hint_value == r.value);
      switch (r.body) {
        case throttle_body::api:
          BOOST_TEST(limited.content_type == "application/json");
          BOOST_TEST(error_of(limited).at("code").as_int64() == r.status);
          BOOST_TEST(error_of(limited).at("message").as_string() == "Rate limit exceeded");
          break;
        case throttle_body::html:
          BOOST_TEST(is_gateway_page(limited, r.status));
          BOOST_TEST(limited.body.size() < 300u);
          break;
        case throttle_body::big:
          BOOST_TEST(is_gateway_page(limited, r.status));
          BOOST_TEST(limited.body.size() == big_page_size);
          BOOST_TEST(limited.body.ends_with("</html>\r\n"));
          break;
      }
      BOOST_TEST(f.counters.rate_limited.load() == 1u);
      BOOST_TEST(f.store->totals().deleted == 1u);  // the refusal never reached the store
    }
  }
  // The concurrency cap keeps its plain 429 whatever the throttle looks like.
  service_config c;
  c.max_concurrent = 1;
  c.throttle_status = 403;
  c.throttle_answer = throttle_body::html;
  fixture f(c);
  const auto capped = f.call(http_method::delete_, f.key_path(0), good_auth, {}, 2);
  BOOST_TEST(capped.status == 429u);
  BOOST_TEST(capped.content_type == "application/json");
}

BOOST_AUTO_TEST_CASE(outage_windows_answer_for_the_api) {
  service_config c;
  c.outages = {*parse_outage("1:2"), *parse_outage("4:1:503"), *parse_outage("5:1:504"),
               *parse_outage("6:1:reset"), *parse_outage("7:1.5:429")};
  c.retry_mode = retry_hint_mode::seconds;
  fixture f(c);
  const auto admin_before = admin_stats(f);
  BOOST_TEST(admin_before.at("first_api_request_ms").is_null());
  f.now.since_start = 10s;  // the first API request starts the windows' clock
  struct row {
    std::chrono::milliseconds at;  // since the first API request
    const char* expect;            // "api", "502", "503", "504", "reset", "429"
  };
  const row rows[] = {
      {0ms, "api"},    {999ms, "api"},    {1000ms, "502"}, {2999ms, "502"}, {3000ms, "api"}, {4000ms, "503"},
      {5000ms, "504"}, {6000ms, "reset"}, {7000ms, "429"}, {8499ms, "429"}, {8500ms, "api"}, {60s, "api"},
  };
  std::size_t key = 0;
  std::uint64_t answered_by_outage = 0;
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("at " << r.at.count() << " ms: " << r.expect) {
      f.now.since_start = 10s + r.at;
      const std::string expect = r.expect;
      const auto deleted_before = f.store->totals().deleted;
      admission a;
      const auto rep = f.call(http_method::delete_, f.key_path(key), good_auth, {}, 1, &a);
      if (expect == "api") {
        BOOST_TEST(rep.status == 200u);
        BOOST_TEST(f.store->totals().deleted == deleted_before + 1);
        ++key;
        continue;
      }
      ++answered_by_outage;
      BOOST_TEST(f.store->totals().deleted == deleted_before);  // never reaches the store
      BOOST_TEST(f.store->counters(f.hashes[key]).value().delete_requests == 0u);
      if (expect == "reset") {
        BOOST_TEST((a.step == next_step::reset));
      } else if (expect == "429") {
        BOOST_TEST(rep.status == 429u);
        BOOST_TEST(rep.hint_header == "Retry-After");
        BOOST_TEST(rep.hint_value == (r.at == 7000ms ? "2" : "1"));  // the window's end, rounded up
      } else {
        BOOST_TEST(is_gateway_page(rep, static_cast<unsigned>(std::stoul(expect))));
      }
      BOOST_TEST(f.counters.outage_answers.load() == answered_by_outage);
    }
  }
  // Unauthorized requests meet the gateway first; admin routes never meet it.
  f.now.since_start = 11s;
  BOOST_TEST(is_gateway_page(f.call(http_method::delete_, f.key_path(key), "Bearer wrong"), 502));
  const auto st = admin_stats(f);
  BOOST_TEST(st.at("first_api_request_ms").to_number<std::int64_t>() == 10'000);
  BOOST_TEST(st.at("outage_answers").to_number<std::uint64_t>() == answered_by_outage + 1);
  BOOST_TEST(f.counters.auth_failures.load() == 0u);
}

BOOST_AUTO_TEST_CASE(lost_answers_apply_the_write_then_answer_504) {
  fixture f;
  f.faults.add_hash_fault(f.hashes[0], {fault::lost, 1});
  f.faults.add_hash_fault(f.hashes[1], {fault::lost, 2});
  f.faults.add_hash_fault(f.hashes[2], {fault::lost, 1});
  f.faults.add_hash_fault(f.hashes[2], {fault::ghost, 1});
  const bool was_disabled = f.store->get(f.hashes[1]).value().disabled;
  const std::string flip = was_disabled ? R"({"disabled":false})" : R"({"disabled":true})";
  struct row {
    const char* name;
    http_method method;
    std::size_t key;
    std::string_view body;
    unsigned status;  // 504: the gateway's page
    bool deleted_after;
    std::uint64_t lost_after;
  };
  const row rows[] = {
      {"get meets no lost answer", http_method::get, 0, {}, 200, false, 0},
      {"delete applied, answer lost", http_method::delete_, 0, {}, 504, true, 1},
      {"the retry finds it gone", http_method::delete_, 0, {}, 404, true, 1},
      {"patch applied, answer lost", http_method::patch, 1, flip, 504, false, 2},
      {"delete applied, answer lost again", http_method::delete_, 1, {}, 504, true, 3},
      {"a 404 consumes nothing", http_method::delete_, 1, {}, 404, true, 3},
      {"a ghost is not lost", http_method::delete_, 2, {}, 200, false, 3},
      {"then the real delete is", http_method::delete_, 2, {}, 504, true, 4},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      const auto rep = f.call(r.method, f.key_path(r.key), good_auth, r.body);
      BOOST_TEST(rep.status == r.status);
      if (r.status == 504) BOOST_TEST(is_gateway_page(rep, 504));
      if (r.status == 404) BOOST_TEST(error_of(rep).at("message").as_string() == "Key not found");
      BOOST_TEST(!f.store->get(f.hashes[r.key]).has_value() == r.deleted_after);
      BOOST_TEST(f.counters.lost_answers.load() == r.lost_after);
    }
  }
  BOOST_TEST(f.store->counters(f.hashes[1]).value().patch_requests == 1u);
  BOOST_TEST(admin_stats(f).at("lost_answers").to_number<std::uint64_t>() == 4u);
}

BOOST_AUTO_TEST_SUITE_END()
