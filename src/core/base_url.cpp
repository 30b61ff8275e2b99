#include "keyrevoke/core/base_url.hpp"

#include <algorithm>

namespace keyrevoke::core {
namespace {

constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool is_alnum(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::string quoted(std::string_view text) {
  // For error messages: printable ASCII only, and not too long.
  std::string out = "\"";
  for (const char c : text.substr(0, 80)) out.push_back(c > 0x20 && c < 0x7f ? c : '?');
  if (text.size() > 80) out.append("...");
  out.push_back('"');
  return out;
}

// RFC 3986 pchar and '/', with percent-escapes checked.
bool valid_path(std::string_view path) noexcept {
  constexpr std::string_view allowed = "-._~!$&'()*+,;=:@/";
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (is_alnum(c) || allowed.find(c) != std::string_view::npos) continue;
    if (c == '%' && i + 2 < path.size() && is_hex(path[i + 1]) && is_hex(path[i + 2])) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace

std::variant<base_url, std::string> parse_base_url(std::string_view url) {
  constexpr std::string_view space = " \t\r\n";
  const std::size_t first = url.find_first_not_of(space);
  url = first == std::string_view::npos ? std::string_view{} : url.substr(first, url.find_last_not_of(space) - first + 1);
  if (url.empty()) return std::string("The base URL is empty; expected e.g. https://modelgates.ai/api/v1.");

  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return "The base URL " + quoted(url) + " must start with https:// (or http://), e.g. https://modelgates.ai/api/v1.";
  }
  base_url out{};
  const std::string scheme = lowered(url.substr(0, scheme_end));
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme == "http") {
    out.tls = false;
  } else {
    return "The base URL's scheme " + quoted(scheme) + " is not supported; use https:// (or http://).";
  }

  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find('?') != std::string_view::npos) return std::string("The base URL must not contain a query ('?...').");
  if (rest.find('#') != std::string_view::npos) return std::string("The base URL must not contain a fragment ('#...').");
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return std::string(
        "The base URL must not contain a user name or password (user@host); the management key is passed "
        "separately.");
  }

  std::string_view host;
  std::string_view port;
  bool has_port = false;
  bool ipv6 = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "The IPv6 address in " + quoted(authority) + " lacks its closing ']'.";
    host = authority.substr(1, close - 1);
    ipv6 = true;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "Unexpected characters after the IPv6 address in " + quoted(authority) + ".";
      port = after.substr(1);
      has_port = true;
    }
    if (host.empty() || host.find(':') == std::string_view::npos ||
        !std::all_of(host.begin(), host.end(), [](char c) { return is_hex(c) || c == ':' || c == '.'; })) {
      return "The IPv6 address " + quoted(host) + " is not valid.";
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
      if (port.find(':') != std::string_view::npos) {
        return "The host " + quoted(authority) + " has more than one ':'; an IPv6 address needs brackets, e.g. https://[::1]:8443.";
      }
    }
    if (host.empty()) return "The base URL " + quoted(url) + " has no host name.";
    if (!std::all_of(host.begin(), host.end(), [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; })) {
      return "The host name " + quoted(host) + " contains characters that are not allowed.";
    }
  }

  const std::string_view default_port = out.tls ? "443" : "80";
  if (has_port) {
    unsigned value = 0;
    const bool digits = !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (digits) {
      for (const char c : port) value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!digits || value == 0 || value > 65535) {
      return "The port " + quoted(port) + " is not a number from 1 to 65535.";
    }
    out.port = std::to_string(value);
  } else {
    out.port = default_port;
  }

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!valid_path(path)) {
    return "The path " + quoted(path) + " contains characters that are not allowed in a URL (percent-encode them).";
  }
  out.path = path;
  out.host = lowered(host);
  out.host_header = ipv6 ? "[" + out.host + "]" : out.host;
  if (out.port != default_port) out.host_header.append(":").append(out.port);
  out.canonical = (out.tls ? "https://" : "http://") + out.host_header + out.path;
  return out;
}

void key_target(std::string& out, const base_url& base, const key_hash& hash) {
  constexpr std::string_view keys = "/keys/";
  out.clear();
  out.reserve(base.path.size() + keys.size() + key_hash_hex_size);
  out.append(base.path).append(keys);
  const std::size_t at = out.size();
  out.resize(at + key_hash_hex_size);
  write_hex(hash, out.data() + at);
}

}  // namespace keyrevoke::core
