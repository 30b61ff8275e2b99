#include "keyrevoke/core/ratelimit_fields.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

#include "keyrevoke/core/retry_after.hpp"

namespace keyrevoke::core {
namespace {

using std::chrono::milliseconds;

// --- RFC 9651 structured fields, as much as RateLimit and RateLimit-Policy need -------------------

// A bare item: an Integer, a String (its escapes kept: only compared), a Token, or something else
// this reader does not need (a Decimal, a Byte Sequence, a Boolean): `other`.
struct sf_item {
  enum class kind : std::uint8_t { none, integer, string, token, other } type = kind::none;
  std::int64_t integer = 0;
  std::string_view text{};  // string (between the quotes, escapes as sent) or token
};

struct sf_param {
  std::string_view key{};
  sf_item value{};  // a key without a value: Boolean true (kind::other)
};

constexpr std::size_t max_params = 8;
constexpr std::size_t max_members = 8;

// A list member (`item;params`) or a dictionary member (`key=item;params`, dict_key set).
struct sf_member {
  std::string_view dict_key{};
  sf_item item{};
  std::array<sf_param, max_params> params{};
  std::size_t param_count = 0;

  const sf_item* param(std::string_view key) const noexcept {
    for (std::size_t i = 0; i < param_count; ++i) {
      if (params[i].key == key) return &params[i].value;
    }
    return nullptr;
  }
};

struct sf_members {
  std::array<sf_member, max_members> members{};
  std::size_t count = 0;
};

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_key_char(char c) noexcept {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*';
}
constexpr bool is_tchar(char c) noexcept {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return is_alpha(c) || is_digit(c) || extra.find(c) != std::string_view::npos;
}

class sf_reader {
 public:
  explicit sf_reader(std::string_view text) noexcept : text_{text} {}

  // The whole field as a list of members (list or dictionary syntax). False on any syntax error.
  bool read(sf_members& out) noexcept {
    skip(" ");
    if (done()) return false;  // an empty field is an absent one
    for (;;) {
      if (out.count == out.members.size()) return false;
      if (!member(out.members[out.count++])) return false;
      skip(" \t");
      if (done()) return true;
      if (text_[pos_] != ',') return false;
      ++pos_;
      skip(" \t");
      if (done()) return false;  // a trailing comma
    }
  }

 private:
  bool done() const noexcept { return pos_ >= text_.size(); }
  void skip(std::string_view chars) noexcept {
    while (!done() && chars.find(text_[pos_]) != std::string_view::npos) ++pos_;
  }

