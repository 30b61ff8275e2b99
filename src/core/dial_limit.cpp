#include "keyrevoke/core/dial_limit.hpp"

#include <algorithm>

namespace keyrevoke::core {

dial_limit::dial_limit(const dial_limit_config& config) noexcept
    : ceiling_{std::max(1U, config.ceiling)},
      limit_{std::clamp(config.initial, 1U, ceiling_)},
      threshold_{ceiling_} {}

std::uint64_t dial_limit::on_dial_started() noexcept {
  ++pending_;
  return cuts_;
}

void dial_limit::on_dial_succeeded() noexcept {
  if (pending_ != 0) --pending_;
  if (opening()) limit_ = std::min(limit_ + 1, ceiling_);
}

void dial_limit::on_dial_failed(std::uint64_t ticket, std::size_t in_use) noexcept {
  if (pending_ != 0) --pending_;
  ++failures_;
  if (ticket != cuts_) return;  // started before the last cut: the same burst
  const auto half = std::min<std::size_t>(in_use / 2, ceiling_);
  threshold_ = std::max(1U, static_cast<unsigned>(half));
  limit_ = threshold_;
  lowest_ = cuts_ == 0 ? limit_ : std::min(lowest_, limit_);
  ++cuts_;
}

void dial_limit::on_dial_abandoned() noexcept {
  if (pending_ != 0) --pending_;
}

void dial_limit::on_answer(std::size_t in_use) noexcept {
  if (opening() || pending_ != 0 || in_use < limit_ || limit_ >= ceiling_) return;
  ++limit_;
}

}  // namespace keyrevoke::core
