#pragma once
// The network path to the origin: which proxy (if any) a connection goes through, where TCP connects,
// and which addresses it uses. Pure: the environment is a lookup function, files are read by the
// caller. The rules are curl's (so that a responder's HTTPS_PROXY / NO_PROXY / --connect-to /
// --resolve mean here what they mean to curl), from curl's lib/url.c and lib/noproxy.c:
//
//  - A proxy from --proxy wins over the environment. Without it: for an https:// origin
//    `https_proxy`, then `HTTPS_PROXY`; for an http:// origin only `http_proxy` (curl ignores
//    HTTP_PROXY: a CGI program gets it from a request's "Proxy:" header); then `all_proxy`, then
//    `ALL_PROXY`. The first variable that is set is the one used: set but empty means "no proxy".
//    An empty --proxy "" also means no proxy (and overrides the environment).
//  - --noproxy LIST, else `no_proxy`, else `NO_PROXY`, is matched against the origin's host name
//    (not its port) and, when it matches, no proxy is used: also not the one --proxy names.
//  - --connect-to rules redirect only where TCP connects: TLS (SNI, the certificate's name) and the
//    Host field stay the origin's. Through a proxy, the rule's target is what CONNECT asks for.
//  - --resolve pins the addresses of the host:port actually dialled: the origin (or its --connect-to
//    target) directly, or the proxy. Through a proxy the origin's name is never resolved here: the
//    proxy resolves it.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "keyrevoke/core/base_url.hpp"

