#include "keyrevoke/core/timestamp.hpp"

namespace keyrevoke::core {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(unsigned y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(unsigned y, unsigned m) noexcept {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

class cursor {
 public:
  explicit cursor(std::string_view text) noexcept : text_{text} {}

  bool done() const noexcept { return pos_ == text_.size(); }
  char peek() const noexcept { return done() ? '\0' : text_[pos_]; }
  bool take(char c) noexcept {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // Exactly n digits.
  bool digits(std::size_t n, unsigned& out) noexcept {
    if (text_.size() - pos_ < n) return false;
    unsigned v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    pos_ += n;
    out = v;
    return true;
  }
  bool is_digit() const noexcept { return peek() >= '0' && peek() <= '9'; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<unix_micros> parse_timestamp(std::string_view text) noexcept {
  cursor in{text};
  unsigned year = 0, month = 0, day = 0;
  if (!in.digits(4, year) || !in.take('-') || !in.digits(2, month) || !in.take('-') || !in.digits(2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  std::int64_t micros = days_from_civil(year, month, day) * 86400LL * 1000000LL;
  if (in.done()) return micros;

  if (!(in.take('T') || in.take('t') || in.take(' '))) return std::nullopt;
  unsigned hour = 0, minute = 0, second = 0;
  if (!in.digits(2, hour) || !in.take(':') || !in.digits(2, minute)) return std::nullopt;
  if (in.take(':')) {
    if (!in.digits(2, second)) return std::nullopt;
    if (in.take('.') || in.take(',')) {
      if (!in.is_digit()) return std::nullopt;
      std::int64_t fraction = 0;
      int kept = 0, all = 0;
      while (in.is_digit()) {
        unsigned digit = 0;
        in.digits(1, digit);
        if (kept < 6) {
          fraction = fraction * 10 + digit;
          ++kept;
        }
        if (++all > 9) return std::nullopt;
      }
      for (; kept < 6; ++kept) fraction *= 10;
      micros += fraction;
    }
  }
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  micros += ((static_cast<std::int64_t>(hour) * 60 + minute) * 60 + second) * 1000000LL;

  if (in.done()) return micros;
  if (in.take('Z') || in.take('z')) return in.done() ? std::optional<unix_micros>{micros} : std::nullopt;
  int sign = 0;
  if (in.take('+')) {
    sign = 1;
  } else if (in.take('-')) {
    sign = -1;
  } else {
    return std::nullopt;
  }
  unsigned off_h = 0, off_m = 0;
  if (!in.digits(2, off_h)) return std::nullopt;
  if (!in.done()) {
    in.take(':');
    if (!in.digits(2, off_m)) return std::nullopt;
  }
  if (!in.done() || off_h > 23 || off_m > 59) return std::nullopt;
  // Local time = UTC + offset, so UTC = local - offset.
  micros -= sign * (static_cast<std::int64_t>(off_h) * 60 + off_m) * 60 * 1000000LL;
  return micros;
}

std::optional<unix_micros> parse_age(std::string_view text, unix_micros now) noexcept {
  constexpr std::int64_t second = 1000000;
  constexpr std::int64_t limit = std::int64_t{100} * 366 * 86400 * second;  // 100 years, in microseconds
  if (text.empty()) return std::nullopt;
  std::int64_t age = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t value = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      if (value > limit / second) return std::nullopt;  // no unit makes it fit
      ++i;
    }
    if (i == start || i == text.size()) return std::nullopt;  // a unit needs digits, digits need a unit
    std::int64_t unit = 0;
    switch (text[i]) {
      case 's': unit = second; break;
      case 'm': unit = 60 * second; break;
      case 'h': unit = 3600 * second; break;
      case 'd': unit = 86400 * second; break;
      case 'w': unit = 7 * 86400 * second; break;
      default: return std::nullopt;
    }
    ++i;
    if (value > (limit - age) / unit) return std::nullopt;
    age += value * unit;
  }
  return now - age;
}

std::optional<unix_micros> parse_time_or_age(std::string_view text, unix_micros now) noexcept {
  if (const auto absolute = parse_timestamp(text)) return absolute;
  return parse_age(text, now);
}

std::string age_clock_warning(std::optional<unix_micros> server_now, unix_micros local_now) {
  if (!server_now) return {};
  constexpr unix_micros threshold = unix_micros{5} * 60 * 1'000'000;
  const unix_micros skew = *server_now - local_now;
  if (skew < threshold && skew > -threshold) return {};
  // To the nearest second, and shown to the nearest hour (a day or more) or minute (an hour or more):
  // Date has whole seconds, so a skew of one day reads 86399.x s.
  const unix_micros size = ((skew < 0 ? -skew : skew) + 500'000) / 1'000'000;
  std::string amount;
  if (const unix_micros hours = (size + 1800) / 3600; hours >= 24) {
    amount = std::to_string(hours / 24) + " d " + std::to_string(hours % 24) + " h";
  } else if (const unix_micros minutes = (size + 30) / 60; minutes >= 60) {
    amount = std::to_string(minutes / 60) + " h " + std::to_string(minutes % 60) + " min";
  } else {
    amount = std::to_string(size / 60) + " min " + std::to_string(size % 60) + " s";
  }
  return "the server's clock (Date) is " + amount + (skew > 0 ? " ahead of" : " behind") +
         " this machine's: an age such as --created-before 2h counts back from this machine's clock, so the "
         "selection is off by as much; give an ISO 8601 time instead, or fix the clock";
}

}  // namespace keyrevoke::core
