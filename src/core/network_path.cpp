#include "keyrevoke/core/network_path.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "keyrevoke/core/verdict.hpp"

namespace keyrevoke::core {

namespace {

constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }  // curl's ISBLANK

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// For messages: printable ASCII, bounded. Used only on text that holds no credentials.
std::string quoted(std::string_view text) {
  std::string out = "'";
  for (const char c : text.substr(0, 80)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > 80) out.append("...");
  out.push_back('\'');
  return out;
}

// A decimal port 1..65535 without a sign or leading zeros beyond "0"-free digits; "" when invalid.
std::string checked_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), is_digit)) return {};
  const unsigned long value = std::stoul(std::string{text});
  if (value < 1 || value > 65535) return {};
  return std::to_string(value);
}

// inet_pton reads up to a NUL: text with one inside is no address (its tail would be ignored).
bool has_nul(const std::string& text) noexcept { return text.find('\0') != std::string::npos; }

bool is_ipv4(const std::string& text) {
  std::array<unsigned char, 4> out{};
  return !has_nul(text) && ::inet_pton(AF_INET, text.c_str(), out.data()) == 1;
}

bool is_ipv6(const std::string& text) {
  std::array<unsigned char, 16> out{};
  return !has_nul(text) && ::inet_pton(AF_INET6, text.c_str(), out.data()) == 1;
}

// An IP literal in its canonical text (inet_ntop), or "" when `text` is none.
std::string canonical_ip(const std::string& text) {
  std::array<unsigned char, 16> bytes{};
  std::array<char, 64> out{};
  if (has_nul(text)) return {};
  if (::inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) {
    return ::inet_ntop(AF_INET, bytes.data(), out.data(), out.size()) != nullptr ? std::string{out.data()}
                                                                                 : "";
  }
  if (::inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1) {
    return ::inet_ntop(AF_INET6, bytes.data(), out.data(), out.size()) != nullptr ? std::string{out.data()}
                                                                                  : "";
  }
  return {};
}

// A registered name as a host: letters, digits, '-', '.', '_' (no percent-escapes, no IDN here).
bool is_reg_name(std::string_view text) noexcept {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; });
}

// host (a name, an IPv4 literal or a bracketed IPv6 literal) at the start of `text`, up to the next
// ':' (or the end). Sets `host` (lower-case, no brackets) and returns the rest (starting at ':' or
// empty); nullopt when malformed. An empty host is allowed (the caller decides).
std::optional<std::string_view> take_host(std::string_view text, std::string& host) {
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = lowered(text.substr(1, close - 1));
    if (!is_ipv6(host)) return std::nullopt;
    // Only ':' (or the end) may follow: "[::1]x8080" is no host and port.
    if (close + 1 < text.size() && text[close + 1] != ':') return std::nullopt;
    return text.substr(close + 1);
  }
  const std::size_t colon = text.find(':');
  host = lowered(text.substr(0, colon));
  if (!host.empty() && !is_reg_name(host)) return std::nullopt;
  return colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
}

int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 2.1 percent-decoding; nullopt on a malformed escape.
std::optional<std::string> percent_decoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

bool has_control(std::string_view text) noexcept {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// curl's Curl_cidr4_match / Curl_cidr6_match.
bool cidr_match(bool v6, const std::string& address, const std::string& network, unsigned bits) {
  std::array<unsigned char, 16> a{}, n{};
  const int family = v6 ? AF_INET6 : AF_INET;
  if (has_nul(address) || has_nul(network)) return false;
  if (!v6 && bits > 32) return false;
  if (::inet_pton(family, address.c_str(), a.data()) != 1) return false;
  if (::inet_pton(family, network.c_str(), n.data()) != 1) return false;
  if (!v6) {
    if (bits == 0 || bits == 32) return std::equal(a.begin(), a.begin() + 4, n.begin());
    std::uint32_t ha = 0, hn = 0;
    for (int i = 0; i < 4; ++i) {
      ha = (ha << 8) | a[static_cast<std::size_t>(i)];
      hn = (hn << 8) | n[static_cast<std::size_t>(i)];
    }
    const std::uint32_t mask = 0xffffffffU << (32 - bits);
    return ((ha ^ hn) & mask) == 0;
  }
  if (bits == 0) bits = 128;
  const unsigned bytes = bits / 8;
  const unsigned rest = bits & 7U;
  if (bytes > 16 || (bytes == 16 && rest != 0)) return false;
  if (bytes != 0 && !std::equal(a.begin(), a.begin() + bytes, n.begin())) return false;
  if (rest != 0 && ((a[bytes] ^ n[bytes]) & (0xffU << (8 - rest)) & 0xffU) != 0) return false;
  return true;
}

bool match_ip_entry(bool v6, const std::string& host, std::string_view entry) {
  if (entry.size() >= 128) return false;  // curl: cannot match
  std::string network{entry};
  unsigned bits = 0;
  if (const std::size_t slash = network.find('/'); slash != std::string::npos) {
    const std::string_view digits = std::string_view{network}.substr(slash + 1);
    // curl: a number up to 128 and nothing after it.
    if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), is_digit))
      return false;
    const unsigned long value = std::stoul(std::string{digits});
    if (value > 128) return false;
    bits = static_cast<unsigned>(value);
    network.resize(slash);
  }
  return cidr_match(v6, host, network, bits);
}

