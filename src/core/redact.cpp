#include "keyrevoke/core/redact.hpp"

#include "keyrevoke/core/hash_line.hpp"

namespace keyrevoke::core {

bool looks_like_secret(std::string_view text) noexcept {
  if (text.rfind("sk-", 0) == 0) return true;
  return text.size() >= 32 && text.find('/') == std::string_view::npos &&
         text.find('.') == std::string_view::npos;
}

std::string safe_display(std::string_view text) {
  if (!looks_like_secret(text)) return std::string{text};
  return redact_preview(text, text.size());
}

void redact_secret(std::string& text, std::string_view secret, std::size_t min_run) {
  if (secret.size() < min_run || text.size() < min_run) return;
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
