#pragma once
// Pacing by the quota the server advertises (core/ratelimit_fields.hpp). Pure; time is a parameter.
//
// The server's Remaining is a level shared by every client on the quota. From each fresh observation
// the pacer reads the level left for new requests (Remaining minus this process's requests still on
// their way, which the server has not counted yet), and from successive observations how fast that
// level moves: supply minus everybody's consumption. The others' consumption is in that slope (a
// Remaining falling faster than one's own sends), so the rate follows what is left, not what one
// would spend alone:
//   rate += gain x (slope + (level - target) / level_time)    at most every update_interval
// an integrating controller whose fixed point is "the level stays at its target, the slope at 0":
// the whole supply spent, nothing planned beyond it. Every process sees the same level and applies
// the same law, so shares converge (a gain of 1/4 keeps up to 7 processes on one quota stable).
// Never slower than spending the level evenly over the time to the reset (Remaining / reset), and
// never sending while the level is spent: then it holds until the reset (or the next observation).
// With no fresh observation (none yet, older than stale_after), or after a 429 that contradicts a
// level it believed positive, it has no rate: the adaptive controller (core/rate_controller) rules.

#include <optional>

#include "keyrevoke/core/clock.hpp"
#include "keyrevoke/core/ratelimit_fields.hpp"

namespace keyrevoke::core {

struct quota_pacer_config {
  millis stale_after{1000};         // an observation this old no longer paces
  millis update_interval{20};       // the slope is measured over at least this long
  double level_time_s = 0.25;       // a level off its target is corrected within about this long
  double gain = 0.25;               // share of the correction each process applies per update
  double reserve_share = 0.2;       // the level kept in hand: this share of the limit ...
  double min_reserve = 2.0;         // ... at least this many requests ...
  double max_reserve = 50.0;        // ... at most this many
  double min_rate = 0.5;            // req/s: the slowest pace while the level is not spent
  millis distrust_after_429{5000};  // contradicting 429s: the adaptive controller rules this long
  // A spent level is waited out until the advertised reset, at most this long; then a request asks
  // again (README: hints are capped at 120 s). A Reset a year away must not stop a run for a year.
  millis max_hold{120000};
  unsigned contradictions = 3;      // ... that many within a second
};

class quota_pacer {
 public:
  explicit quota_pacer(const quota_pacer_config& config = {}) noexcept : config_{config} {}

  // An answer received at `now` advertised `seen`. unaccounted: this process's requests written after
  // the one this answers (the server had not counted them yet). send_rate: this process's measured
  // send rate (req/s), the first rate when the pacer has none yet.
  void on_observation(const quota_observation& seen, steady_time now, double unaccounted,
                      double send_rate) noexcept;
  // A throttling answer (429) received at `now` to a request written at `sent_at`. Returns true when
  // it contradicts the pacer: the third 429 within a second to requests the pacer paced while its
  // level said there was room (above its target). The pacer then steps aside for distrust_after_429.
  // Others (the last of a spent level met by requests in flight) slow it down.
  bool on_throttled(steady_time now, steady_time sent_at) noexcept;

  // The pace in req/s, or nullopt when the pacer has nothing to say (the adaptive controller rules).
  std::optional<double> rate(steady_time now) const noexcept;
  // While the level is spent: no request before this time (the reset, or the next observation).
  steady_time hold_until() const noexcept { return hold_until_; }
  // The server's level came back before the reset it had advertised (a bucket refilling, or a Reset
  // that is not true): a spent level is then held only briefly (level_time), not until that reset.
  bool refills_early() const noexcept { return refills_early_; }

  // Observability (tests, benchmark).
  double level() const noexcept { return level_; }
  double target() const noexcept { return target_; }
  double slope() const noexcept { return slope_; }
  bool active(steady_time now) const noexcept { return rate(now).has_value(); }

 private:
  quota_pacer_config config_;
  bool seen_ = false;
  steady_time seen_at_{};
  double level_ = 0.0;
  double target_ = 0.0;
  double rate_ = 0.0;       // the controller's rate
  double even_rate_ = 0.0;  // level spent evenly over the time to the reset
  double slope_ = 0.0;
  bool anchored_ = false;
  steady_time anchor_at_{};
  double anchor_level_ = 0.0;
  steady_time anchor_reset_at_{};
  steady_time hold_until_{};
  steady_time reset_at_{};        // the last observation's reset
  double remaining_ = 0.0;        // the last observation's Remaining
  bool refills_early_ = false;
  steady_time distrust_until_{};
  steady_time pacing_since_{};  // the first observation of this spell
  steady_time contradicted_at_{};
  unsigned contradicted_ = 0;
};

}  // namespace keyrevoke::core
