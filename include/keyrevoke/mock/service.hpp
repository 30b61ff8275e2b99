#pragma once
// The mock API as a pure function of (request, time, load): routing, auth, the concurrency cap, the
// token bucket, faults, latency, and the handlers. The server only moves bytes and performs the
// step admit() returns (answer, wait then answer, reset the connection, or hang).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/mock/fault_plan.hpp"
#include "keyrevoke/mock/gateway.hpp"
#include "keyrevoke/mock/key_store.hpp"
#include "keyrevoke/mock/stats.hpp"
#include "keyrevoke/mock/token_bucket.hpp"

namespace keyrevoke::mock {

struct api_request {
  http_method method = http_method::get;
  std::string_view target;         // path and query, as received
  std::string_view authorization;  // the Authorization header's value ("" if absent)
  std::string_view body;
  std::string_view content_type;  // the Content-Type header's value ("" if absent)
  bool has_body = false;          // the request carried content: Content-Length > 0, or chunked
};

struct clock_reading {
  mock_duration since_start{0};                // drives the token bucket and the rate schedule
  std::chrono::system_clock::time_point wall;  // for HTTP-date / reset-ms hints and updated_at
};

struct service_config {
  std::string management_key;  // required, non-empty
  unsigned auth_failure_status = 401;
  std::string base_path = "/api/v1";
  std::uint64_t max_concurrent = 0;  // 0: no cap
  double rate = 0;                   // 0: unlimited (unless a schedule is given)
  double burst = 0;                  // 0: max(1, rate)
  std::vector<rate_step> rate_schedule;
  retry_hint_mode retry_mode = retry_hint_mode::seconds;
  advertise_mode advertise = advertise_mode::none;  // --advertise: the bucket's quota on every answer
  std::chrono::microseconds list_latency{0};  // extra wait before answering a GET /keys page
  std::chrono::microseconds delete_latency{0};  // extra wait before answering a DELETE /keys/{hash}
  std::size_t page_size = 100;                // the most keys a GET /keys page returns
  std::vector<std::size_t> page_sizes;        // if set: the k-th GET /keys page's size (last repeats)
  bool expose_key_hash = false;               // GET {base}/key answers the management key's hash
  // A real deployment's front end (gateway.hpp).
  unsigned throttle_status = 429;                      // the token bucket's refusal: 429, 403 or 503
  throttle_body throttle_answer = throttle_body::api;  // its body
  std::vector<outage_window> outages;                  // from the first API request on
};

// SHA-256 of the management key string: the hash the API would list it under (OpenSSL EVP).
core::key_hash management_key_hash(std::string_view management_key);

// A response being built. The caller keeps one per connection so the body's capacity is reused.
struct reply {
  unsigned status = 200;
  std::string body;
  std::string_view hint_header;  // "Retry-After" / "X-RateLimit-Reset" or empty
  std::string hint_value;
  std::string_view allow;  // the Allow header of a 405
  std::string_view content_type = json_content_type;  // text/html for a gateway's page
  quota_headers quota;  // --advertise: the token bucket as this answer left it (count 0: none)
  void clear() noexcept {
    quota.count = 0;
    status = 200;
    body.clear();
    hint_header = {};
    hint_value.clear();
    allow = {};
    content_type = json_content_type;
  }
};

// unknown: under the base path, but not a route of the API; outside_base: not under it at all.
enum class route_kind { keys, key, current_key, admin_stats, admin_keys, unknown, outside_base };

struct route {
  route_kind kind = route_kind::unknown;
  bool hash_ok = false;  // kind == key: {hash} is 64 lower-case hex digits
  core::key_hash hash{};
  std::string_view query;
};

// Splits a request target into a route (no side effects).
route parse_route(std::string_view target, std::string_view base_path);

enum class next_step {
  respond,  // `out` is the answer; send it after `delay`
  proceed,  // wait `delay`, then execute() and send its answer
  reset,    // close the TCP connection abruptly, no answer
  hang,     // never answer
};

struct admission {
  next_step step = next_step::respond;
  std::chrono::microseconds delay{0};
  route where;
};

// Appends the API's error body: {"error":{"code":C,"message":M,"metadata":null},...}.
void write_error_body(std::string& out, unsigned code, std::string_view message);

class service {
 public:
  service(service_config config, key_store& store, stats& counters, fault_plan& faults);

  // Everything before the handler, in order: admin routes (no auth), the web server's 404 page for a
  // path outside the base path (no auth, no limits), an outage window (answered by the gateway:
  // no auth, no limits, never reaches the store), auth (fails for every request once a listed
  // management key was deleted or disabled), concurrency cap (`in_flight` includes this request),
  // token bucket (answered with throttle_status/throttle_answer), faults, latency (plus
  // list_latency for GET /keys). Every non-admin request is tallied by method (stats::by_method).
  admission admit(const api_request& request, const clock_reading& now, std::uint64_t in_flight,
                  reply& out);
  // The handler proper, for an admission whose step is proceed.
  void execute(const api_request& request, const admission& admitted, const clock_reading& now,
               reply& out);

  const service_config& config() const noexcept { return config_; }
  key_store& store() noexcept { return store_; }

 private:
  bool authorized(std::string_view authorization) const noexcept;
  void handle_keys(const api_request& request, const route& where, reply& out);
  void handle_key(const api_request& request, const route& where, const clock_reading& now, reply& out);
  void handle_current_key(const api_request& request, reply& out);
  void handle_admin(const route& where, const clock_reading& now, reply& out);
  // The web server's answer to a route the API does not have: 404, nginx's HTML page.
  void route_not_found(reply& out);
  // The token bucket's refusal (also an outage window of kind throttle), `wait` until a retry helps.
  void throttle(reply& out, mock_duration wait, const clock_reading& now) const;
  // A `lost` fault for an applied write: answers 504 with a gateway's page instead (true), or false.
  bool lose_answer(const core::key_hash& hash, reply& out);
  // Time since the first API request (this one, if it is the first).
  mock_duration since_first_api_request(mock_duration since_start) noexcept;

  service_config config_;
  key_store& store_;
  stats& stats_;
  fault_plan& faults_;
  std::string expected_authorization_;  // "Bearer <key>"
  std::string management_key_hash_hex_;
  std::mutex bucket_mutex_;
  token_bucket bucket_;
  std::atomic<mock_duration::rep> first_api_request_{-1};  // since_start of the first API request (ns)
};

}  // namespace keyrevoke::mock
