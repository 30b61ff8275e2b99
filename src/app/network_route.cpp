#include "keyrevoke/app/network_route.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "keyrevoke/app/revoke.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/net/proxy_tunnel.hpp"

namespace keyrevoke::app {

std::variant<core::route, route_failure> prepare_route(const network_options& options,
                                                       const core::base_url& base, double timeout_s,
                                                       bool check_proxy) {
  core::network_settings settings;
  settings.proxy = options.proxy;
  settings.noproxy = options.noproxy;
  settings.connect_to = options.connect_to;
  settings.resolve = options.resolve;
  if (options.proxy_user_file) {
    const std::string shown = core::safe_display(*options.proxy_user_file);
    std::ifstream in{*options.proxy_user_file};
    if (!in) {
      return route_failure{exit_usage, "cannot read --proxy-user-file '" + shown +
                                           "': " + std::generic_category().message(errno)};
    }
    std::string line;
    std::getline(in, line);
    auto parsed = core::parse_proxy_user(line);
    if (const auto* error = std::get_if<std::string>(&parsed)) {
      return route_failure{exit_usage, "--proxy-user-file '" + shown + "': " + *error};
    }
    settings.proxy_user = std::get<core::proxy_credentials>(std::move(parsed));
  }
  // Read before any thread starts: nothing sets the environment concurrently.
  const core::env_lookup env = [](const char* name) {
    return std::getenv(name);
  };  // NOLINT(concurrency-mt-unsafe)
  auto planned = core::plan_route(base, settings, env);
  if (auto* error = std::get_if<std::string>(&planned)) return route_failure{exit_usage, std::move(*error)};
  core::route route = std::get<core::route>(std::move(planned));
  if (route.proxy && check_proxy) {
    const auto timeout = core::millis{static_cast<core::millis::rep>(timeout_s * 1000.0)};
    const net::tunnel_result checked = net::check_tunnel(route, timeout);
    if (checked.error && checked.refused) {
      return route_failure{exit_usage, checked.detail + "; nothing was sent to the server"};
    }
  }
  return route;
}

}  // namespace keyrevoke::app
