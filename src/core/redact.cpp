#include "keyrevoke/core/redact.hpp"

#include <array>

#include "keyrevoke/core/hash_line.hpp"

namespace keyrevoke::core {

bool looks_like_secret(std::string_view text) noexcept {
  if (text.rfind("sk-", 0) == 0) return true;
  return text.size() >= 32 && text.find('/') == std::string_view::npos &&
         text.find('.') == std::string_view::npos;
}

namespace {

std::string& known_secret() {
  static std::string secret;
  return secret;
}

}  // namespace

void set_known_secret(std::string_view secret) {
  known_secret() = secret.size() >= 8 ? std::string{secret} : std::string{};
}

std::string safe_display(std::string_view text) {
  const std::string& secret = known_secret();
  const bool holds_secret = !secret.empty() && text.find(secret) != std::string_view::npos;
  if (!holds_secret && !looks_like_secret(text)) return std::string{text};
  return redact_preview(text, text.size());
}

void redact_secret(std::string& text, std::string_view secret, std::size_t min_run) {
  if (secret.size() < min_run || text.size() < min_run) return;
  // A shared run is made of bytes that all occur in the secret: without min_run such bytes in a row
  // (an answer like {"deleted":true}), there is nothing to redact. O(text + secret), and it spares the
  // O(text x secret) search below for nearly every answer (it was a quarter of a run's extra CPU).
  std::array<bool, 256> in_secret{};
  for (const char c : secret) in_secret[static_cast<unsigned char>(c)] = true;
  std::size_t run = 0;
  bool candidate = false;
  for (const char c : text) {
    run = in_secret[static_cast<unsigned char>(c)] ? run + 1 : 0;
    if (run >= min_run) {
      candidate = true;
      break;
    }
  }
  if (!candidate) return;
  std::string out;
  std::size_t i = 0;
  bool changed = false;
  while (i < text.size()) {
    // The longest run starting at i that occurs somewhere in the secret.
    std::size_t best = 0;
    for (std::size_t j = 0; j < secret.size(); ++j) {
      std::size_t n = 0;
      while (i + n < text.size() && j + n < secret.size() && text[i + n] == secret[j + n]) ++n;
      best = std::max(best, n);
    }
    if (best >= min_run) {
      out += "[redacted]";
      i += best;
      changed = true;
    } else {
      out += text[i++];
    }
  }
  if (changed) text = std::move(out);
}

}  // namespace keyrevoke::core
