#include "keyrevoke/core/rate_controller.hpp"

#include <algorithm>
#include <cmath>

namespace keyrevoke::core {

rate_controller::rate_controller(const rate_controller_config& config, steady_time now) noexcept
    : config_{config}, c_{config.cubic_c}, tat_{now}, paused_until_{now} {
  config_.max_in_flight = std::max(1U, config_.max_in_flight);
}

double rate_controller::pace(steady_time now) const noexcept {
  double rate = limiting_ ? fill_rate_ : 0.0;
  // The advertised quota, while fresh and uncontradicted, sets the pace instead (0 = hold).
  if (const auto quota = quota_.rate(now)) rate = std::max(*quota, config_.min_rate);
  if (config_.max_rate > 0.0) rate = rate > 0.0 ? std::min(rate, config_.max_rate) : config_.max_rate;
  return rate;
}

double rate_controller::ceiling() const noexcept { return pace(last_event_); }

steady_time rate_controller::next_send_time(steady_time now) const noexcept {
  steady_time next = now;
  if (const double rate = pace(now); rate > 0.0) {
    // The quota pacer's pace may rise steeply (a level found high again): the slot taken at the slow
    // pace does not hold the next one back.
    const steady_time due = quota_.rate(now) ? std::min(tat_, last_slot_at_ + from_seconds(1.0 / rate)) : tat_;
    next = std::max(next, due - from_seconds(config_.pacer_tolerance_s));
  }
  if (quota_.rate(now)) next = std::max(next, quota_.hold_until());
  return std::max(next, paused_until_);
}

void rate_controller::take_send_slot(steady_time now) noexcept {
  last_event_ = std::max(last_event_, now);
  const double rate = pace(now);
  last_slot_rate_ = rate;
  if (rate <= 0.0) {
    tat_ = now;
    return;
  }
  // max(tat, now): credit never accumulates while idle, so a late wake-up sends one, not a backlog.
  steady_time from = std::max(tat_, now);
  if (quota_.rate(now)) from = std::min(from, std::max(now, last_slot_at_ + from_seconds(1.0 / rate)));
  tat_ = from + from_seconds(1.0 / rate);
  last_slot_at_ = now;
}

void rate_controller::give_back_send_slot() noexcept {
  if (last_slot_rate_ > 0.0) tat_ -= from_seconds(1.0 / last_slot_rate_);
}

void rate_controller::on_quota(const quota_observation& seen, steady_time now, steady_time sent_at) noexcept {
  last_event_ = std::max(last_event_, now);
  // This process's requests written after the one answered: on their way, not counted yet.
  const double unaccounted = sent_.rate(now) * std::max(0.0, to_seconds(now - sent_at));
  quota_.on_observation(seen, now, unaccounted, sent_.rate(now));
}

unsigned rate_controller::in_flight_limit() const noexcept {
  const auto quota = quota_.rate(last_event_);
  if (!limiting_ && !quota) return config_.max_in_flight;
  // Little's law with 2x headroom: the pacer sets the rate, this only bounds bursts.
  const double rtt = std::max(srtt_s_, 0.001);
  const double wanted = std::ceil((quota ? *quota : fill_rate_) * rtt * 2.0) + 1.0;
  if (wanted >= static_cast<double>(config_.max_in_flight)) return config_.max_in_flight;
  return std::max(1U, static_cast<unsigned>(wanted));
}

void rate_controller::on_bytes_written(steady_time t) noexcept {
  sent_.record(t);
  recent_sent_.record(t);
}

std::chrono::steady_clock::duration rate_controller::settle() const noexcept {
  const auto two_rtts = from_seconds(2.0 * srtt_s_);
  return std::clamp<std::chrono::steady_clock::duration>(two_rtts, config_.min_settle,
                                                          config_.max_settle);
}

answer_kind answer_kind_of(const verdict& answer) noexcept {
  switch (answer.kind) {
    case verdict_kind::throttled: return answer_kind::throttled;
    case verdict_kind::server_error:
      return answer.http_status == 503 ? answer_kind::overloaded : answer_kind::failed;
    case verdict_kind::network_error:
    case verdict_kind::timeout:
    case verdict_kind::not_api:
    case verdict_kind::tls_error: return answer_kind::failed;
    case verdict_kind::deleted:
    case verdict_kind::not_found:
    case verdict_kind::unauthorized:
    case verdict_kind::client_error:
    case verdict_kind::disabled:
    case verdict_kind::enabled:
    case verdict_kind::present: break;
  }
  return answer_kind::accepted;
}

bool rate_controller::on_answer(steady_time now, steady_time sent_at, answer_kind kind,
                                std::optional<millis> retry_after) noexcept {
  last_event_ = std::max(last_event_, now);
  if (kind != answer_kind::failed) {
    const double rtt = std::max(0.0, to_seconds(now - sent_at));
    srtt_s_ = srtt_s_ == 0.0 ? rtt : 0.875 * srtt_s_ + 0.125 * rtt;
  }
  if (retry_after && *retry_after >= config_.long_retry_after) pause(now + *retry_after);

  switch (kind) {
    case answer_kind::accepted:
      accepted_.record(now);
      ++epoch_accepted_;
      cuts_in_a_row_ = 0;
      if (limiting_) grow(now);
      return false;
    case answer_kind::throttled:
      if (sent_at >= last_cut_) ++epoch_refused_;
      // While the advertised quota paces, a 429 it does not contradict (the last of a spent level met
      // by requests in flight) is the pacer's to absorb; one that contradicts it hands the pace back.
      if (quota_.active(now) && !quota_.on_throttled(now, sent_at)) return false;
      // One burst of 429s is one signal: ignore answers to requests sent before the last cut settled.
      if (cut_yet_ && sent_at < last_cut_ + settle()) return false;
      cut(now, retry_after);
      return true;
    case answer_kind::overloaded:
      if (sent_at >= last_cut_) ++epoch_refused_;
      // Overload, not an outage, only while requests are accepted between the cuts it causes.
      if (cut_yet_ && (epoch_accepted_ == 0 || sent_at < last_cut_ + settle())) return false;
      cut(now, retry_after);
      return true;
    case answer_kind::failed:
      return false;
  }
  return false;
}

void rate_controller::cut(steady_time now, std::optional<millis> retry_after) noexcept {
  if (cuts_in_a_row_ == 0) {
    // The rate the floor after a series is a share of (see grow()): what the server was seen to
    // sustain, not the start correction's reading of the first answers (16 in 1 ms: 1,600/s). A series
    // that begins while the pace is still climbing back from the floor of an earlier one (storms a
    // few seconds apart) would take a share of a rate that floor set (trial 17: 300/s, then 46-120,
    // then 2-16 between the storms): the last good rate holds while the accepted rate is under beta
    // of it and the last floor was applied within good_rate_memory.
    const double accepted = accepted_.sustained_rate(now);
    const bool recovering = floor_at_ && now - *floor_at_ < config_.good_rate_memory;
    if (!recovering || accepted >= config_.beta * last_good_rate_) last_good_rate_ = accepted;
    floor_armed_ = false;
  }
  floor_rate_ = 0.0;
  // W_max while limiting: what the server accepted (a token bucket accepts about R, so the next plateau
  // sits near R and the next cut comes a probe later), but never under pace_share_floor of the pace the
  // 429 was met at (bounded by what was sent: the sender may not have kept up with the pace). A 0.5 s
  // estimate lags a climb: after a step from 250 to 1000/s it set W_max at 886/s, and the pace plateaued
  // 11 % under R for a cycle. The pace alone sets W_max where the burst was drained, 8 % over R, and
  // cuts twice as often (each cut a 429 and a dip).
  double base = sent_.rate(now);
  if (limiting_) base = std::min(fill_rate_, std::max(base, recent_sent_.rate(now)));
  const double epoch_s = to_seconds(now - last_cut_);
  const double answered = static_cast<double>(epoch_accepted_ + epoch_refused_);
  const double accepted_share = answered > 0.0 ? static_cast<double>(epoch_accepted_) / answered : 1.0;
  if (cut_yet_ && epoch_s < config_.descent_epoch_s && accepted_share < config_.descent_accepted_share) {
    // Cuts in quick succession, with many of the requests sent since the last one refused: the rate is
    // still far above the server's. What the server accepted since the last cut is the best estimate of
    // its rate (a token bucket with nothing left in it accepts exactly R), and it gets there in one step
    // instead of many. When it accepted nearly all of them, the rate climbed to the server's since the
    // last cut, and the accepted average, taken over the climb, would land under it.
    const double window = std::max(epoch_s, to_seconds(config_.min_settle));
    base = std::min(base, (static_cast<double>(epoch_accepted_) + 1.0) / window);
  } else if (!limiting_) {
    // The first cut: what the server accepted bounds the rate it allows.
    const double accepted = accepted_.rate(now);
    if (accepted > 0.0) base = std::min(base, accepted);
  } else {
    // Later ones: see above.
    const double accepted = std::min(sent_.rate(now), accepted_.rate(now));
    if (accepted > 0.0) base = std::max(std::min(base, accepted), config_.pace_share_floor * base);
  }
  if (config_.max_rate > 0.0) base = std::min(base, config_.max_rate);
  base = std::max(base, config_.min_rate);

  w_max_ = base;
  fill_rate_ = std::max(config_.min_rate, config_.beta * base);
  // C is absolute (the same for every process on the server), so K grows with cbrt(W_max): a process
  // with a bigger share recovers more slowly than a smaller one, and shares converge.
  const double drop = w_max_ * (1.0 - config_.beta);
  const double k = std::clamp(std::cbrt(drop / absolute_c()), config_.min_recovery_s, config_.max_recovery_s);
  c_ = std::max(config_.cubic_c, drop / (k * k * k));
  k_s_ = std::cbrt(drop / c_);
  last_cut_ = now;
  epoch_accepted_ = 0;
  epoch_refused_ = 0;
  cut_yet_ = true;
  limiting_ = true;
  ++cuts_;
  if (++cuts_in_a_row_ >= config_.pause_after_cuts) {
    floor_armed_ = true;  // a burst of 429s with nothing accepted: the estimates above may be near 0
    pause(now + retry_after.value_or(config_.default_pause));
  }
}

void rate_controller::grow(steady_time now) noexcept {
  const double t = to_seconds(now - last_cut_) - k_s_;
  double rate = c_ * t * t * t + w_max_;
  // Never more than twice what was actually sent (AWS), nor above the user's ceiling.
  const double sent = sent_.rate(now);
  rate = std::min(rate, 2.0 * std::max(sent, config_.min_rate));
  // Not stuck near the floor after a series of 429s that paused everyone: soon after its last cut, at
  // least a share of what the server accepted before it, held until the send rate has caught up with
  // half of it (a server that really fell further costs a 429 per cut). Without the hold, the cap above,
  // on a send rate measured while the series held the pace near 0, took the floor back at the next
  // answer: 6 s of 429s, 3 s under 10 % after the first accepted answer; a 1.2 s storm, 1.9 s.
  if (floor_armed_ && now - last_cut_ >= config_.floor_after) {
    const double floor = config_.floor_share * last_good_rate_;
    rate = std::max(rate, floor);
    floor_armed_ = false;  // once: from there CUBIC climbs (or the next 429 cuts) as usual
    floor_rate_ = floor;
    floor_at_ = now;
    if (rate > w_max_) w_max_ = rate;
    // The curve restarts from here, at W_max (at least the floor), probing with the absolute C: the
    // C of the last cut, at a W_max the series drove near 0, climbed from 37 to 300 req/s in 4.5 s.
    c_ = std::max(c_, absolute_c());
    k_s_ = to_seconds(now - last_cut_);
    // The slot taken at the slow pace (up to 2 s at min_rate) does not hold the next one back.
    // (No floor when nothing was accepted before the series.)
    if (floor > 0.0) tat_ = std::min(tat_, last_slot_at_ + from_seconds(1.0 / floor));
  }
  rate = std::max(rate, floor_rate_);
  if (sent * 2.0 >= floor_rate_) floor_rate_ = 0.0;  // the cap no longer pulls under it
  if (config_.max_rate > 0.0) rate = std::min(rate, config_.max_rate);
  fill_rate_ = std::max(rate, config_.min_rate);
}

double rate_controller::absolute_c() const noexcept {
  return (1.0 - config_.beta) * config_.reference_rate / std::pow(config_.reference_recovery_s, 3.0);
}

void rate_controller::pause(steady_time until) noexcept {
  paused_until_ = std::max(paused_until_, until);
}

}  // namespace keyrevoke::core
