#pragma once
// What a gateway or CDN in front of the API does that the API itself never would: HTML error pages
// (nginx's), throttle answers with another status or body, and windows of time during which it
// answers every request itself (the API behind it down). Pure: time is a parameter.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyrevoke/mock/token_bucket.hpp"

namespace keyrevoke::mock {

// RFC 9110's reason phrase as nginx prints it ("Gateway Time-out", "Service Temporarily
// Unavailable"); "Error" for a status it has no phrase for.
std::string_view gateway_reason(unsigned status) noexcept;

// Appends nginx's error page for `status` (about 170 bytes), e.g. "<html>...<h1>502 Bad Gateway</h1>
// ...nginx...</html>". Served with Content-Type: text/html.
void write_html_page(std::string& out, unsigned status);

// Appends the same page padded to `size` bytes (at least the small page's size) with a filler that
// is plain HTML text, as a CDN's branded error page: for the "a 100 KB body" throttle case.
inline constexpr std::size_t big_page_size = 100 * 1024;
void write_big_html_page(std::string& out, unsigned status, std::size_t size = big_page_size);

inline constexpr std::string_view html_content_type = "text/html";
inline constexpr std::string_view json_content_type = "application/json";

// The body of a throttle answer (--throttle-body): the API's JSON error, nginx's small HTML page,
// or a ~100 KB HTML page.
enum class throttle_body { api, html, big };
std::optional<throttle_body> parse_throttle_body(std::string_view text);  // "api", "html", "big"
std::string_view to_string(throttle_body b);

// What answers a request during an outage window (--outage START:DURATION[:KIND]).
enum class outage_kind {
  bad_gateway,      // "502": nginx's 502 HTML page (the default)
  unavailable,      // "503": nginx's 503 HTML page
  gateway_timeout,  // "504": nginx's 504 HTML page
  reset,            // "reset": the connection is closed abruptly, no answer
  throttle,         // "429": the configured throttle answer (--throttle-status/-body, --retry-after)
};
std::optional<outage_kind> parse_outage_kind(std::string_view text);
std::string_view to_string(outage_kind k);

// From `start` after the first API request the mock received, for `duration`.
struct outage_window {
  mock_duration start{0};
  mock_duration duration{0};
  outage_kind kind = outage_kind::bad_gateway;
};

// "START:DURATION[:KIND]", seconds as decimals (0 <= START, 0 < DURATION, both <= 86400), KIND as
// parse_outage_kind. nullopt on any syntax error.
std::optional<outage_window> parse_outage(std::string_view text);

struct outage_hit {
  outage_kind kind;
  mock_duration remaining;  // until the window ends (> 0)
};

// The window `elapsed` (time since the first API request) falls in, [start, start + duration);
// the first listed wins where windows overlap. nullopt outside every window.
std::optional<outage_hit> outage_at(const std::vector<outage_window>& windows,
                                    mock_duration elapsed) noexcept;

}  // namespace keyrevoke::mock
