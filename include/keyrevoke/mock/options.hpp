#pragma once
// keyrevoke-mock's command line (Boost.Program_options), parsed into plain values.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <variant>
#include <vector>

#include "keyrevoke/mock/fault_plan.hpp"
#include "keyrevoke/mock/gateway.hpp"
#include "keyrevoke/mock/token_bucket.hpp"

namespace keyrevoke::mock {

struct mock_options {
  // Listening
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string port_file;
  unsigned threads = 1;
  bool plain_http = false;
  std::chrono::seconds idle_timeout{60};
  // Open connections at most (0: no cap). At the cap the listener stops accepting, as nginx does when
  // its worker_connections are used up: new connections wait in the kernel's listen queue (their TCP
  // handshake done, their TLS handshake unanswered) until one closes.
  std::size_t max_connections = 0;
  // TLS
  std::string cert_file;
  std::string tls_key_file;
  std::string ca_out;
  std::string cert_hostname;
  bool tls_stall = false;
  // Keys
  std::size_t keys = 1000;
  std::string keys_file;
  std::string hashes_out;
  std::uint64_t seed = 1;
  std::string store_journal;
  // API
  std::string management_key;  // from MODELGATES_MANAGEMENT_KEY or --key-file; never printed
  unsigned auth_failure_status = 401;
  std::string base_path = "/api/v1";
  bool expose_key_hash = false;        // GET {base}/key answers the management key's own hash
  bool management_key_listed = false;  // the store holds sha256(management key) as a key
  // Limits
  double rate = 0;
  double burst = 0;
  std::vector<rate_step> rate_schedule;
  retry_hint_mode retry_mode = retry_hint_mode::seconds;
  advertise_mode advertise = advertise_mode::none;  // --advertise
  std::uint64_t max_concurrent = 0;
  // Faults
  double p500 = 0;
  double preset = 0;
  double phang = 0;
  std::string fault_file;
  double latency_ms = 0;
  latency_dist dist = latency_dist::fixed;
  unsigned close_every = 0;
  double ghost_rate = 0;
  double list_latency_ms = 0;
  double delete_latency_ms = 0;         // extra delay before each DELETE {base}/keys/{hash} (ms, 0-60000)
  std::size_t page_size = 100;          // the most keys a GET /keys page returns, whatever is asked
  std::vector<std::size_t> page_sizes;  // the size of the 1st, 2nd ... GET /keys page (last repeats)
  // Output
  std::string stats_out;
  bool quiet = false;
  // A real deployment's front end (gateway.hpp)
  unsigned throttle_status = 429;                      // --throttle-status: 429, 403 or 503
  throttle_body throttle_answer = throttle_body::api;  // --throttle-body
  std::vector<outage_window> outages;                  // --outage, in command-line order
};

// A parsed command line, or the exit code to return now (0 after --help, 2 on a usage error,
// with the message already written to `err`). `env_key` is MODELGATES_MANAGEMENT_KEY's value, if set.
std::variant<mock_options, int> parse_options(int argc, const char* const* argv, const char* env_key,
                                              std::ostream& out, std::ostream& err);

}  // namespace keyrevoke::mock