  std::string_view key() noexcept {
    const std::size_t start = pos_;
    if (done() || !(is_lcalpha(text_[pos_]) || text_[pos_] == '*')) return {};
    while (!done() && is_key_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  bool member(sf_member& m) noexcept {
    // `key=` starts a dictionary member; anything else is a list item (a lone key is a Token).
    const std::size_t start = pos_;
    const std::string_view k = key();
    if (!k.empty() && !done() && text_[pos_] == '=') {
      ++pos_;
      m.dict_key = k;
      if (!bare_item(m.item)) return false;
    } else {
      pos_ = start;
      if (!bare_item(m.item)) return false;
    }
    return params(m);
  }

  bool params(sf_member& m) noexcept {
    while (!done() && text_[pos_] == ';') {
      ++pos_;
      skip(" ");
      const std::string_view k = key();
      if (k.empty() || m.param_count == max_params) return false;
      sf_param& p = m.params[m.param_count++];
      p.key = k;
      if (!done() && text_[pos_] == '=') {
        ++pos_;
        if (!bare_item(p.value)) return false;
      } else {
        p.value.type = sf_item::kind::other;  // Boolean true
      }
    }
    return true;
  }

  bool bare_item(sf_item& item) noexcept {
    if (done()) return false;
    const char c = text_[pos_];
    if (c == '-' || is_digit(c)) return number(item);
    if (c == '"') return string(item);
    if (is_alpha(c) || c == '*') {
      const std::size_t start = pos_;
      while (!done() && (is_tchar(text_[pos_]) || text_[pos_] == ':' || text_[pos_] == '/')) ++pos_;
      item.type = sf_item::kind::token;
      item.text = text_.substr(start, pos_ - start);
      return true;
    }
    if (c == '?') {  // Boolean
      if (pos_ + 1 >= text_.size() || (text_[pos_ + 1] != '0' && text_[pos_ + 1] != '1')) return false;
      pos_ += 2;
      item.type = sf_item::kind::other;
      return true;
    }
    if (c == ':') {  // Byte Sequence
      const std::size_t end = text_.find(':', pos_ + 1);
      if (end == std::string_view::npos) return false;
      for (std::size_t i = pos_ + 1; i < end; ++i) {
        const char b = text_[i];
        if (!(is_alpha(b) || is_digit(b) || b == '+' || b == '/' || b == '=')) return false;
      }
      pos_ = end + 1;
      item.type = sf_item::kind::other;
      return true;
    }
    return false;
  }

  // Integer: -?1*15DIGIT; Decimal: -?1*12DIGIT "." 1*3DIGIT (kind::other).
  bool number(sf_item& item) noexcept {
    bool negative = false;
    if (text_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    const std::size_t start = pos_;
    std::int64_t value = 0;
    while (!done() && is_digit(text_[pos_])) {
      value = value * 10 + (text_[pos_] - '0');
      if (pos_ - start >= 15) return false;
      ++pos_;
    }
    const std::size_t digits = pos_ - start;
    if (digits == 0) return false;
    if (!done() && text_[pos_] == '.') {
      if (digits > 12) return false;
      ++pos_;
      const std::size_t frac = pos_;
      while (!done() && is_digit(text_[pos_])) ++pos_;
      if (pos_ == frac || pos_ - frac > 3) return false;
      item.type = sf_item::kind::other;
      return true;
    }
    item.type = sf_item::kind::integer;
    item.integer = negative ? -value : value;
    return true;
  }

  bool string(sf_item& item) noexcept {
    const std::size_t start = ++pos_;
    while (!done()) {
      const char c = text_[pos_];
      if (c == '\\') {
        if (pos_ + 1 >= text_.size() || (text_[pos_ + 1] != '"' && text_[pos_ + 1] != '\\')) return false;
        pos_ += 2;
        continue;
      }
      if (c == '"') {
        item.type = sf_item::kind::string;
        item.text = text_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
      ++pos_;
    }
    return false;  // unterminated
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::optional<std::uint64_t> non_negative(const sf_item* item) noexcept {
  if (item == nullptr || item->type != sf_item::kind::integer || item->integer < 0) return std::nullopt;
  return static_cast<std::uint64_t>(item->integer);
}

// A policy's name: the item's String or Token text (draft -08 sends Strings, -10 discusses Tokens).
std::optional<std::string_view> policy_name(const sf_item& item) noexcept {
  if (item.type == sf_item::kind::string || item.type == sf_item::kind::token) return item.text;
  return std::nullopt;
}

constexpr std::int64_t max_seconds = std::int64_t{1} << 40;  // far beyond any window; keeps ms in range

// The more restrictive of two observations: the lower remaining / reset_in (cross-multiplied).
bool more_restrictive(const quota_observation& a, const quota_observation& b) noexcept {
  const auto span = [](const quota_observation& o) {
    return static_cast<long double>(std::max<std::int64_t>(1, o.reset_in.count()));
  };
  return static_cast<long double>(a.remaining) * span(b) < static_cast<long double>(b.remaining) * span(a);
}

void keep_tightest(std::optional<quota_observation>& best,
                   const std::optional<quota_observation>& next) noexcept {
  if (next && (!best || more_restrictive(*next, *best))) best = next;
}

// limit_said: the server sent a limit (0 included: "5 left of 0" is a contradiction, not an unsaid limit).
bool consistent(const quota_observation& o, bool limit_said) noexcept {
  if ((limit_said || o.limit != 0) && o.remaining > o.limit) return false;
  if (o.window.count() != 0 && o.reset_in > o.window) return false;
  return true;
}

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view space = " \t\r\n";
  const std::size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// A non-negative decimal integer of at most 15 digits.
std::optional<std::uint64_t> plain_integer(std::string_view text) noexcept {
  text = trim(text);
  if (text.empty() || text.size() > 15 || !std::all_of(text.begin(), text.end(), is_digit))
    return std::nullopt;
  std::uint64_t n = 0;
  for (const char c : text) n = n * 10 + static_cast<std::uint64_t>(c - '0');
  return n;
}

// --- the three families --------------------------------------------------------------------------

std::optional<quota_observation> x_ratelimit(const ratelimit_fields& f,
                                             std::chrono::system_clock::time_point now) noexcept {
  if (f.x_remaining.empty() || f.x_reset.empty()) return std::nullopt;
  const auto remaining = parse_ratelimit_remaining(f.x_remaining);
  rate_limit_hints hints;
  hints.date = f.date;
  const auto reset = parse_ratelimit_reset(f.x_reset, hint_reference(hints, now));
  if (!remaining || !reset) return std::nullopt;
  quota_observation o;
  o.family = quota_family::x_ratelimit;
  o.remaining = *remaining;
  o.reset_in = *reset;
  if (!f.x_limit.empty()) {
    const auto limit = plain_integer(f.x_limit.substr(0, f.x_limit.find(',')));
    if (!limit) return std::nullopt;
    o.limit = *limit;
  }
  if (!consistent(o, !f.x_limit.empty())) return std::nullopt;
  return o;
}

std::optional<quota_observation> ietf(const ratelimit_fields& f) noexcept {
  if (f.ratelimit.empty()) return std::nullopt;
  sf_members state;
  if (!sf_reader{f.ratelimit}.read(state)) return std::nullopt;

  // Draft -07's dictionary: limit=100, remaining=50, reset=5 (RateLimit-Policy: 100;w=10).
  if (state.members[0].dict_key.size() != 0) {
    std::optional<std::uint64_t> limit, remaining, reset;
    bool limit_said = false;
    for (std::size_t i = 0; i < state.count; ++i) {
      const sf_member& m = state.members[i];
      if (m.dict_key == "limit") {
        limit = non_negative(&m.item);
        limit_said = true;
      } else if (m.dict_key == "remaining")
        remaining = non_negative(&m.item);
      else if (m.dict_key == "reset")
        reset = non_negative(&m.item);
    }
    if (limit_said && !limit) return std::nullopt;  // said but unreadable, as in the other families
    if (!remaining || !reset || *reset > static_cast<std::uint64_t>(max_seconds)) return std::nullopt;
    quota_observation o;
    o.family = quota_family::ietf;
    o.remaining = *remaining;
    o.reset_in = milliseconds{static_cast<std::int64_t>(*reset) * 1000};
    o.limit = limit.value_or(0);
    sf_members policy;
    if (!f.ratelimit_policy.empty() && sf_reader{f.ratelimit_policy}.read(policy)) {
      const auto w = non_negative(policy.members[0].param("w"));
      if (w && *w <= static_cast<std::uint64_t>(max_seconds))
        o.window = milliseconds{static_cast<std::int64_t>(*w) * 1000};
    }
    if (!consistent(o, limit_said)) return std::nullopt;
    return o;
  }

  // Draft -08 on: "name";r=..;t=.., matched to RateLimit-Policy's "name";q=..;w=..
  sf_members policy;
  const bool have_policy = !f.ratelimit_policy.empty() && sf_reader{f.ratelimit_policy}.read(policy);
  std::optional<quota_observation> best;
  for (std::size_t i = 0; i < state.count; ++i) {
    const sf_member& m = state.members[i];
    const auto name = policy_name(m.item);
    const auto r = non_negative(m.param("r"));
    const auto t = non_negative(m.param("t"));
    if (!name || !r || !t || m.dict_key.size() != 0 || *t > static_cast<std::uint64_t>(max_seconds))
      return std::nullopt;
    quota_observation o;
    o.family = quota_family::ietf;
    o.remaining = *r;
    o.reset_in = milliseconds{static_cast<std::int64_t>(*t) * 1000};
    bool requests = true, limit_said = false;
    for (std::size_t p = 0; have_policy && p < policy.count; ++p) {
      const sf_member& q = policy.members[p];
      if (policy_name(q.item) != name) continue;
      const auto quota = non_negative(q.param("q"));
      const auto w = non_negative(q.param("w"));
      if (!quota) return std::nullopt;
      o.limit = *quota;
      limit_said = true;
      if (w && *w <= static_cast<std::uint64_t>(max_seconds))
        o.window = milliseconds{static_cast<std::int64_t>(*w) * 1000};
      if (const sf_item* unit = q.param("qu");
          unit != nullptr && !(unit->type == sf_item::kind::string && unit->text == "requests")) {
        requests = false;
      }
      break;
    }
    if (!requests) continue;
    if (!consistent(o, limit_said)) return std::nullopt;
    keep_tightest(best, o);
  }
  return best;
}

std::optional<quota_observation> ietf_trio(const ratelimit_fields& f) noexcept {
  if (f.remaining.empty() || f.reset.empty()) return std::nullopt;
  const auto remaining = plain_integer(f.remaining);
  const auto reset = plain_integer(f.reset);
  if (!remaining || !reset || *reset > static_cast<std::uint64_t>(max_seconds)) return std::nullopt;
  quota_observation o;
  o.family = quota_family::ietf_trio;
  o.remaining = *remaining;
  o.reset_in = milliseconds{static_cast<std::int64_t>(*reset) * 1000};
  if (!f.limit.empty()) {
    // "100" or "100, 100;w=10, 1000;w=3600" (draft -00..-05): the first number is the limit in force;
    // the quota policy of that number (if listed) gives its window.
    sf_members list;
    if (!sf_reader{f.limit}.read(list)) return std::nullopt;
    const auto limit = non_negative(&list.members[0].item);
    if (!limit) return std::nullopt;
    o.limit = *limit;
    for (std::size_t i = 0; i < list.count; ++i) {
      const auto w = non_negative(list.members[i].param("w"));
      if (non_negative(&list.members[i].item) == limit && w &&
          *w <= static_cast<std::uint64_t>(max_seconds)) {
        o.window = milliseconds{static_cast<std::int64_t>(*w) * 1000};
        break;
      }
    }
  }
  if (!consistent(o, !f.limit.empty())) return std::nullopt;
  return o;
}

}  // namespace

std::optional<quota_observation> read_quota(const ratelimit_fields& fields,
                                            std::chrono::system_clock::time_point now) noexcept {
  std::optional<quota_observation> best;
  keep_tightest(best, ietf(fields));
  keep_tightest(best, ietf_trio(fields));
  keep_tightest(best, x_ratelimit(fields, now));
  return best;
}

}  // namespace keyrevoke::core
