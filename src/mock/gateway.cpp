#include "keyrevoke/mock/gateway.hpp"

#include <charconv>
#include <cmath>

namespace keyrevoke::mock {
namespace {

constexpr double max_window_seconds = 86'400;

std::optional<double> parse_seconds(std::string_view text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
  if (text.empty() || ec != std::errc{} || ptr != end || !std::isfinite(value) || value < 0 ||
      value > max_window_seconds)
    return std::nullopt;
  return value;
}

mock_duration from_seconds(double s) {
  return mock_duration{static_cast<mock_duration::rep>(std::llround(s * 1e9))};
}

void append_status_line(std::string& out, unsigned status) {
  char code[8];
  const auto [end, ec] = std::to_chars(code, code + sizeof code, status);
  (void)ec;
  out.append(code, end).append(" ").append(gateway_reason(status));
}

}  // namespace

std::string_view gateway_reason(unsigned status) noexcept {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Temporarily Unavailable";
    case 504: return "Gateway Time-out";
    default: return "Error";
  }
}

void write_html_page(std::string& out, unsigned status) {
  out.append("<html>\r\n<head><title>");
  append_status_line(out, status);
  out.append("</title></head>\r\n<body>\r\n<center><h1>");
  append_status_line(out, status);
  out.append("</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n");
}

void write_big_html_page(std::string& out, unsigned status, std::size_t size) {
  const std::size_t begin = out.size();
  out.append("<html>\r\n<head><title>");
  append_status_line(out, status);
  out.append("</title></head>\r\n<body>\r\n<center><h1>");
  append_status_line(out, status);
  out.append("</h1></center>\r\n");
  constexpr std::string_view tail = "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
  constexpr std::string_view filler =
      "<p>The request could not be served at this time. Please wait and try again later.</p>\r\n";
  while (out.size() - begin + tail.size() + filler.size() <= size) out.append(filler);
  if (const std::size_t used = out.size() - begin + tail.size(); used < size) out.append(size - used, ' ');
  out.append(tail);
}

std::optional<throttle_body> parse_throttle_body(std::string_view text) {
  if (text == "api") return throttle_body::api;
  if (text == "html") return throttle_body::html;
  if (text == "big") return throttle_body::big;
  return std::nullopt;
}

std::string_view to_string(throttle_body b) {
  switch (b) {
    case throttle_body::api: return "api";
    case throttle_body::html: return "html";
    case throttle_body::big: return "big";
  }
  return "api";
}

std::optional<outage_kind> parse_outage_kind(std::string_view text) {
  if (text == "502") return outage_kind::bad_gateway;
  if (text == "503") return outage_kind::unavailable;
  if (text == "504") return outage_kind::gateway_timeout;
  if (text == "reset") return outage_kind::reset;
  if (text == "429") return outage_kind::throttle;
  return std::nullopt;
}

std::string_view to_string(outage_kind k) {
  switch (k) {
    case outage_kind::bad_gateway: return "502";
    case outage_kind::unavailable: return "503";
    case outage_kind::gateway_timeout: return "504";
    case outage_kind::reset: return "reset";
    case outage_kind::throttle: return "429";
  }
  return "502";
}

std::optional<outage_window> parse_outage(std::string_view text) {
  const auto first = text.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = text.find(':', first + 1);
  const auto start = parse_seconds(text.substr(0, first));
  const auto duration = parse_seconds(
      text.substr(first + 1, second == std::string_view::npos ? std::string_view::npos : second - first - 1));
  if (!start || !duration || *duration <= 0) return std::nullopt;
  outage_window w{from_seconds(*start), from_seconds(*duration), outage_kind::bad_gateway};
  if (second != std::string_view::npos) {
    const auto kind = parse_outage_kind(text.substr(second + 1));
    if (!kind) return std::nullopt;
    w.kind = *kind;
  }
  if (w.duration.count() <= 0) return std::nullopt;  // below a nanosecond
  return w;
}

std::optional<outage_hit> outage_at(const std::vector<outage_window>& windows,
                                    mock_duration elapsed) noexcept {
  for (const auto& w : windows) {
    if (elapsed >= w.start && elapsed < w.start + w.duration)
      return outage_hit{w.kind, w.start + w.duration - elapsed};
  }
  return std::nullopt;
}

}  // namespace keyrevoke::mock
