#pragma once
// The mock's counters: relaxed atomics bumped from any io thread, rendered to JSON on demand.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <boost/json/fwd.hpp>

namespace keyrevoke::mock {

class key_store;

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
  counter admin_connections{0};    // TLS connections whose first request was /__admin/ (not counted below)
  counter tls_handshakes{0};       // completed, on API connections
  counter tls_handshake_failures{0};
  counter tls_sessions_resumed{0};  // SSL_session_reused on a completed handshake

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
// every hash whose DELETE or PATCH reached the store more than once.
boost::json::object stats_to_json(const stats& s, const key_store& store, std::chrono::nanoseconds uptime,
                                  bool include_hashes);
std::string stats_to_string(const stats& s, const key_store& store, std::chrono::nanoseconds uptime,
                            bool include_hashes);

}  // namespace keyrevoke::mock
