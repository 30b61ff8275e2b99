#pragma once
// The API base URL (--base-url), split into what a connection and a request target need.

#include <string>
#include <string_view>
#include <variant>

#include "keyrevoke/core/key_hash.hpp"

namespace keyrevoke::core {

struct base_url {
  bool tls;
  std::string host;         // lower-case; IPv6 without brackets (for the resolver and SNI)
  std::string port;         // "443"/"80" when not given
  std::string path;         // without trailing '/', e.g. "/api/v1"; "" for the root
  std::string host_header;  // host[:port] if non-default; IPv6 in []
  std::string canonical;    // scheme://host_header + path: the whole base URL, normalised (what a plan binds)
};

// Accepts https://host[:port][/path] and http://... (scheme case-insensitive, surrounding
// whitespace ignored); rejects userinfo, query, fragment, empty host, bad port. The error text is a
// sentence for the user.
std::variant<base_url, std::string> parse_base_url(std::string_view url);

// Writes "{path}/keys/{hex}" into out (cleared first).
void key_target(std::string& out, const base_url& base, const key_hash& hash);

}  // namespace keyrevoke::core
