#include "keyrevoke/core/quota_pacer.hpp"

#include <algorithm>
#include <cmath>

namespace keyrevoke::core {

void quota_pacer::on_observation(const quota_observation& seen, steady_time now, double unaccounted,
                                 double send_rate) noexcept {
  const double remaining = static_cast<double>(seen.remaining);
  const double level = std::max(0.0, remaining - std::max(0.0, unaccounted));
  // The reserve: a share of the limit (or, unsaid, of the most Remaining seen), at least min_reserve,
  // and never more than half the limit (a quota of 3 keeps 1 in hand, not 2).
  const double limit = seen.limit != 0 ? static_cast<double>(seen.limit) : std::max(remaining, level_);
  target_ = std::clamp(config_.reserve_share * limit, std::min(config_.min_reserve, 0.5 * limit),
                       config_.max_reserve);
  // A reset beyond a day is a day (no steady-clock overflow; the observation is stale long before).
  const millis reset_in = std::min(seen.reset_in, millis{std::chrono::hours{24}});
  const double reset_s = std::chrono::duration<double>(reset_in).count();
  // Remaining rose a second or more before the reset last advertised: the level refills on its own
  // schedule, and a spent level is not worth waiting the whole advertised reset for.
  if (seen_ && remaining > remaining_ && now + std::chrono::seconds{1} < reset_at_) refills_early_ = true;
  remaining_ = remaining;
  reset_at_ = now + std::chrono::steady_clock::duration{reset_in};
  even_rate_ = reset_s > 0.0 ? std::max(0.0, level - target_) / reset_s : 0.0;
  // The level spent: nothing more before the reset (or before an answer says otherwise).
  // A long reset (a fixed window, GitHub's hour) is waited out; a short one (a bucket's "full again",
  // a reset in whole seconds) at most level_time: the server may well take a request sooner.
  const auto short_hold =
      std::min<std::chrono::steady_clock::duration>(reset_in, from_seconds(config_.level_time_s));
  const auto long_hold = std::chrono::steady_clock::duration{std::min(reset_in, config_.max_hold)};
  hold_until_ = seen.remaining != 0 || reset_s <= 0.0
                    ? now
                    : now + (reset_s > 2.0 && !refills_early_ ? long_hold : short_hold);

  if (!seen_) {
    // The first observation: start from what this process sends now, no faster than the level allows
    // within level_time.
    rate_ = std::max(config_.min_rate,
                     std::min(send_rate, std::max(level - target_, 0.0) / config_.level_time_s));
    if (send_rate <= 0.0)
      rate_ = std::max(config_.min_rate, std::max(level - target_, 0.0) / config_.level_time_s);
    seen_ = true;
    anchored_ = false;
    pacing_since_ = now;
    contradicted_ = 0;
  }
  if (!anchored_) {
    anchored_ = true;
    anchor_at_ = now;
    anchor_level_ = level;
  } else if (now - anchor_at_ >= config_.update_interval) {
    const double dt = to_seconds(now - anchor_at_);
    slope_ = (level - anchor_level_) / dt;
    // Additive increase, multiplicative decrease (Chiu and Jain): every process sees the same level
    // and slope, so increases are equal and decreases proportional to each one's rate; shares
    // converge. The decrease is scaled by a rate every process knows alike (the limit over level_time).
    const double error = slope_ + (level - target_) / config_.level_time_s;
    if (error >= 0.0) {
      rate_ += config_.gain * error;
    } else {
      const double scale = std::max({limit, 2.0 * target_, 1.0}) / config_.level_time_s;
      rate_ *= std::max(0.5, 1.0 + config_.gain * error / scale);
    }
    // No wind-up while the process cannot send faster (its --concurrency, its input): at most twice
    // what it sends, or what the level allows within level_time.
    const double ceiling =
        std::max({2.0 * send_rate, (level - target_) / config_.level_time_s, config_.min_rate});
    rate_ = std::clamp(rate_, config_.min_rate, ceiling);
    anchor_at_ = now;
    anchor_level_ = level;
  }
  level_ = level;
  seen_at_ = now;
}

bool quota_pacer::on_throttled(steady_time now, steady_time sent_at) noexcept {
  if (!seen_ || now < distrust_until_) return false;
  if (now - seen_at_ <= config_.stale_after && level_ > target_ && now >= hold_until_ &&
      sent_at >= pacing_since_) {
    if (now - contradicted_at_ > std::chrono::seconds{1}) contradicted_ = 0;
    contradicted_at_ = now;
    if (++contradicted_ < config_.contradictions) {
      rate_ = std::max(config_.min_rate, 0.7 * rate_);
      return false;
    }
    // The server refused while its own count said there was room: its fields do not describe the
    // limit that applies. The adaptive controller rules for a while.
    distrust_until_ = now + config_.distrust_after_429;
    seen_ = false;
    anchored_ = false;
    return true;
  }
  // A 429 near a spent level: requests in flight met the last of it, or another client took it first.
  rate_ = std::max(config_.min_rate, 0.7 * rate_);
  return false;
}

std::optional<double> quota_pacer::rate(steady_time now) const noexcept {
  if (!seen_ || now < distrust_until_) return std::nullopt;
  if (now - seen_at_ > config_.stale_after && now >= hold_until_) return std::nullopt;
  if (now < hold_until_) return 0.0;
  return std::max(rate_, even_rate_);
}

}  // namespace keyrevoke::core
