#include "keyrevoke/core/glob.hpp"

#include <cstdint>
#include <vector>

#include "utf8.hpp"

namespace keyrevoke::core {

namespace {

// A character of the pattern or the text: a code point, or 0x110000 + byte for an invalid byte.
using unit = std::uint32_t;
constexpr unit invalid_base = 0x110000;

struct decoded {
  unit value;
  std::size_t length;
};

decoded decode(std::string_view s, std::size_t i) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  const std::size_t n = s.size() - i;
  const detail::utf8_step step = detail::utf8_next(p, n);
  if (!step.valid) return {invalid_base + p[0], 1};
  if (step.length == 1) return {p[0], 1};
  unit cp = p[0] & (step.length == 2 ? 0x1Fu : step.length == 3 ? 0x0Fu : 0x07u);
  for (std::size_t k = 1; k < step.length; ++k) cp = (cp << 6) | (p[k] & 0x3Fu);
  return {cp, step.length};
}

struct range {
  unit low, high;
};

enum class token_kind { literal, any, star, set };

struct token {
  token_kind kind;
  unit value = 0;         // literal
  std::size_t first = 0;  // set: ranges_[first, first + count)
  std::size_t count = 0;
  bool negated = false;
};

class compiled_glob {
 public:
  explicit compiled_glob(std::string_view pattern) {
    std::size_t i = 0;
    while (i < pattern.size()) {
      const decoded c = decode(pattern, i);
      if (c.value == '*') {
        if (tokens_.empty() || tokens_.back().kind != token_kind::star) tokens_.push_back({token_kind::star});
        i += c.length;
      } else if (c.value == '?') {
        tokens_.push_back({token_kind::any});
        i += c.length;
      } else if (c.value == '[') {
        const std::size_t used = parse_set(pattern, i);
        if (used == 0) {  // unterminated: a literal '['
          tokens_.push_back({token_kind::literal, '['});
          i += c.length;
        } else {
          i += used;
        }
      } else if (c.value == '\\') {
        i += c.length;
        if (i >= pattern.size()) {
          tokens_.push_back({token_kind::literal, '\\'});
        } else {
          const decoded escaped = decode(pattern, i);
          tokens_.push_back({token_kind::literal, escaped.value});
          i += escaped.length;
        }
      } else {
        tokens_.push_back({token_kind::literal, c.value});
        i += c.length;
      }
    }
  }

  bool match(std::string_view text) const {
    // Greedy with backtracking to the last star only: a later star can absorb anything an earlier one
    // could, so earlier stars never need revisiting. O(tokens x text) at worst.
    std::size_t p = 0, t = 0;
    std::size_t star_p = npos, star_t = 0;
    const std::size_t n = tokens_.size();
    while (t < text.size()) {
      if (p < n && tokens_[p].kind == token_kind::star) {
        star_p = ++p;
        star_t = t;
        continue;
      }
      if (p < n) {
        const decoded c = decode(text, t);
        if (matches_one(tokens_[p], c.value)) {
          ++p;
          t += c.length;
          continue;
        }
      }
      if (star_p == npos) return false;
      star_t += decode(text, star_t).length;  // the last star absorbs one more character
      t = star_t;
      p = star_p;
    }
    while (p < n && tokens_[p].kind == token_kind::star) ++p;
    return p == n;
  }

  // Set by the constructor for glob_error().
  std::optional<std::string> error;

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  bool matches_one(const token& tok, unit c) const noexcept {
    switch (tok.kind) {
      case token_kind::literal:
        return tok.value == c;
      case token_kind::any:
        return true;
      case token_kind::set: {
        bool in = false;
        for (std::size_t k = tok.first; k < tok.first + tok.count; ++k) {
          if (c >= ranges_[k].low && c <= ranges_[k].high) {
            in = true;
            break;
          }
        }
        return in != tok.negated;
      }
      case token_kind::star:
        break;
    }
    return false;
  }

  // Parses a bracket expression at pattern[start] == '['. Returns the bytes used, or 0 if it is
  // unterminated (then nothing is added).
  std::size_t parse_set(std::string_view pattern, std::size_t start) {
    std::size_t i = start + 1;
    token tok{token_kind::set};
    tok.first = ranges_.size();
    if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
      tok.negated = true;
      ++i;
    }
    bool first = true;
    auto read_char = [&](unit& out) -> bool {
      if (i >= pattern.size()) return false;
      decoded c = decode(pattern, i);
      if (c.value == '\\') {
        if (i + c.length >= pattern.size()) {
          i = pattern.size();  // a trailing '\': the class is unterminated
          return false;
        }
        i += c.length;
        c = decode(pattern, i);
      }
      out = c.value;
      i += c.length;
      return true;
    };
    for (;;) {
      if (i >= pattern.size()) {
        ranges_.resize(tok.first);
        if (!error) error = "unterminated '['";
        return 0;
      }
      if (pattern[i] == ']' && !first) {
        ++i;
        break;
      }
      first = false;
      unit low = 0;
      if (!read_char(low)) continue;  // trailing '\': unterminated, reported above on the next turn
      unit high = low;
      if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
        ++i;
        if (!read_char(high)) continue;
        if (high < low) {
          if (!error) error = "invalid range in '[...]' (its end comes before its start)";
          std::swap(low, high);  // matching stays defined: the range as meant
        }
      }
      ranges_.push_back({low, high});
    }
    tok.count = ranges_.size() - tok.first;
    tokens_.push_back(tok);
    return i - start;
  }

  std::vector<token> tokens_;
  std::vector<range> ranges_;
};

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  return compiled_glob{pattern}.match(text);
}

std::optional<std::string> glob_error(std::string_view pattern) {
  compiled_glob compiled{pattern};
  if (compiled.error) return compiled.error;
  // A trailing backslash outside a class.
  std::size_t backslashes = 0;
  for (std::size_t i = pattern.size(); i > 0 && pattern[i - 1] == '\\'; --i) ++backslashes;
  if (backslashes % 2 == 1) {
    // It could be inside an unterminated class, already reported; otherwise it escapes nothing.
    return std::string{"trailing '\\' escapes nothing"};
  }
  return std::nullopt;
}

}  // namespace keyrevoke::core