namespace keyrevoke::core {

// A proxy's credentials (percent-decoded). Secrets: never in a message.
struct proxy_credentials {
  std::string user;      // no ':' (RFC 7617 2: the user-id cannot contain one), no control characters
  std::string password;  // may be empty; no control characters
};

// A proxy URL: [http://][user[:password]@]host[:port][/]. Only HTTP proxies (CONNECT over plain TCP);
// https:// (TLS to the proxy) and socks4/4a/5/5h:// proxies are refused with a sentence that says so.
struct proxy_url {
  std::string host;                              // lower-case; IPv6 without brackets
  std::string port;                              // "1080" when not given (curl's default proxy port)
  std::optional<proxy_credentials> credentials;  // from the userinfo, when there is one
  std::string display;                           // "http://host:port", never the userinfo
};

// Errors are sentences that never contain the URL's userinfo (a password).
std::variant<proxy_url, std::string> parse_proxy_url(std::string_view text);

// `user:password` (the first line of --proxy-user-file, without its line ending; the password may
// contain ':'). Errors never contain the text.
std::variant<proxy_credentials, std::string> parse_proxy_user(std::string_view line);

// curl's Curl_check_noproxy (lib/noproxy.c), for a host as base_url holds it (lower-case, IPv6 without
// brackets): "*" as the whole list matches every host. Otherwise the list is split at commas (blanks
// around entries ignored; an entry ends at a blank, as in curl). For a host name, an entry matches
// the name itself or a domain it is in ("example.com" and ".example.com" match example.com and
// www.example.com, not notexample.com), case-insensitively, a trailing dot ignored on both sides. For
// an IP literal host, an entry is an address, optionally with a CIDR prefix length (10.0.0.0/8,
// fe80::/10); /0 on IPv4 compares the whole address, as curl does. Entries never carry ports: an entry
// with one ("example.com:443") matches nothing, as in curl.
bool no_proxy_matches(std::string_view host, std::string_view list);

// --connect-to HOST:PORT:HOST2:PORT2 (curl's meaning): a connection meant for HOST:PORT goes to
// HOST2:PORT2 instead. HOST or PORT empty: any host or port; HOST2 or PORT2 empty: the origin's own.
// IPv6 hosts in brackets. The first rule that matches applies.
struct connect_to_rule {
  std::string host;     // lower-case, IPv6 without brackets; empty: any
  std::string port;     // empty: any
  std::string to_host;  // lower-case, IPv6 without brackets; empty: the origin's host
  std::string to_port;  // empty: the origin's port
};
std::variant<connect_to_rule, std::string> parse_connect_to(std::string_view text);

// --resolve [+]HOST:PORT:ADDR[,ADDR...] (curl's meaning): HOST:PORT resolves to these addresses (IP
// literals, IPv6 with or without brackets). HOST "*" is any host on that port, used only when no rule
// names the host. curl's "+" prefix (a cache entry that expires) is accepted and means the same here;
// its "-HOST:PORT" (remove an entry) has no use on one command line and is refused.
struct resolve_rule {
  std::string host;  // lower-case; "*": any
  std::string port;
  std::vector<std::string> addresses;  // IP literals in canonical text, IPv6 without brackets
};
std::variant<resolve_rule, std::string> parse_resolve(std::string_view text);

// What the user gave (options and files); the environment comes separately.
struct network_settings {
  std::optional<std::string> proxy;             // --proxy as given ("" = no proxy)
  std::optional<std::string> noproxy;           // --noproxy as given
  std::optional<proxy_credentials> proxy_user;  // --proxy-user-file's user:password
  std::vector<connect_to_rule> connect_to;      // in order given
  std::vector<resolve_rule> resolve;            // in order given
};

// The proxy a route goes through.
struct proxy_route {
  std::string host, port;     // dialled (and resolved) instead of the origin
  std::string display;        // "http://host:port": for messages (never credentials)
  std::string source;         // where it came from: "--proxy", "https_proxy", "HTTPS_PROXY", "all_proxy"...
  std::string authorization;  // the Proxy-Authorization value ("Basic ..."), empty without credentials
};

// Where a connection to the origin goes.
struct route {
  std::string dial_host, dial_port;  // the TCP peer: the proxy, or the origin / its --connect-to target
  std::vector<std::string> pinned;   // --resolve's addresses for dial_host:dial_port; empty: resolve it
  std::optional<proxy_route> proxy;
  // Through a proxy: CONNECT's request-target, authority-form host:port (RFC 9110 9.3.6), IPv6 in
  // brackets: the origin, or its --connect-to target.
  std::string tunnel_target;
  bool connect_to_applied = false;  // a --connect-to rule changed the destination
};

// The direct route: TCP to the origin's host and port, resolved by name.
route direct_route(const base_url& origin);

// getenv's shape: the variable's value, or nullptr when unset.
using env_lookup = std::function<const char*(const char* name)>;

// The route to `origin` by the rules at the top. Errors (exit 2 material) are sentences that never
// contain credentials: an unparsable proxy URL (naming where it came from), credentials in the URL and
// in --proxy-user-file both, a password in --proxy's URL (it would show in `ps`).
std::variant<route, std::string> plan_route(const base_url& origin, const network_settings& settings,
                                            const env_lookup& env);

// "Basic " + base64(user ":" password) (RFC 7617 2).
std::string basic_authorization(const proxy_credentials& credentials);

// The CONNECT request for `r` (which has a proxy): request line, Host (the target, RFC 9110 7.2),
// Proxy-Authorization when the route has credentials, User-Agent.
std::string connect_request(const route& r, std::string_view user_agent);

// What the proxy's answer to CONNECT means (RFC 9110 9.3.6: any 2xx opens the tunnel).
enum class tunnel_answer {
  established,  // 2xx
  refused,      // 1xx, 3xx or 4xx (407 credentials, 403 policy...): the configuration's doing (exit 2)
  failed,       // 5xx (502/503/504: the proxy could not reach the origin): a connection failure
};
tunnel_answer classify_tunnel_answer(unsigned status) noexcept;

// The sentence for a proxy's non-2xx answer, e.g. "proxy http://p:3128 (from HTTPS_PROXY) answered
// CONNECT api.example:443 with 407 Proxy Authentication Required: ...". `reason` is the proxy's
// reason phrase (sanitised here); `had_credentials` words the 407 advice.
std::string describe_tunnel_answer(const route& r, unsigned status, std::string_view reason);

}  // namespace keyrevoke::core
