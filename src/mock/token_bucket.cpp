#include "keyrevoke/mock/token_bucket.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace keyrevoke::mock {
namespace {

// A token is "there" when the bucket holds at least 1 - epsilon: summing refills in floating point
// must not make a take at exactly the advertised instant fail.
constexpr double token_epsilon = 1e-9;

std::optional<double> parse_non_negative(std::string_view text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || !std::isfinite(value) || value < 0) return std::nullopt;
  return value;
}

std::optional<long> parse_seconds(std::string_view text) {
  long value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < 0) return std::nullopt;
  return value;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::vector<rate_step>> parse_rate_schedule(std::string_view text) {
  std::vector<rate_step> steps;
  text = trim(text);
  if (text.empty()) return std::nullopt;
  for (bool more = true; more;) {
    const auto comma = text.find(',');
    const auto item = trim(text.substr(0, comma));
    more = comma != std::string_view::npos;
    text = more ? text.substr(comma + 1) : std::string_view{};
    if (item.empty()) return std::nullopt;  // also a trailing or doubled comma
    rate_step step;
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) {
      if (!steps.empty()) return std::nullopt;  // a bare rate only as the whole schedule
      const auto rate = parse_non_negative(item);
      if (!rate) return std::nullopt;
      step.rate = *rate;
    } else {
      const auto start = parse_seconds(trim(item.substr(0, colon)));
      const auto rate = parse_non_negative(trim(item.substr(colon + 1)));
      if (!start || !rate) return std::nullopt;
      step.start = std::chrono::seconds{*start};
      step.rate = *rate;
    }
    if (steps.empty() ? step.start.count() != 0 : step.start <= steps.back().start) return std::nullopt;
    steps.push_back(step);
  }
  return steps;
}

token_bucket::token_bucket(double rate, double burst, std::vector<rate_step> schedule)
    : schedule_(std::move(schedule)),
      burst_(std::max(1.0, burst)),
      tokens_(burst_),
      unlimited_(schedule_.empty() && rate <= 0) {
  if (schedule_.empty()) schedule_.push_back({std::chrono::seconds{0}, std::max(0.0, rate)});
}

double token_bucket::rate_at(mock_duration now) const noexcept {
  if (unlimited_) return std::numeric_limits<double>::infinity();
  double rate = schedule_.front().rate;
  for (const auto& step : schedule_) {
    if (step.start > now) break;
    rate = step.rate;
  }
  return rate;
}

void token_bucket::refill(mock_duration now) {
  if (now <= last_) return;  // a clock read just before another thread's: no time passed for us
  double gained = 0;
  for (std::size_t i = 0; i < schedule_.size(); ++i) {
    const mock_duration seg_begin = schedule_[i].start;
    const mock_duration seg_end = i + 1 < schedule_.size() ? mock_duration{schedule_[i + 1].start}
                                                           : mock_duration::max();
    const auto from = std::max(seg_begin, last_);
    const auto to = std::min(seg_end, now);
    if (to <= from) continue;
    gained += schedule_[i].rate * std::chrono::duration<double>(to - from).count();
  }
  tokens_ = std::min(burst_, tokens_ + gained);
  last_ = now;
}

mock_duration token_bucket::time_to_accumulate(mock_duration from, double needed) const {
  for (std::size_t i = 0; i < schedule_.size(); ++i) {
    const mock_duration seg_begin = schedule_[i].start;
    const bool last_step = i + 1 == schedule_.size();
    const mock_duration seg_end = last_step ? mock_duration::max() : mock_duration{schedule_[i + 1].start};
    if (seg_end <= from) continue;
    const auto begin = std::max(seg_begin, from);
    const double rate = schedule_[i].rate;
    if (rate > 0) {
      const double seconds_needed = needed / rate;
      const double seg_seconds =
          last_step ? std::numeric_limits<double>::infinity()
                    : std::chrono::duration<double>(seg_end - begin).count();
      if (seconds_needed <= seg_seconds) {
        // Rounded up to the nanosecond; try_take's epsilon absorbs the floating-point error.
        const auto ns = static_cast<mock_duration::rep>(std::ceil(seconds_needed * 1e9));
        return (begin - from) + mock_duration{ns};
      }
      needed -= rate * seg_seconds;
    }
  }
  return mock_duration::max();
}

token_bucket::verdict token_bucket::try_take(mock_duration now) {
  if (unlimited_) return {true, mock_duration{0}};
  refill(now);
  if (tokens_ >= 1.0 - token_epsilon) {
    tokens_ -= 1.0;
    return {true, mock_duration{0}};
  }
  const auto at = std::max(now, last_);
  const auto wait = time_to_accumulate(at, 1.0 - tokens_);
  if (wait == mock_duration::max()) return {false, wait};
  return {false, wait + (at - now)};
}

token_bucket::state token_bucket::state_at(mock_duration now) {
  state out;
  out.burst = burst_;
  if (unlimited_) {
    out.tokens = burst_;
    return out;
  }
  refill(now);
  out.tokens = tokens_;
  const double missing = burst_ - tokens_;
  out.until_full = missing <= token_epsilon ? mock_duration{0} : time_to_accumulate(std::max(now, last_), missing);
  return out;
}

std::optional<advertise_mode> parse_advertise_mode(std::string_view text) {
  if (text == "none") return advertise_mode::none;
  if (text == "xratelimit") return advertise_mode::xratelimit;
  if (text == "ietf") return advertise_mode::ietf;
  return std::nullopt;
}