bool match_host_entry(std::string_view entry, std::string_view name) {
  if (entry.back() == '.') entry.remove_suffix(1);
  if (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
  if (entry.size() == name.size()) return iequals(entry, name);
  if (entry.size() < name.size()) {
    return name[name.size() - entry.size() - 1] == '.' &&
           iequals(entry, name.substr(name.size() - entry.size()));
  }
  return false;
}

std::string authority(const std::string& host, const std::string& port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const auto v = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) |
                   (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8) |
                   static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(base64_alphabet[(v >> shift) & 63U]);
  }
  if (const std::size_t left = in.size() - i; left != 0) {
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    if (left == 2) v |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
    out.push_back(base64_alphabet[(v >> 18) & 63U]);
    out.push_back(base64_alphabet[(v >> 12) & 63U]);
    out.push_back(left == 2 ? base64_alphabet[(v >> 6) & 63U] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace

std::variant<proxy_url, std::string> parse_proxy_url(std::string_view text) {
  std::string_view rest = text;
  if (const std::size_t scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    const std::string scheme = lowered(rest.substr(0, scheme_end));
    if (scheme == "https") {
      return std::string{
          "https:// proxies (TLS to the proxy) are not supported; an http:// proxy still carries TLS to the "
          "server inside its CONNECT tunnel"};
    }
    if (scheme == "socks4" || scheme == "socks4a" || scheme == "socks5" || scheme == "socks5h") {
      return "SOCKS proxies (" + scheme + "://) are not supported; only http:// proxies (CONNECT)";
    }
    if (scheme != "http") {
      return "unknown proxy scheme " + quoted(scheme.substr(0, 20)) + "; only http:// proxies are supported";
    }
    rest.remove_prefix(scheme_end + 3);
  }
  // The authority ends at a '/'; only an empty path or "/" may follow (a proxy has no path).
  const std::size_t slash = rest.find_first_of("/?#");
  if (slash != std::string_view::npos) {
    if (rest.substr(slash) != "/")
      return std::string{"a proxy URL has no path, query or fragment (only http://host:port)"};
    rest = rest.substr(0, slash);
  }
  proxy_url out;
  // The userinfo ends at the last '@' (a password may hold a raw '@'). Never echoed.
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const std::size_t colon = userinfo.find(':');
    auto user = percent_decoded(userinfo.substr(0, colon));
    auto password = colon == std::string_view::npos ? std::optional<std::string>{std::string{}}
                                                    : percent_decoded(userinfo.substr(colon + 1));
    if (!user || !password) return std::string{"the proxy URL's user:password has a malformed %-escape"};
    if (user->find(':') != std::string::npos || has_control(*user) || has_control(*password)) {
      return std::string{
          "the proxy URL's user name or password holds a control character (or the user name a ':')"};
    }
    out.credentials = proxy_credentials{std::move(*user), std::move(*password)};
  }
  std::string host;
  const auto after = take_host(rest, host);
  if (!after || host.empty()) return "the proxy URL has no valid host " + quoted(rest);
  std::string port = "1080";
  if (!after->empty()) {
    port = checked_port(after->substr(1));
    if (port.empty()) return "the proxy URL's port must be 1 to 65535, not " + quoted(after->substr(1));
  }
  out.host = std::move(host);
  out.port = std::move(port);
  out.display = "http://" + authority(out.host, out.port);
  return out;
}

std::variant<proxy_credentials, std::string> parse_proxy_user(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return std::string{"expected one line user:password (the user name not empty)"};
  }
  proxy_credentials c{std::string{line.substr(0, colon)}, std::string{line.substr(colon + 1)}};
  if (has_control(c.user) || has_control(c.password)) {
    return std::string{"the user name or password holds a control character"};
  }
  return c;
}

