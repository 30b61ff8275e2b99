#include "keyrevoke/core/retry_after.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

namespace keyrevoke::core {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t max_ms = std::numeric_limits<std::int64_t>::max();

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view space = " \t\r\n";
  const std::size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// A non-negative decimal "12", "1.5", "1.", ".5" in units of `scale` milliseconds (1000 for seconds,
// 1 for milliseconds), rounded up to whole milliseconds. nullopt on anything else or overflow.
std::optional<std::int64_t> parse_scaled(std::string_view text, std::int64_t scale) noexcept {
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() && fraction.empty()) return std::nullopt;
  if (!std::all_of(whole.begin(), whole.end(), is_digit)) return std::nullopt;
  if (!std::all_of(fraction.begin(), fraction.end(), is_digit)) return std::nullopt;

  std::int64_t value = 0;
  for (const char c : whole) {
    const int digit = c - '0';
    if (value > (max_ms - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (value > max_ms / scale) return std::nullopt;
  value *= scale;

  // The fraction: the digits that still count whole milliseconds, then round up on any remainder.
  std::int64_t place = scale;
  std::int64_t part = 0;
  bool remainder = false;
  for (const char c : fraction) {
    const int digit = c - '0';
    if (place >= 10) {
      place /= 10;
      part += digit * place;
    } else if (digit != 0) {
      remainder = true;
    }
  }
  if (remainder) ++part;
  if (value > max_ms - part) return std::nullopt;
  return value + part;
}

std::int64_t epoch_ms(std::chrono::system_clock::time_point now) noexcept {
  return std::chrono::floor<milliseconds>(now).time_since_epoch().count();
}

// Milliseconds from now until target_ms (epoch), 0 if past; nullopt if the difference overflows.
std::optional<milliseconds> until(std::int64_t target_ms, std::chrono::system_clock::time_point now) noexcept {
  const std::int64_t from = epoch_ms(now);
  if (target_ms <= from) return milliseconds{0};
  if (from < 0 && target_ms > max_ms + from) return std::nullopt;
  return milliseconds{target_ms - from};
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

constexpr std::array<std::string_view, 7> short_days = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> long_days = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_day_name(std::string_view token) noexcept {
  for (std::size_t i = 0; i < short_days.size(); ++i) {
    if (iequals(token, short_days[i]) || iequals(token, long_days[i])) return true;
  }
  return false;
}

std::optional<unsigned> month_number(std::string_view token) noexcept {
  for (std::size_t i = 0; i < months.size(); ++i) {
    if (iequals(token, months[i])) return static_cast<unsigned>(i + 1);
  }
  return std::nullopt;
}

// 1..max_digits decimal digits.
std::optional<int> small_number(std::string_view token, std::size_t min_digits, std::size_t max_digits) noexcept {
  if (token.size() < min_digits || token.size() > max_digits) return std::nullopt;
  int value = 0;
  for (const char c : token) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

struct time_of_day {
  int hour, minute, second;
};

std::optional<time_of_day> parse_time(std::string_view token) noexcept {
  const std::size_t first = token.find(':');
  const std::size_t second = first == std::string_view::npos ? first : token.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const auto h = small_number(token.substr(0, first), 1, 2);
  const auto m = small_number(token.substr(first + 1, second - first - 1), 2, 2);
  const auto s = small_number(token.substr(second + 1), 2, 2);
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 60) return std::nullopt;
  return time_of_day{*h, *m, *s};
}

}  // namespace

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view value,
                                                        std::chrono::system_clock::time_point now) noexcept {
  using namespace std::chrono;
  // Tokens separated by spaces, commas and the dashes of RFC 850's "06-Nov-94".
  std::array<std::string_view, 6> tokens{};
  std::size_t count = 0;
  value = trim(value);
  std::size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == ' ' || c == ',' || c == '-' || c == '\t') {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < value.size() && value[i] != ' ' && value[i] != ',' && value[i] != '-' && value[i] != '\t') ++i;
    if (count == tokens.size()) return std::nullopt;
    tokens[count++] = value.substr(start, i - start);
  }
  if (count < 5 || !is_day_name(tokens[0])) return std::nullopt;

  std::optional<unsigned> month;
  std::optional<int> day, year;
  std::optional<time_of_day> time;
  if ((month = month_number(tokens[1]))) {
    // asctime: "Sun Nov  6 08:49:37 1994" (a trailing "GMT" tolerated).
    day = small_number(tokens[2], 1, 2);
    time = parse_time(tokens[3]);
    year = small_number(tokens[4], 4, 4);
    if (count == 6 && !iequals(tokens[5], "GMT") && !iequals(tokens[5], "UTC")) return std::nullopt;
  } else {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
    if (count != 6 || (!iequals(tokens[5], "GMT") && !iequals(tokens[5], "UTC"))) return std::nullopt;
    day = small_number(tokens[1], 1, 2);
    month = month_number(tokens[2]);
    time = parse_time(tokens[4]);
    if (tokens[3].size() == 2) {
      const auto yy = small_number(tokens[3], 2, 2);
      if (yy) {
        const int now_year = static_cast<int>(year_month_day{floor<days>(now)}.year());
        int candidate = now_year / 100 * 100 + *yy;
        if (candidate > now_year + 50) candidate -= 100;
        else if (candidate < now_year - 50) candidate += 100;
        year = candidate;
      }
    } else {
      year = small_number(tokens[3], 4, 4);
    }
  }
  if (!month || !day || !year || !time) return std::nullopt;
  const year_month_day date{std::chrono::year{*year}, std::chrono::month{*month},
                            std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) return std::nullopt;
  return sys_days{date} + hours{time->hour} + minutes{time->minute} + seconds{time->second};
}