void describe_bucket(advertise_mode mode, const token_bucket::state& state, double rate,
                     std::chrono::system_clock::time_point wall_now, quota_headers& out) {
  using namespace std::chrono;
  out.count = 0;
  if (mode == advertise_mode::none) return;
  // "Never full again" (a zero-rate schedule tail) is advertised as an hour.
  const auto until_full = std::clamp(state.until_full, mock_duration{0}, mock_duration{hours{1}});
  const auto limit = static_cast<long long>(std::floor(state.burst));
  const auto left = static_cast<long long>(std::floor(std::max(0.0, state.tokens) + token_epsilon));
  const auto set = [&out](std::string_view name, auto&& write) {
    quota_header& h = out.fields[out.count++];
    h.name = name;
    h.value.clear();
    write(h.value);
  };
  if (mode == advertise_mode::xratelimit) {
    const auto full_at = ceil<milliseconds>(wall_now + duration_cast<system_clock::duration>(until_full));
    set("X-RateLimit-Limit", [&](std::string& v) { v.append(std::to_string(limit)); });
    set("X-RateLimit-Remaining", [&](std::string& v) { v.append(std::to_string(left)); });
    set("X-RateLimit-Reset", [&](std::string& v) { v.append(std::to_string(full_at.time_since_epoch().count())); });
    return;
  }
  const double window_s = rate > 0 ? std::ceil(state.burst / rate - 1e-9) : 3600.0;
  const auto reset = static_cast<long long>(ceil<seconds>(until_full).count());
  // At least the time to fill up (a rate that fell since: the window is never shorter than the reset).
  const auto window = std::max({1LL, static_cast<long long>(std::min(window_s, 3600.0)), reset});
  set("RateLimit-Policy", [&](std::string& v) {
    v.append("\"default\";q=").append(std::to_string(limit)).append(";w=").append(std::to_string(window));
  });
  set("RateLimit", [&](std::string& v) {
    v.append("\"default\";r=").append(std::to_string(left)).append(";t=").append(std::to_string(reset));
  });
}

double token_bucket::tokens(mock_duration now) {
  if (unlimited_) return std::numeric_limits<double>::infinity();
  refill(now);
  return tokens_;
}

std::optional<retry_hint_mode> parse_retry_hint_mode(std::string_view text) {
  if (text == "seconds") return retry_hint_mode::seconds;
  if (text == "http-date") return retry_hint_mode::http_date;
  if (text == "reset-ms") return retry_hint_mode::reset_ms;
  if (text == "none") return retry_hint_mode::none;
  if (text == "zero") return retry_hint_mode::zero;
  if (text == "past") return retry_hint_mode::past;
  if (text == "reset-delta") return retry_hint_mode::reset_delta;
  return std::nullopt;
}

std::string_view to_string(retry_hint_mode mode) {
  switch (mode) {
    case retry_hint_mode::seconds: return "seconds";
    case retry_hint_mode::http_date: return "http-date";
    case retry_hint_mode::reset_ms: return "reset-ms";
    case retry_hint_mode::none: return "none";
    case retry_hint_mode::zero: return "zero";
    case retry_hint_mode::past: return "past";
    case retry_hint_mode::reset_delta: return "reset-delta";
  }
  return "none";
}

std::string format_imf_fixdate(std::chrono::sys_seconds t) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::weekday wd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  char out[40];
  std::snprintf(out, sizeof out, "%s, %02u %s %04d %02d:%02d:%02d GMT", days[wd.c_encoding()],
                static_cast<unsigned>(ymd.day()), months[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return out;
}

std::optional<retry_hint> make_retry_hint(retry_hint_mode mode, mock_duration wait,
                                          std::chrono::system_clock::time_point wall_now) {
  using namespace std::chrono;
  // "Never" (a zero-rate schedule tail) is advertised as an hour.
  const auto bounded = std::clamp(wait, mock_duration{0}, mock_duration{hours{1}});
  switch (mode) {
    case retry_hint_mode::seconds: {
      const auto secs = std::max<seconds::rep>(1, ceil<seconds>(bounded).count());
      return retry_hint{"Retry-After", std::to_string(secs)};
    }
    case retry_hint_mode::http_date: {
      const auto at = ceil<seconds>(wall_now + duration_cast<system_clock::duration>(bounded));
      return retry_hint{"Retry-After", format_imf_fixdate(sys_seconds{at.time_since_epoch()})};
    }
    case retry_hint_mode::reset_ms: {
      const auto at = ceil<milliseconds>(wall_now + duration_cast<system_clock::duration>(bounded));
      return retry_hint{"X-RateLimit-Reset", std::to_string(at.time_since_epoch().count())};
    }
    case retry_hint_mode::none: return std::nullopt;
    case retry_hint_mode::zero: return retry_hint{"Retry-After", "0"};
    case retry_hint_mode::past: {
      const auto at = floor<seconds>(wall_now) - hours{1};
      return retry_hint{"Retry-After", format_imf_fixdate(sys_seconds{at.time_since_epoch()})};
    }
    case retry_hint_mode::reset_delta: {
      const auto secs = std::max<seconds::rep>(1, ceil<seconds>(bounded).count());
      return retry_hint{"X-RateLimit-Reset", std::to_string(secs)};
    }
  }
  return std::nullopt;
}

}  // namespace keyrevoke::mock
