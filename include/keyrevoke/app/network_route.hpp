#pragma once
// The network path options (--proxy, --noproxy, --proxy-user-file, --connect-to, --resolve) turned into
// a core::route for one origin, with the environment (HTTPS_PROXY, NO_PROXY...) and the
// --proxy-user-file read here; and, through a proxy, one CONNECT before anything is sent, so that a
// proxy that refuses is a configuration error before the run (exit 2), not a run of failures.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/network_path.hpp"

namespace keyrevoke::app {

// The options as given (README, Network paths). `proxy`/`noproxy` distinguish "not given" from "".
struct network_options {
  std::optional<std::string> proxy;               // --proxy URL
  std::optional<std::string> noproxy;             // --noproxy LIST
  std::optional<std::string> proxy_user_file;     // --proxy-user-file FILE (user:password, first line)
  std::vector<core::connect_to_rule> connect_to;  // --connect-to, checked when parsed
  std::vector<core::resolve_rule> resolve;        // --resolve, checked when parsed
};

// Why a route could not be used: the exit code (2) and a sentence (never a credential).
struct route_failure {
  int code;
  std::string message;
};

// The route to `base` (core::plan_route with the process's environment and the --proxy-user-file's
// first line). Through a proxy and with `check_proxy`, one CONNECT (net::check_tunnel, within
// timeout_s per step): a refusal (407, 403, any 1xx/3xx/4xx, an answer that is not HTTP) is a
// route_failure (exit 2); a proxy that cannot be reached or answers 5xx is not (the run then meets
// the same failure and reports it as the server being unreachable, exit 4).
std::variant<core::route, route_failure> prepare_route(const network_options& options,
                                                       const core::base_url& base, double timeout_s,
                                                       bool check_proxy);

}  // namespace keyrevoke::app