std::string format_http_date(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(when);
  const auto day_point = floor<days>(secs);
  const year_month_day date{day_point};
  const hh_mm_ss clock{secs - day_point};
  const weekday wd{day_point};
  std::string out;
  out.reserve(29);
  const auto two = [&out](long v) {
    out.push_back(static_cast<char>('0' + v / 10 % 10));
    out.push_back(static_cast<char>('0' + v % 10));
  };
  out.append(short_days[wd.c_encoding()]).append(", ");
  two(static_cast<unsigned>(date.day()));
  out.push_back(' ');
  out.append(months[static_cast<unsigned>(date.month()) - 1]).push_back(' ');
  const int y = static_cast<int>(date.year());
  two(y / 100);
  two(y % 100);
  out.push_back(' ');
  two(clock.hours().count());
  out.push_back(':');
  two(clock.minutes().count());
  out.push_back(':');
  two(static_cast<long>(clock.seconds().count()));
  out.append(" GMT");
  return out;
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) noexcept {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (is_digit(value.front()) || value.front() == '.') {
    const auto ms = parse_scaled(value, 1000);
    if (!ms) return std::nullopt;
    return milliseconds{*ms};
  }
  const auto date = parse_http_date(value, now);
  if (!date) return std::nullopt;
  return until(std::chrono::duration_cast<milliseconds>(date->time_since_epoch()).count(), now);
}

std::optional<milliseconds> parse_retry_after_ms(std::string_view value) noexcept {
  const auto ms = parse_scaled(trim(value), 1);
  if (!ms) return std::nullopt;
  return milliseconds{*ms};
}

std::optional<milliseconds> parse_ratelimit_reset(std::string_view value,
                                                  std::chrono::system_clock::time_point now) noexcept {
  value = trim(value);
  // The integer part decides the form; parse_scaled then checks the whole value.
  const std::string_view whole = value.substr(0, value.find('.'));
  if (!std::all_of(whole.begin(), whole.end(), is_digit)) return std::nullopt;
  const std::string_view significant = whole.substr(std::min(whole.find_first_not_of('0'), whole.size()));
  constexpr std::size_t delta_digits = 9;   // v < 1e9: delta-seconds
  constexpr std::size_t second_digits = 11;  // v < 1e11: epoch seconds; above: epoch milliseconds
  if (significant.size() <= delta_digits) {
    const auto delta = parse_scaled(value, 1000);
    if (!delta) return std::nullopt;
    return milliseconds{*delta};
  }
  const auto target = parse_scaled(value, significant.size() <= second_digits ? 1000 : 1);
  if (!target) return std::nullopt;
  return until(*target, now);
}

std::optional<std::uint64_t> parse_ratelimit_remaining(std::string_view value) noexcept {
  std::optional<std::uint64_t> smallest;
  while (true) {
    const std::size_t comma = value.find(',');
    const std::string_view element = trim(value.substr(0, comma));
    if (element.empty() || element.size() > 19 || !std::all_of(element.begin(), element.end(), is_digit)) {
      return std::nullopt;
    }
    std::uint64_t n = 0;
    for (const char c : element) n = n * 10 + static_cast<std::uint64_t>(c - '0');
    smallest = smallest ? std::min(*smallest, n) : n;
    if (comma == std::string_view::npos) return smallest;
    value.remove_prefix(comma + 1);
  }
}

std::chrono::system_clock::time_point hint_reference(const rate_limit_hints& hints,
                                                     std::chrono::system_clock::time_point now) noexcept {
  if (hints.date.empty()) return now;
  using namespace std::chrono;
  const auto date = parse_http_date(hints.date, now);
  // Only dates a system_clock::time_point holds everywhere (libstdc++ counts nanoseconds in 64 bits:
  // 1677 to 2262); a Date outside them is no clock to measure from.
  constexpr sys_seconds earliest = sys_days{year{1900} / January / 1};
  constexpr sys_seconds latest = sys_days{year{2200} / January / 1};
  if (!date || *date < earliest || *date >= latest) return now;
  return time_point_cast<system_clock::duration>(*date);
}

std::optional<milliseconds> server_retry_delay(const rate_limit_hints& hints, std::chrono::system_clock::time_point now,
                                               milliseconds cap) noexcept {
  const auto reference = hint_reference(hints, now);
  std::optional<milliseconds> delay;
  if (!hints.retry_after_ms.empty()) delay = parse_retry_after_ms(hints.retry_after_ms);
  if (!delay && !hints.retry_after.empty()) delay = parse_retry_after(hints.retry_after, reference);
  if (!delay && !hints.ratelimit_reset.empty()) {
    const auto remaining = parse_ratelimit_remaining(hints.x_ratelimit_remaining);
    if (!remaining || *remaining == 0) delay = parse_ratelimit_reset(hints.ratelimit_reset, reference);
  }
  if (!delay) return std::nullopt;
  return std::clamp(*delay, milliseconds{0}, std::max(cap, milliseconds{0}));
}

bool rate_limit_signalled(const rate_limit_hints& hints, std::chrono::system_clock::time_point now) noexcept {
  if (server_retry_delay(hints, now, milliseconds{0})) return true;
  const auto remaining = parse_ratelimit_remaining(hints.x_ratelimit_remaining);
  return remaining && *remaining == 0;
}

}  // namespace keyrevoke::core
