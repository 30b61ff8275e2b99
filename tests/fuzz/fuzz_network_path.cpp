// The network path parsers (--proxy / HTTPS_PROXY URLs, --proxy-user-file, NO_PROXY lists,
// --connect-to, --resolve) and the route they make: no input crashes them, accepted values are
// well-formed, errors never echo credentials, and the CONNECT request never carries a stray line.
// The first byte picks the parser; the rest is its input.

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <string>
#include <variant>

#include "fuzz_check.hpp"
#include "keyrevoke/core/network_path.hpp"

namespace kc = keyrevoke::core;

namespace {

bool is_ip(const std::string& text) {
  std::array<unsigned char, 16> out{};
  return ::inet_pton(AF_INET, text.c_str(), out.data()) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), out.data()) == 1;
}

bool valid_port(const std::string& port) {
  if (port.empty() || port.size() > 5 || port.front() == '0') return false;
  const unsigned long value = std::stoul(port);
  return value >= 1 && value <= 65535;
}

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const kc::base_url origin =
      std::get<kc::base_url>(kc::parse_base_url("https://api.example.test:8443/api/v1"));
  switch (data[0] % 5) {
    case 0: {
      const auto parsed = kc::parse_proxy_url(input);
      if (const auto* error = std::get_if<std::string>(&parsed)) {
        for (const char c : *error) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
        // The userinfo (between the scheme and the last '@' of the authority) is never quoted back:
        // the same input with its letters g-z changed (escapes, ':' and control bytes kept) gives the
        // very same sentence.
        const std::size_t scheme = input.find("://");
        const std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
        const std::size_t at = input.rfind('@');
        if (at != std::string_view::npos && at >= start &&
            input.substr(start, at - start).find_first_of("/?#") == std::string_view::npos) {
          std::string mutated{input};
          for (std::size_t i = start; i < at; ++i) {
            const char c = mutated[i];
            if ((c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z')) mutated[i] = 'Q';
          }
          const auto again = kc::parse_proxy_url(mutated);
          FUZZ_CHECK(std::holds_alternative<std::string>(again) && std::get<std::string>(again) == *error);
        }
        break;
      }
      const auto& url = std::get<kc::proxy_url>(parsed);
      FUZZ_CHECK(!url.host.empty() && valid_port(url.port));
      FUZZ_CHECK(url.display.find('@') == std::string::npos);
      FUZZ_CHECK(url.display.rfind("http://", 0) == 0);
      if (url.credentials) {
        FUZZ_CHECK(url.credentials->user.find(':') == std::string::npos);
        for (const char c : url.credentials->user + url.credentials->password) {
          FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
        }
      }
      break;
    }
    case 1: {
      const auto parsed = kc::parse_proxy_user(input);
      if (const auto* c = std::get_if<kc::proxy_credentials>(&parsed)) {
        FUZZ_CHECK(!c->user.empty() && c->user.find(':') == std::string::npos);
        const std::string header = kc::basic_authorization(*c);
        FUZZ_CHECK(header.find_first_of("\r\n") == std::string::npos);
      }
      break;
    }
    case 2: {
      // host <newline> list
      const std::size_t split = input.find('\n');
      const std::string_view host = input.substr(0, split);
      const std::string_view list =
          split == std::string_view::npos ? std::string_view{} : input.substr(split + 1);
      const bool match = kc::no_proxy_matches(host, list);
      if (list == "*" && !host.empty()) FUZZ_CHECK(match);
      if (list.empty()) FUZZ_CHECK(!match);
      break;
    }
    case 3: {
      const auto parsed = kc::parse_connect_to(input);
      if (const auto* rule = std::get_if<kc::connect_to_rule>(&parsed)) {
        FUZZ_CHECK(rule->port.empty() || valid_port(rule->port));
        FUZZ_CHECK(rule->to_port.empty() || valid_port(rule->to_port));
        kc::network_settings settings;
        settings.proxy = "http://proxy.test:3128";
        settings.connect_to.push_back(*rule);
        const auto planned = kc::plan_route(origin, settings, {});
        FUZZ_CHECK(std::holds_alternative<kc::route>(planned));
        const std::string request = kc::connect_request(std::get<kc::route>(planned), "keyrevoke/fuzz");
        FUZZ_CHECK(count(request, "\r\n") == 4 && count(request, "\n") == 4);
      }
      break;
    }
    default: {
      const auto parsed = kc::parse_resolve(input);
      if (const auto* rule = std::get_if<kc::resolve_rule>(&parsed)) {
        FUZZ_CHECK(valid_port(rule->port) && !rule->addresses.empty());
        for (const std::string& address : rule->addresses) FUZZ_CHECK(is_ip(address));
        kc::network_settings settings;
        settings.resolve.push_back(*rule);
        const auto planned = kc::plan_route(origin, settings, {});
        FUZZ_CHECK(std::holds_alternative<kc::route>(planned));
        for (const std::string& address : std::get<kc::route>(planned).pinned) FUZZ_CHECK(is_ip(address));
      }
      break;
    }
  }
  return 0;
}
