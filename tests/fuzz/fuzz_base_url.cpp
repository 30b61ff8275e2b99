// --base-url parsing: accepted URLs must be self-consistent and round-trip; rejections are sentences.

#include <cstdint>
#include <string>
#include <variant>

#include "fuzz_check.hpp"
#include "keyrevoke/core/base_url.hpp"

namespace kc = keyrevoke::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parsed = kc::parse_base_url(input);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(!error->empty() && error->back() == '.');
    for (const char c : *error) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
    return 0;
  }
  const auto& url = std::get<kc::base_url>(parsed);
  FUZZ_CHECK(!url.host.empty());
  FUZZ_CHECK(!url.port.empty() && url.port.size() <= 5 && url.port.front() != '0');
  const unsigned long port = std::stoul(url.port);
  FUZZ_CHECK(port >= 1 && port <= 65535);
  FUZZ_CHECK(url.path.empty() || (url.path.front() == '/' && url.path.back() != '/'));
  for (const std::string* part : {&url.host, &url.path, &url.host_header}) {
    for (const char c : *part) FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '?' && c != '#' && c != '\\');
  }
  // '@' is a legal path character, but never part of the authority.
  FUZZ_CHECK(url.host.find('@') == std::string::npos && url.host_header.find('@') == std::string::npos);
  const bool default_port = url.port == (url.tls ? "443" : "80");
  FUZZ_CHECK(default_port == (url.host_header.find("]:") == std::string::npos &&
                              (url.host_header.front() == '[' || url.host_header.find(':') == std::string::npos)));

  // What we understood, written back as a URL, parses to the same thing.
  const std::string again = std::string(url.tls ? "https://" : "http://") + url.host_header + url.path;
  const auto reparsed = kc::parse_base_url(again);
  FUZZ_CHECK(std::holds_alternative<kc::base_url>(reparsed));
  const auto& second = std::get<kc::base_url>(reparsed);
  FUZZ_CHECK(second.tls == url.tls && second.host == url.host && second.port == url.port && second.path == url.path &&
             second.host_header == url.host_header);

  std::string target;
  kc::key_target(target, url, kc::key_hash{});
  FUZZ_CHECK(target == url.path + "/keys/" + std::string(64, '0'));
  return 0;
}
