#pragma once
// The mock's counters: relaxed atomics bumped from any io thread, rendered to JSON on demand.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

namespace keyrevoke::mock {

class key_store;

enum class http_method { get, head, post, put, patch, delete_, other };
inline constexpr std::size_t http_method_count = 7;
// "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OTHER" (any other method).
std::string_view method_name(http_method m) noexcept;

// What clients sent, per method (ground truth for "the DELETE carried no body"): requests, those
// that carried a body (Content-Length > 0 or chunked), and the Content-Type values seen (as sent,
// at most content_type_limit distinct values of at most 128 bytes per method; the rest are counted
// under "(other)"). Thread-safe; the mutex is only taken for a request with a Content-Type.
class request_tally {
 public:
  static constexpr std::size_t content_type_limit = 16;
  static constexpr std::size_t content_type_max_size = 128;

  void count(http_method m, bool has_body, std::string_view content_type);

  struct method_counts {
    std::uint64_t requests = 0;
    std::uint64_t with_body = 0;
    std::vector<std::pair<std::string, std::uint64_t>> content_types;  // in order first seen
  };
  method_counts counts(http_method m) const;

 private:
  struct slot {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> with_body{0};
    std::vector<std::pair<std::string, std::uint64_t>> content_types;  // guarded by mutex_
  };
  mutable std::mutex mutex_;
  std::array<slot, http_method_count> slots_{};
};

// Raises `target` to `value` if larger (lock-free high-water mark).
inline void raise_to(std::atomic<std::uint64_t>& target, std::uint64_t value) noexcept {
  std::uint64_t cur = target.load(std::memory_order_relaxed);
  while (value > cur && !target.compare_exchange_weak(cur, value, std::memory_order_relaxed)) {
  }
}

struct stats {
  using counter = std::atomic<std::uint64_t>;

  counter requests_total{0};      // every parsed HTTP request, admin included
  counter api_requests{0};        // under the base path
  counter admin_requests{0};
  counter bad_http{0};            // unparseable requests / over the body limit
  std::array<counter, 600> by_status{};  // responses written, by status code
  counter rate_limited{0};        // 429 from the token bucket
  counter concurrency_limited{0}; // 429 from --max-concurrent
  counter auth_failures{0};
  counter faults_500{0};
  counter faults_400{0};          // fault-plan 400s (not malformed hashes)
  counter resets{0};
  counter hangs{0};
  counter delayed{0};             // requests given extra latency
  counter closes_requested{0};    // responses sent with Connection: close by --close-every
  counter list_requests{0};       // GET /keys pages that reached the store
  counter ghost_writes{0};        // DELETE/PATCH answered as done while the store was left unchanged
  counter in_flight{0};           // API requests being handled (admin requests excluded)
  counter in_flight_max{0};
  counter connections_open{0};
  counter connections_open_max{0};
  counter connections_accepted{0};
  counter accept_paused{0};         // times the listener stopped accepting at --max-connections
  counter admin_connections{0};    // TLS connections whose first request was /__admin/ (not counted below)
  counter tls_handshakes{0};       // completed, on API connections
  counter tls_handshake_failures{0};
  counter tls_sessions_resumed{0};  // SSL_session_reused on a completed handshake
  // Misbehaviours of a real deployment's front end.
  request_tally by_method;     // every request but the admin routes, by method
  counter route_not_found{0};  // 404 HTML pages: a route the API does not have
  counter outage_answers{0};   // requests answered by an --outage window (resets included)
  counter lost_answers{0};     // DELETE/PATCH applied, then answered 504 (fault `lost`)

  void count_status(unsigned status) noexcept {
    if (status < by_status.size()) by_status[status].fetch_add(1, std::memory_order_relaxed);
  }
  void connection_opened() noexcept {
    connections_accepted.fetch_add(1, std::memory_order_relaxed);
    raise_to(connections_open_max, connections_open.fetch_add(1, std::memory_order_relaxed) + 1);
  }
  void connection_closed() noexcept { connections_open.fetch_sub(1, std::memory_order_relaxed); }
  // Returns the number in flight including this one.
  std::uint64_t request_started() noexcept {
    const auto now = in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
    raise_to(in_flight_max, now);
    return now;
  }
  void request_finished() noexcept { in_flight.fetch_sub(1, std::memory_order_relaxed); }
};

// The /__admin/stats document. With include_hashes, adds "repeated_hashes": per-hash counters of
// every hash whose DELETE or PATCH reached the store more than once. "requests_by_method" holds, for
// each method seen, {"requests": N, "with_body": N, "content_types": {"<value as sent>": N, ...}}.
boost::json::object stats_to_json(const stats& s, const key_store& store, std::chrono::nanoseconds uptime,
                                  bool include_hashes);
std::string stats_to_string(const stats& s, const key_store& store, std::chrono::nanoseconds uptime,
                            bool include_hashes);

}  // namespace keyrevoke::mock
