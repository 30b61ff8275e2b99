#include "keyrevoke/core/dial_addresses.hpp"

#include <algorithm>

namespace keyrevoke::core {

dial_addresses::dial_addresses(const dial_addresses_config& config) noexcept : config_{config} {
  config_.refresh = std::max(config_.refresh, millis{1});
}

bool dial_addresses::needs_resolution(steady_time now) const noexcept {
  return !attempted_ || stale_ || now - attempted_at_ >= config_.refresh;
}

void dial_addresses::on_resolved(steady_time now, std::size_t count,
                                 std::optional<std::size_t> kept) noexcept {
  if (count == 0) {
    on_resolve_failed(now);
    return;
  }
  attempted_ = true;
  stale_ = false;
  attempted_at_ = now;
  ++generation_;
  count_ = count;
  preferred_ = kept && *kept < count ? *kept : 0;
}

void dial_addresses::on_resolve_failed(steady_time now) noexcept {
  attempted_ = true;
  stale_ = false;
  attempted_at_ = now;
  ++generation_;
}

void dial_addresses::on_connected(std::uint64_t generation, std::size_t index) noexcept {
  if (generation == generation_ && index < count_) preferred_ = index;
}

void dial_addresses::on_dial_failed(std::uint64_t generation) noexcept {
  if (generation == generation_) stale_ = true;
}

}  // namespace keyrevoke::core
