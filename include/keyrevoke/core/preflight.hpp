#pragma once
// The preflight: before the first request that changes anything, one authenticated read
// (GET {base}/keys?offset=0&include_disabled=true) proves the route, the key, TLS and the network path.
// Pure: what its answer means, and what the run does next.

#include "keyrevoke/core/clock.hpp"
#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/verdict.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keyrevoke::core {

enum class preflight_kind {
  ok,           // 2xx with the API's list shape {"data": [...]}: go
  throttled,    // 429, or a 403/503 with a rate-limit hint: wait (hint or backoff) and ask again
  failing,      // 5xx, or a body too large to check: the server is there but failing; ask again
  unreachable,  // no answer at all (refused, reset, timeout, name not resolved): a few tries, then exit 4
  rejected,     // 401, or 403 without a hint: the management key was refused (exit 3)
  tls,          // TLS could not be trusted or was refused (exit 3)
  not_api,      // anything else (a 404, a 200 page that is not the list, a redirect): a wrong
                // --base-url or something in front of the API (exit 2)
  contradicted,  // the key route (GET /keys/{hash}) answered 404 for a key the listing showed (exit 2)
};

struct preflight_result {
  preflight_kind kind = preflight_kind::not_api;
  std::optional<millis> retry_after;  // the server's hint (throttled, failing)
  bool timed_out = false;             // unreachable: no answer within --timeout (as opposed to refused)
  bool gateway_page = false;          // rejected: a 401/403 without the API's error body (verdict::gateway_page)
  bool unrequested_answer = false;    // unreachable: an answer no request asked for (verdict::unrequested_answer)
  std::string message;  // for the user: what came back (status, content type, a sanitised snippet)
  // ok: the hashes the listing's page showed (not when the page was too large to read whole): keys
  // that existed a moment before the first request, against which a later 404 is checked.
  std::vector<key_hash> listed;
};

// The answer to the preflight's GET. `now` and `cap` as for classify_response.
preflight_result classify_preflight(const response_view& response, std::chrono::system_clock::time_point now,
                                    millis retry_after_cap);

// The key route checked after a listing that showed keys: GET {base}/keys/{hash} for one listed key
// (`key_read`, classified with that hash asked for). The listing proves GET /keys reaches the API;
// this proves /keys/{hash} does too, before anything is sent there: a gateway that sends that route to
// another environment (whose API answers its own 404) would otherwise have every key claimed gone.
// present: ok (the preflight stands). not_found: contradicted (run_scheduler reads the next candidate).
// throttled: throttled; server_error for a 5xx: failing; network_error, timeout: unreachable (each asked
// again by the scheduler: no answer either way is no proof, and skipping the check let a flaky wrong
// environment through). A 2xx that does not show the key, not_api, client_error: not_api.
// unauthorized: rejected; tls_error: tls. `message` names the route and what came back.
preflight_result check_key_route(const verdict& key_read, std::string_view route);

// Which listed keys the key route is asked for, in order: the page's first, middle and last (distinct;
// fewer when fewer are listed). A gateway caching GET /keys may list keys deleted since; three reads
// spread over the page make a stale first key no reason to stop.
std::vector<key_hash> route_check_order(const std::vector<key_hash>& listed);

// A transport failure (classify_transport_failure's verdict) during the preflight.
preflight_result preflight_from_failure(const verdict& failure);

}  // namespace keyrevoke::core
