#pragma once
// The management key's own hash, when the API shows it (GET {base}/key): --protect adds it, so a run
// never revokes the key it runs with (which would turn every later request into a 401).

#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/network_path.hpp"

#include <optional>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace keyrevoke::app {

struct own_key_result {
  std::optional<core::key_hash> hash;  // nullopt: the API does not show it (404, other shapes)
  int abort_code = 0;                  // non-zero: stop before anything is sent (3 key or TLS rejected)
  std::string note;                    // a warning or the abort's reason; never contains the key
};

// Best effort and bounded: at most 2 attempts of at most 10 s each (a hung endpoint must not hold up a
// revocation for long; the run itself then meets the same server). `route`: the network path (a proxy...).
own_key_result fetch_own_key_hash(const core::base_url& base, const core::route& route, boost::asio::ssl::context& tls,
                                  const std::string& management_key, double timeout_s, unsigned max_attempts);

}  // namespace keyrevoke::app