bool no_proxy_matches(std::string_view host, std::string_view list) {
  if (host.empty() || list.empty()) return false;
  if (list == "*") return true;
  const std::string name{host};
  const bool v4 = is_ipv4(name);
  const bool v6 = !v4 && is_ipv6(name);
  std::string_view bare = host;
  if (!v4 && !v6 && bare.back() == '.') bare.remove_suffix(1);  // a trailing dot on the name is ignored
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && is_blank(list[i])) ++i;
    const std::size_t start = i;
    while (i < list.size() && !is_blank(list[i]) && list[i] != ',') ++i;
    const std::string_view entry = list.substr(start, i - start);
    if (!entry.empty()) {
      const bool match = (v4 || v6) ? match_ip_entry(v6, name, entry) : match_host_entry(entry, bare);
      if (match) return true;
    }
    while (i < list.size() && is_blank(list[i])) ++i;
    if (i >= list.size() || list[i] != ',') break;  // curl: anything but a comma ends the list
    while (i < list.size() && list[i] == ',') ++i;
  }
  return false;
}

std::variant<connect_to_rule, std::string> parse_connect_to(std::string_view text) {
  const std::string format = "--connect-to takes HOST:PORT:HOST2:PORT2 (any field may be empty; IPv6 in [])";
  connect_to_rule rule;
  auto rest = take_host(text, rule.host);
  if (!rest || rest->empty()) return format + ", not " + quoted(text);
  std::string_view r = rest->substr(1);
  std::size_t colon = r.find(':');
  if (colon == std::string_view::npos) return format + ", not " + quoted(text);
  if (colon != 0) {
    rule.port = checked_port(r.substr(0, colon));
    if (rule.port.empty()) return format + ": bad PORT in " + quoted(text);
  }
  r.remove_prefix(colon + 1);
  rest = take_host(r, rule.to_host);
  if (!rest) return format + ": bad HOST2 in " + quoted(text);
  if (!rest->empty()) {  // curl accepts HOST:PORT:HOST2 without ":PORT2"
    const std::string_view port = rest->substr(1);
    if (!port.empty()) {
      rule.to_port = checked_port(port);
      if (rule.to_port.empty()) return format + ": bad PORT2 in " + quoted(text);
    }
  }
  return rule;
}

std::variant<resolve_rule, std::string> parse_resolve(std::string_view text) {
  const std::string format = "--resolve takes HOST:PORT:ADDRESS[,ADDRESS...] (addresses are IP literals)";
  std::string_view r = text;
  if (!r.empty() && r.front() == '+') r.remove_prefix(1);
  if (!r.empty() && r.front() == '-') return format + "; curl's -HOST:PORT removal has no use here";
  resolve_rule rule;
  const std::size_t host_end = r.find(':');
  if (host_end == std::string_view::npos || host_end == 0) return format + ", not " + quoted(text);
  rule.host = lowered(r.substr(0, host_end));
  if (rule.host != "*" && !is_reg_name(rule.host)) return format + ": bad HOST in " + quoted(text);
  r.remove_prefix(host_end + 1);
  const std::size_t port_end = r.find(':');
  if (port_end == std::string_view::npos) return format + ", not " + quoted(text);
  rule.port = checked_port(r.substr(0, port_end));
  if (rule.port.empty()) return format + ": bad PORT in " + quoted(text);
  r.remove_prefix(port_end + 1);
  while (true) {
    const std::size_t comma = r.find(',');
    std::string_view address = r.substr(0, comma);
    if (!address.empty() && address.front() == '[') {
      if (address.size() < 2 || address.back() != ']') return format + ": bad address in " + quoted(text);
      address = address.substr(1, address.size() - 2);
    }
    if (!address.empty()) {  // curl skips empty entries
      const std::string canonical = canonical_ip(std::string{address});
      if (canonical.empty()) return format + ": " + quoted(address) + " is not an IP address";
      rule.addresses.push_back(canonical);
    }
    if (comma == std::string_view::npos) break;
    r.remove_prefix(comma + 1);
  }
  if (rule.addresses.empty()) return format + ": no address in " + quoted(text);
  return rule;
}

route direct_route(const base_url& origin) {
  route r;
  r.dial_host = origin.host;
  r.dial_port = origin.port;
  return r;
}

