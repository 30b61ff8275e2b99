#include "keyrevoke/core/nearest_name.hpp"

#include <algorithm>

namespace keyrevoke::core {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic programme: the one before last (for swaps), the last, this one.
  std::vector<std::size_t> before(b.size() + 1), last(b.size() + 1), row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) last[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({last[j] + 1, row[j - 1] + 1, last[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        row[j] = std::min(row[j], before[j - 2] + 1);
    }
    std::swap(before, last);
    std::swap(last, row);
  }
  return last[b.size()];
}

std::string nearest_name(std::string_view typed, const std::vector<std::string>& known) {
  if (typed.empty()) return {};
  const std::size_t allowed = std::max<std::size_t>(1, std::min<std::size_t>(3, typed.size() / 3));
  const std::string* best = nullptr;
  std::size_t best_distance = allowed + 1;
  for (const std::string& name : known) {
    const std::size_t d = edit_distance(typed, name);
    if (d < best_distance) {
      best = &name;
      best_distance = d;
    }
  }
  if (best != nullptr) return *best;
  if (typed.size() < 3) return {};
  const std::string* prefixed = nullptr;
  for (const std::string& name : known) {
    if (name.size() > typed.size() && name.compare(0, typed.size(), typed) == 0) {
      if (prefixed != nullptr) return {};  // two or more: no guess
      prefixed = &name;
    }
  }
  return prefixed != nullptr ? *prefixed : std::string{};
}

}  // namespace keyrevoke::core