std::variant<route, std::string> plan_route(const base_url& origin, const network_settings& settings,
                                            const env_lookup& env) {
  const auto lookup = [&](const char* name) -> const char* { return env ? env(name) : nullptr; };
  route r = direct_route(origin);

  // --connect-to: the first rule whose HOST and PORT match the origin's.
  std::string target_host = origin.host, target_port = origin.port;
  for (const connect_to_rule& rule : settings.connect_to) {
    if (!rule.host.empty() && !iequals(rule.host, origin.host)) continue;
    if (!rule.port.empty() && rule.port != origin.port) continue;
    if (rule.to_host.empty() && rule.to_port.empty()) continue;  // curl: no destination, look further
    if (!rule.to_host.empty()) target_host = rule.to_host;
    if (!rule.to_port.empty()) target_port = rule.to_port;
    r.connect_to_applied = true;
    break;
  }

  // The proxy: --proxy, else the environment; none when the no-proxy list matches the origin's host.
  std::optional<std::string> proxy_text;
  std::string source;
  if (settings.proxy) {
    proxy_text = *settings.proxy;
    source = "--proxy";
  }
  std::string noproxy;
  if (settings.noproxy) {
    noproxy = *settings.noproxy;
  } else if (const char* v = lookup("no_proxy")) {
    noproxy = v;
  } else if (const char* upper = lookup("NO_PROXY")) {
    noproxy = upper;
  }
  if (no_proxy_matches(origin.host, noproxy)) {
    proxy_text.reset();
  } else if (!proxy_text) {
    const std::array<const char*, 4> names =
        origin.tls ? std::array<const char*, 4>{"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}
                   : std::array<const char*, 4>{"http_proxy", nullptr, "all_proxy", "ALL_PROXY"};
    for (const char* name : names) {
      if (name == nullptr) continue;
      if (const char* v = lookup(name)) {
        proxy_text = v;
        source = name;
        break;
      }
    }
  }

  if (proxy_text && !proxy_text->empty()) {
    auto parsed = parse_proxy_url(*proxy_text);
    if (const auto* error = std::get_if<std::string>(&parsed)) {
      return "the proxy URL from " + source + ": " + *error;
    }
    proxy_url& proxy = std::get<proxy_url>(parsed);
    if (source == "--proxy" && proxy.credentials && !proxy.credentials->password.empty()) {
      return std::string{
          "--proxy: a password on the command line shows in `ps`; put the credentials in --proxy-user-file "
          "(user:password) or in HTTPS_PROXY"};
    }
    if (proxy.credentials && settings.proxy_user) {
      return "the proxy URL from " + source +
             " has credentials and --proxy-user-file gives others; use one of them";
    }
    proxy_route p;
    p.host = proxy.host;
    p.port = proxy.port;
    p.display = proxy.display;
    p.source = source;
    if (const auto& credentials = proxy.credentials ? proxy.credentials : settings.proxy_user) {
      p.authorization = basic_authorization(*credentials);
    }
    r.dial_host = p.host;
    r.dial_port = p.port;
    r.tunnel_target = authority(target_host, target_port);
    r.proxy = std::move(p);
  } else {
    r.dial_host = target_host;
    r.dial_port = target_port;
  }

  // --resolve: the dialled host:port's rule, else a "*" rule on that port. An IP literal is dialled as is.
  if (canonical_ip(r.dial_host).empty()) {
    const resolve_rule* wildcard = nullptr;
    for (const resolve_rule& rule : settings.resolve) {
      if (rule.port != r.dial_port) continue;
      if (iequals(rule.host, r.dial_host)) {
        r.pinned = rule.addresses;
        wildcard = nullptr;
        break;
      }
      if (rule.host == "*" && wildcard == nullptr) wildcard = &rule;
    }
    if (r.pinned.empty() && wildcard != nullptr) r.pinned = wildcard->addresses;
  }
  return r;
}

std::string basic_authorization(const proxy_credentials& credentials) {
  return "Basic " + base64(credentials.user + ":" + credentials.password);
}

std::string connect_request(const route& r, std::string_view user_agent) {
  std::string out;
  out.append("CONNECT ").append(r.tunnel_target).append(" HTTP/1.1\r\n");
  out.append("Host: ").append(r.tunnel_target).append("\r\n");
  if (r.proxy && !r.proxy->authorization.empty()) {
    out.append("Proxy-Authorization: ").append(r.proxy->authorization).append("\r\n");
  }
  out.append("User-Agent: ").append(user_agent).append("\r\n\r\n");
  return out;
}

tunnel_answer classify_tunnel_answer(unsigned status) noexcept {
  if (status >= 200 && status < 300) return tunnel_answer::established;
  if (status >= 500 && status < 600) return tunnel_answer::failed;
  return tunnel_answer::refused;
}

std::string describe_tunnel_answer(const route& r, unsigned status, std::string_view reason) {
  std::string out = "proxy ";
  if (r.proxy) out += r.proxy->display + " (from " + r.proxy->source + ")";
  out += " answered CONNECT " + r.tunnel_target + " with " + std::to_string(status);
  if (!reason.empty()) {
    out += ' ';
    append_sanitized(out, reason, 60);
  }
  const bool credentials = r.proxy && !r.proxy->authorization.empty();
  switch (status) {
    case 407:
      out += credentials ? ": it rejected the proxy credentials (check them)"
                         : ": it requires credentials (user:password in the proxy URL, or --proxy-user-file)";
      break;
    case 403:
      out += ": it does not allow this destination";
      break;
    default:
      break;
  }
  if (status >= 500 && status < 600) out += ": it could not reach the server";
  return out;
}

}  // namespace keyrevoke::core
