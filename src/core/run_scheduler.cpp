// Over 400 lines on purpose: one state machine whose transitions share its queues, counters and phase;
// split across files, the decisions this file gathers would scatter again.
#include "keyrevoke/core/run_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace keyrevoke::core {

namespace {

// Answers that say the server could not do its job: evidence for server_health, and (when the
// request was written) a sign that the server may have acted without our hearing of it.
constexpr bool is_failure(verdict_kind k) noexcept {
  return k == verdict_kind::server_error || k == verdict_kind::network_error || k == verdict_kind::timeout ||
         k == verdict_kind::not_api;
}

double elapsed_ms(const job& j, steady_time now) {
  if (j.attempts == 0) return 0.0;
  return std::chrono::duration<double, std::milli>(now - j.first_sent).count();
}

std::string last_answer_note(const job& j) {
  return j.last_error.empty() ? std::string{} : "; last answer: " + j.last_error;
}

}  // namespace

stale_send judge_stale_send(verdict_kind kind, const exchange_facts& facts, bool resent_before) noexcept {
  stale_send out;
  out.resend = kind == verdict_kind::network_error && facts.reused_connection && !facts.answer_started &&
               !resent_before;
  out.unread = out.resend && (!facts.written || facts.refused_unread);
  return out;
}

std::string_view to_string(stop_reason reason) noexcept {
  switch (reason) {
    case stop_reason::interrupted: return "interrupted";
    case stop_reason::key_rejected: return "key_rejected";
    case stop_reason::refused: return "refused";
    case stop_reason::tls_untrusted: return "tls_untrusted";
    case stop_reason::not_api: return "not_api";
    case stop_reason::contradicted: return "contradicted";
    case stop_reason::unattributable: return "unattributable";
    case stop_reason::unreachable: return "unreachable";
    case stop_reason::gave_up: return "gave_up";
    case stop_reason::report_failed: return "report_failed";
    case stop_reason::none: break;
  }
  return "none";
}

run_scheduler::run_scheduler(const scheduler_config& config, steady_time now)
    : config_{config},
      controller_{rate_controller_config{.max_in_flight = std::max(1U, config.concurrency), .max_rate = config.max_rate},
                  now},
      health_{config.health, now},
      phase_{config.preflight ? run_phase::preflight : run_phase::running},
      preflight_due_{now},
      started_{now} {
  last_accepted_ = now;
  preflight_passed_ = !config.preflight;
  config_.max_attempts = std::max(1U, config_.max_attempts);
  config_.concurrency = std::max(1U, config_.concurrency);
  if (config_.retry_capacity == 0) config_.retry_capacity = 4 * std::size_t{config_.concurrency} + 256;
  counts_.act = config_.act;
  counts_.verify = config_.verify;
}

// --- input -------------------------------------------------------------------------------------

void run_scheduler::on_input(std::vector<key_hash> verify_only, std::vector<key_hash> hashes, bool last,
                             steady_time now) {
  if (phase_ == run_phase::done) return;  // the run ended; the reader was told to stop: no rows, not counted
  counts_.hashes += hashes.size();
  if (last) {
    input_complete_ = true;
    counts_.input_complete = true;
  }
  if (phase_ == run_phase::stopping || phase_ == run_phase::draining) {
    job j;
    j.kind = job_kind::verify;
    for (const key_hash& h : verify_only) {
      j.hash = h;
      abandon(j, stop_note(), now);
    }
    j.kind = job_kind::act;
    for (const key_hash& h : hashes) {
      j.hash = h;
      abandon(j, stop_note(), now);
    }
    ++consumed_batches_;
    settle_stop(now);
    return;
  }
  if (verify_only.empty() && hashes.empty()) {
    ++consumed_batches_;
  } else {
    pending_.push_back({std::move(verify_only), std::move(hashes)});
  }
}

unsigned run_scheduler::take_consumed_batches() noexcept { return std::exchange(consumed_batches_, 0U); }

std::optional<job> run_scheduler::take_pending() {
  if (pending_.empty()) return std::nullopt;
  pending_batch& front = pending_.front();
  job next;
  if (front.verify_pos < front.verify_only.size()) {
    next.hash = front.verify_only[front.verify_pos++];
    next.kind = job_kind::verify;
  } else {
    next.hash = front.hashes[front.pos++];
  }
  next.sequence = ++sequence_;
  if (front.verify_pos == front.verify_only.size() && front.pos == front.hashes.size()) {
    pending_.pop_front();
    ++consumed_batches_;
  }
  return next;
}

std::optional<job> run_scheduler::take_pending_for_probe(std::uint64_t k) {
  if (pending_.empty()) return std::nullopt;
  pending_batch& front = pending_.front();
  if (front.verify_pos == front.verify_only.size() && front.pos < front.hashes.size()) {
    const std::size_t left = front.hashes.size() - front.pos;
    const double golden = 0.6180339887498949;
    const double spread = std::fmod(static_cast<double>(k) * golden, 1.0);
    const auto offset = std::min(left - 1, static_cast<std::size_t>(spread * static_cast<double>(left)));
    std::swap(front.hashes[front.pos], front.hashes[front.pos + offset]);
  }
  return take_pending();
}

// --- dispatching -------------------------------------------------------------------------------

unsigned run_scheduler::in_flight_limit() const noexcept {
  return health_.in_flight_limit(std::min(controller_.in_flight_limit(), config_.concurrency));
}

next_step run_scheduler::dispatch(job j, steady_time now) {
  controller_.take_send_slot(now);
  if (j.attempts == 0) j.first_sent = now;
  ++j.attempts;
  ++in_flight_;
  ++counts_.requests;
  if (j.attempts > 1 && j.kind != job_kind::confirm) ++counts_.retries;  // a confirmation's reads are its proof
  next_step step;
  step.what = next_step::kind::dispatch;
  step.work = std::move(j);
  return step;
}

next_step run_scheduler::next(steady_time now) {
  next_step step;
  switch (phase_) {
    case run_phase::done: step.what = next_step::kind::done; return step;
    case run_phase::stopping:
    case run_phase::draining: return step;  // wait: answers in flight, or the rest of the input
    case run_phase::preflight:
      if (preflight_in_flight_) return step;
      if (!has_pending()) {
        // Nothing to send yet: the server is not asked anything before there is (an empty input
        // ends the run without a request).
        if (input_complete_) {
          phase_ = run_phase::done;
          step.what = next_step::kind::done;
        }
        return step;
      }
      if (now < preflight_due_) {
        step.what = next_step::kind::sleep_until;
        step.until = preflight_due_;
        return step;
      }
      preflight_in_flight_ = true;
      {
        job check;
        check.kind = job_kind::preflight;
        if (!route_candidates_.empty()) {
          check.kind = job_kind::route_check;
          check.hash = route_candidates_.front();
        } else {
          check.fresh_listing = fresh_listing_;
        }
        ++in_flight_;
        ++counts_.requests;
        step.what = next_step::kind::dispatch;
        step.work = std::move(check);
      }
      return step;
    case run_phase::running: break;
  }

  if (health_.should_give_up(now)) {
    failing_for_ = std::chrono::duration_cast<millis>(now - health_.last_success());
    stop(stop_reason::gave_up, last_failure_, now);
    return next(now);
  }
  // Only while refusals are the latest answers: after a failure (silence, a timeout, a 5xx) the server
  // is not refusing but failing, and server_health decides (with its probes) when to give up.
  if (counts_.throttled != 0 && last_throttle_at_ > last_accepted_ && last_throttle_at_ > last_failure_at_ &&
      now - last_accepted_ >= config_.health.give_up_after) {
    // Nothing but refusals (429, a 403/503 with a hint) for --give-up-after: the server will not take
    // this work now; stop, resumable, rather than wait out 4 x --max-attempts per hash.
    failing_for_ = std::chrono::duration_cast<millis>(now - last_accepted_);
    stop(stop_reason::gave_up, "the server throttled every request (last: " + last_throttle_ + ")", now);
    return next(now);
  }
  if (in_flight_ >= in_flight_limit()) return step;

  if (health_.in_outage()) {
    // One probe at a time, on its schedule; nothing else goes.
    if (health_.probe_in_flight()) return step;
    if (now < health_.next_probe_at()) {
      step.what = next_step::kind::sleep_until;
      step.until = health_.next_probe_at();
      return step;
    }
    // A fresh hash first: a hash that already failed may fail for reasons of its own.
    std::optional<job> probe;
    if (!verifications_.empty()) {
      probe = std::move(verifications_.front());
      verifications_.pop_front();
    } else if (has_pending()) {
      probe = take_pending_for_probe(counts_.probes);
    } else if (!retries_.empty()) {
      probe = retries_.top();
      retries_.pop();
    }
    if (!probe) {
      if (input_complete_ && in_flight_ == 0) phase_ = run_phase::done;
      return next_step{phase_ == run_phase::done ? next_step::kind::done : next_step::kind::wait, {}, {}};
    }
    probe->probe = true;
    health_.on_probe_sent();
    ++counts_.probes;
    return dispatch(std::move(*probe), now);
  }

  const bool retry_due = !retries_.empty() && retries_.top().not_before <= now;
  const bool verify_ready = !verifications_.empty();
  const bool take_new =
      has_pending() && retries_.size() + verifications_.size() < config_.retry_capacity && confirms_shown_ == 0;
  if (!retry_due && !verify_ready && !take_new) {
    if (input_complete_ && !has_pending() && retries_.empty() && verifications_.empty() && in_flight_ == 0) {
      phase_ = run_phase::done;
      step.what = next_step::kind::done;
      return step;
    }
    if (!retries_.empty()) {
      step.what = next_step::kind::sleep_until;
      step.until = retries_.top().not_before;
    }
    return step;
  }
  const steady_time send_at = controller_.next_send_time(now);
  if (send_at > now) {
    step.what = next_step::kind::sleep_until;
    step.until = send_at;
    return step;
  }
  job j;
  if (verify_ready) {
    // Proofs first: the action is done and written; its proof should follow it closely.
    j = std::move(verifications_.front());
    verifications_.pop_front();
  } else if (retry_due) {
    j = retries_.top();
    retries_.pop();
  } else {
    j = *take_pending();
  }
  return dispatch(std::move(j), now);
}

wait_reason run_scheduler::waiting(steady_time now) const noexcept {
  const auto left = [now](steady_time until) {
    return until > now ? std::chrono::duration_cast<millis>(until - now) : millis{0};
  };
  switch (phase_) {
    case run_phase::done:
      return {};
    case run_phase::stopping:
    case run_phase::draining:
      return {wait_cause::stopping, {}, 0};
    case run_phase::preflight:
      if (preflight_in_flight_) return {wait_cause::preflight, {}, 0};
      if (now < preflight_due_) return {wait_cause::preflight_retry, left(preflight_due_), 0};
      if (!has_pending() && !input_complete_) return {wait_cause::input, {}, 0};
      return {};
    case run_phase::running:
      break;
  }
  if (health_.in_outage()) return {wait_cause::outage, left(health_.next_probe_at()), 0};
  if (controller_.paused_until() > now) {
    // The controller holds every send: a long hint, or throttled answers that kept coming.
    return {last_throttle_hinted_ ? wait_cause::server_asked : wait_cause::throttling,
            left(controller_.paused_until()), last_throttle_status_};
  }
  if (in_flight_ != 0) return {};
  if (const steady_time hold = controller_.quota_hold_until(now); hold > now)
    return {wait_cause::quota_spent, left(hold), 0};
  if (confirms_shown_ != 0 && has_pending() && verifications_.empty()) {
    return {wait_cause::confirming, retries_.empty() ? millis{0} : left(retries_.top().not_before), 0};
  }
  const bool take_new = has_pending() && retries_.size() + verifications_.size() < config_.retry_capacity;
  if (!retries_.empty() && verifications_.empty() && !take_new && retries_.top().not_before > now) {
    const job& first = retries_.top();
    // Its delay is the server's hint when the hint lasts about as long: the retry policy waits the
    // longer of hint and backoff, and spreads a hint by up to 1 s (retry_policy.cpp).
    const bool asked =
        first.hint_until != steady_time{} && first.hint_until + millis{1001} >= first.not_before;
    return {asked ? wait_cause::server_asked : wait_cause::backoff, left(first.not_before),
            asked ? first.last_status : 0U};
  }
  if (!has_pending() && retries_.empty() && verifications_.empty() && !input_complete_) {
    return {wait_cause::input, {}, 0};
  }
  return {};
}

// --- answers -----------------------------------------------------------------------------------

void run_scheduler::count_answer(const verdict& answer) noexcept {
  switch (answer.kind) {
    case verdict_kind::throttled: ++counts_.throttled; break;
    case verdict_kind::server_error:
      // The summary calls this counter "5xx": a 200 page, a 2xx with another body, a 408 or a 1xx is
      // counted as what it is, an answer the API does not give (the trial: 200 HTML pages read as 5xx).
      // (No status: a failure the pool calls a server error, e.g. a body over the limit.)
      if (answer.http_status != 0 && (answer.http_status < 500 || answer.http_status >= 600)) {
        ++counts_.not_api;
      } else {
        ++counts_.server_errors;
      }
      break;
    case verdict_kind::not_api: ++counts_.not_api; break;
    case verdict_kind::network_error: ++counts_.network_errors; break;
    case verdict_kind::timeout: ++counts_.timeouts; break;
    default: break;
  }
}

void run_scheduler::on_result(job j, const verdict& answer, const exchange_facts& facts, steady_time now,
                              double u01) {
  --in_flight_;
  if (answer.unrequested_answer) {
    // An answer no request asked for: from here on no answer of this server can be matched to its
    // request (HTTP/1.1 has no request ids), so none is taken; the run stops (exit 2).
    const std::string why = answer.message + " (the server's answers cannot be matched to requests)";
    if (j.kind == job_kind::verify) {
      finish_verify(j, verify_outcome::failed, observed_state::unknown, 0, why, now);
    } else if (j.kind == job_kind::confirm) {
      abandon(j, "its 404 was not confirmed: " + why, now);
    } else if (facts.written) {
      finish(j, outcome::failed, 0, why, now);
    } else {
      abandon(j, "not sent: " + why, now);
    }
    stop(stop_reason::unattributable, answer.message, now);
    return;
  }
  const bool probe = std::exchange(j.probe, false);
  // A connection the server closed while it sat idle in the pool: the request most likely never
  // reached the server. Resent once at once; not a failure of the server or of the hash, and not an
  // attempt when TCP shows no server read it.
  const stale_send stale_case = judge_stale_send(answer.kind, facts, j.stale_resent);
  const bool stale = stale_case.resend;
  // A failure before the request was written (connect or TLS handshake failed, a write refused):
  // nothing reached the server, so it is no attempt and uses up no --max-attempts. It still tells of
  // the server's health (a server down refuses connections), and the outage rules bound the retries.
  const bool unsent = !facts.written && is_failure(answer.kind);
  if (stale_case.unread || unsent) {
    if (j.attempts > 1) --counts_.retries;
    if (j.attempts > 0) --j.attempts;
    --counts_.requests;
    controller_.give_back_send_slot();  // no server read it: its resend spends no rate token of its own
  }
  const bool delivered = facts.written && !stale_case.unread;
  if (facts.quota && delivered) controller_.on_quota(*facts.quota, now, facts.written_at);
  controller_.on_answer(now, delivered ? facts.written_at : now, answer_kind_of(answer), answer.retry_after);
  if (!stale_case.unread) count_answer(answer);
  if (answer.http_status != 0) j.last_status = answer.http_status;
  j.hint_until = answer.retry_after ? now + *answer.retry_after : steady_time{};

  const bool failure = is_failure(answer.kind);
  // A 403 or 503 that throttles (its hint) may come from a gateway in front of a server that acted (a
  // 503 for an upstream that answered too late): unlike a 429, it does not show that nothing was done.
  if (answer.kind == verdict_kind::throttled && answer.http_status != 429 && facts.written) j.maybe_acted = true;
  bool counted = false;
  // A 4xx that is not the API's (a route 404 page) is a wrong route, not a server down: it fails the
  // hash within --max-attempts, and says nothing about the server's health.
  const bool outage_evidence = failure && !(answer.kind == verdict_kind::not_api && answer.http_status < 500);
  if (failure) {
    const bool healthy_before = !health_.in_outage();
    if (!stale && outage_evidence) {
      health_.on_failure(now, !j.failed_before, probe, u01);
      j.failed_before = true;
    } else if (probe) {
      health_.on_probe_abandoned();
    }
    if (healthy_before && health_.in_outage()) ++counts_.outages;
    if (outage_evidence && !stale) {
      last_failure_ = answer.message;  // the summary quotes it if the run gives up
      last_failure_at_ = now;
    }
    // Failures during an outage (or the one that showed it) do not use up the hash's attempts.
    counted = !stale && !unsent && healthy_before && !health_.in_outage();
    // Written, and no answer the API gives when it did nothing (a 429, a 401/403, a 4xx with its error):
    // the server may have acted. A 204, a gateway's 404 page, a 5xx or silence all leave that open.
    if (delivered) j.maybe_acted = true;
  } else if (answer.kind != verdict_kind::tls_error) {
    health_.on_success(now);
    if (answer.kind == verdict_kind::throttled) {
      last_throttle_ = answer.message;
      last_throttle_status_ = answer.http_status;
      last_throttle_hinted_ = answer.retry_after.has_value();
      last_throttle_at_ = now;
    } else {
      last_accepted_ = now;
    }
  } else if (probe) {
    health_.on_probe_abandoned();
  }

  if (aborts_run(answer.kind)) {
    const bool rejected = answer.kind == verdict_kind::unauthorized;
    // `unauthorized` (and key_rejected) claim the API refused the key: not for a refusal without its
    // error body (a gateway's 403 page), which is no more than a failure.
    const bool api_refusal = rejected && !answer.gateway_page;
    if (j.kind == job_kind::verify) {
      finish_verify(j, verify_outcome::failed, observed_state::unknown, answer.http_status, answer.message, now);
    } else if (j.kind == job_kind::confirm) {
      abandon(j, "its 404 was not confirmed: " + answer.message, now);
    } else {
      finish(j, api_refusal ? outcome::unauthorized : outcome::failed, answer.http_status, answer.message, now);
    }
    stop(!rejected     ? stop_reason::tls_untrusted
         : api_refusal ? stop_reason::key_rejected
                       : stop_reason::refused,
         answer.message, now);
    return;
  }

  // How many of which kind of answer decide this hash's fate (see the header).
  const bool throttled = answer.kind == verdict_kind::throttled;
  if (throttled) ++j.throttles;
  if (counted) ++j.failures;
  const unsigned limit = throttled ? 4 * config_.max_attempts : config_.max_attempts;
  const attempt_result attempt{answer.kind, answer.retry_after, facts.reused_connection};

  if (failure && !counted) {
    // A stale connection, or a failure during an outage: try again, its --max-attempts untouched.
    j.stale_resent = j.stale_resent || stale;
    if (stale_case.unread) {
      j.last_error =
          "the server had closed the kept-alive connection while it was idle; the request went unread";
    } else if (stale) {
      j.last_error =
          "a kept-alive connection closed before any answer (most likely closed by the server while idle): " +
          answer.message;
    } else {
      j.last_error = answer.message;
    }
    const millis delay = stale ? millis{0} : full_jitter_delay(config_.backoff, std::max(1U, j.failures + 1), u01);
    retry_later(std::move(j), delay, now);
    return;
  }

  if (j.kind == job_kind::verify || j.kind == job_kind::confirm) {
    const observed_state seen = observed(answer);
    // A confirm proves a 404, whatever the action: only "no such key" does (the fifth trial's --disable run
    // took an already disabled key, shown by the key route, for a confirmed 404).
    const action proven = j.kind == job_kind::confirm ? action::delete_key : config_.act;
    const bool wrong_state = seen != observed_state::unknown && !proves(proven, seen, j.found_no_key);
    if (wrong_state && ++j.mismatches == 1 && j.kind == job_kind::confirm) ++confirms_shown_;
    const unsigned n = throttled ? j.throttles : failure ? j.failures : std::max(1U, j.mismatches);
    verify_step step =
        plan_after_check(proven, answer, facts.reused_connection, n, limit, config_.backoff, u01, j.found_no_key);
    if (j.kind == job_kind::confirm) {
      // A 404 is confirmed by two reads in a row showing no such key: the fourth trial's gateway spread
      // the key route over two environments, and one read of the right one let live keys be claimed gone.
      // A key shown after a read showed it gone has not come back: two backends answer (a lagging
      // replica shows it, then stops showing it, never the other way round).
      if (seen == observed_state::gone) {
        // Two reads; five in a row once the key was shown (a lagging replica stops showing it for good,
        // a random split over two environments gives five in a row one time in 32: the fifth trial's
        // "shown, shown, gone, gone" passed half the time, the seventh's "shown, gone x 3" one in eight).
        if (!step.retry && step.result == verify_outcome::verified &&
            ++j.gone_reads < (j.mismatches != 0 ? confirm_reads_after_shown : confirm_reads)) {
          step.retry = true;
          step.delay = millis{0};
        }
      } else if (seen != observed_state::unknown && j.gone_reads != 0) {
        step = {false, millis{0}, verify_outcome::mismatch, seen};
      }
    } else if (wrong_state && j.found_no_key && config_.confirm_404s) {
      // The proof of a 404 its confirmation showed gone, two reads in a row: the key shown now has not
      // come back (a lagging replica stops showing a key, never the other way round); two APIs answer
      // (the seventh trial: a random upstream, "gone, gone", then "shown" three times and "gone", was
      // "verified"). No waiting for it to read gone again.
      step = {false, millis{0}, verify_outcome::mismatch, seen};
    }
    std::string message = answer.message;
    if (wrong_state && message.empty()) {
      message = seen == observed_state::gone ? std::string{"the server shows no such key"}
                                             : "the server still shows the key " + std::string{to_string(seen)};
    }
    if (!step.retry) {
      if (j.kind == job_kind::confirm) {
        settle_confirm(j, step, answer, now);
      } else {
        finish_verify(j, step.result, step.seen, answer.http_status,
                      step.result == verify_outcome::verified ? std::string_view{} : std::string_view{message}, now);
        if (step.result == verify_outcome::mismatch && j.found_no_key && config_.confirm_404s) {
          stop(stop_reason::contradicted,
               "GET /keys/{hash} showed a key (" + std::string{to_string(step.seen)} +
                   ") its confirmation had read gone twice in a row: the key route reaches two different APIs (a "
                   "gateway spreading it over two environments?); no 404 of this run is proof",
               now);
        }
      }
      settle_stop(now);
      return;
    }
    j.last_error = std::move(message);
    retry_later(std::move(j), step.delay, now);
    return;
  }

  const unsigned n = throttled ? j.throttles : failure ? j.failures : 1;
  const retry_plan plan = plan_after_attempt(attempt, n, limit, config_.backoff, u01);
  if (!plan.retry) {
    outcome result = plan.final_outcome;
    std::string_view error = answer.message;
    std::string note;
    // The listing showed the key a moment ago and nothing of ours could have removed it.
    const bool listed = result == outcome::not_found && !j.maybe_acted && listed_at_start_.contains(j.hash);
    if (listed && !config_.confirm_404s) {
      // The listing showed the key a moment ago and nothing of ours could have removed it: a 404 from
      // another route or another environment, or a key deleted by someone else in between. Claim
      // nothing and stop; a --resume lists anew and tells the two apart.
      std::string why = "the server's listing showed this key at the start of the run, then its " +
                        std::string{to_string(config_.act)} + " was answered HTTP " +
                        std::to_string(answer.http_status) + (answer.message.empty() ? "" : " (" + answer.message + ")") +
                        ": not the same API behind both routes? (a gateway rewriting the path, another "
                        "environment); or someone else deleted it meanwhile: --resume lists again";
      finish(j, outcome::failed, answer.http_status, why, now);
      stop(stop_reason::contradicted, std::move(why), now);
      return;
    }
    if (result == outcome::not_found && j.maybe_acted && config_.act == action::delete_key) {
      // The key is gone; an earlier attempt of ours may have deleted it and its answer was lost.
      result = outcome::not_found_after_retry;
      note = "gone; an earlier attempt may have deleted it (its answer was lost" +
             (j.last_error.empty() ? std::string{")"} : ": " + j.last_error + ")");
      error = note;
    } else if (result == outcome::not_found && config_.act == action::delete_key && config_.sent_before != nullptr &&
               config_.sent_before->contains(j.hash)) {
      result = outcome::not_found_after_retry;
      note = "gone; an earlier run sent a request for it whose answer proved nothing, and may have deleted it";
      error = note;
    } else if (result == outcome::not_found && config_.earlier_run_unfinished && config_.act == action::delete_key) {
      result = outcome::not_found_after_retry;
      note = "gone; the run before this --resume ended without its summary and may have deleted it";
      error = note;
    }
    const bool gone = result == outcome::not_found || result == outcome::not_found_after_retry;
    if (gone && reason_ == stop_reason::contradicted) {
      // The run has found its routes contradicting each other: no 404 of it is proof any more.
      finish(j, outcome::failed, answer.http_status,
             "answered 404 after the run found its key route contradicting the listing or the action's "
             "route: unproven",
             now);
      settle_stop(now);
      return;
    }
    // Every 404 is confirmed through the key route (confirm_404s), a listed key's too: the key route,
    // proven to reach the listing's API, tells a gateway sending the action elsewhere (it shows the key)
    // from a key deleted meanwhile or a stale (cached) listing (it shows none). A budget of the first
    // three 404s let every later one be claimed unseen (the fifth trial).
    if (gone && config_.confirm_404s) {
      if (phase_ != run_phase::running) {
        finish(j, outcome::not_attempted, answer.http_status,
               "answered 404, not confirmed before the run stopped; --resume settles it", now);
        settle_stop(now);
        return;
      }
      job check;
      check.hash = j.hash;
      check.kind = job_kind::confirm;
      check.sequence = j.sequence;
      check.found_no_key = true;
      verifications_.push_front(std::move(check));
      held_.push_back({std::move(j), result, answer.http_status, std::string{error}});
      return;
    }
    finish_action(j, result, answer.http_status, error, now);
    settle_stop(now);
    return;
  }
  j.last_error = answer.message;
  retry_later(std::move(j), plan.delay, now);
}

void run_scheduler::finish_action(const job& j, outcome result, unsigned status, std::string_view error,
                                  steady_time now) {
  finish(j, result, status, error, now);
  if (config_.verify && is_done(result)) {
    job check;
    check.hash = j.hash;
    check.kind = job_kind::verify;
    check.sequence = j.sequence;
    check.found_no_key = result == outcome::not_found || result == outcome::not_found_after_retry;
    if (phase_ == run_phase::running || phase_ == run_phase::preflight) {
      verifications_.push_back(std::move(check));
    } else {
      abandon(check, stop_note(), now);
    }
  }
}

std::optional<run_scheduler::held_404> run_scheduler::take_held(const key_hash& hash) {
  const auto it = std::find_if(held_.begin(), held_.end(), [&](const held_404& h) { return h.act.hash == hash; });
  if (it == held_.end()) return std::nullopt;
  held_404 found = std::move(*it);
  held_.erase(it);
  return found;
}

void run_scheduler::confirm_ended(const job& c) noexcept {
  if (c.mismatches != 0 && confirms_shown_ != 0) --confirms_shown_;
}

void run_scheduler::settle_confirm(const job& c, const verify_step& step, const verdict& answer, steady_time now) {
  confirm_ended(c);
  std::optional<held_404> held = take_held(c.hash);
  if (!held) return;
  if (reason_ == stop_reason::contradicted) {
    // Another confirmation (or the listing) showed the routes contradicting each other: no 404 is proof.
    finish(held->act, outcome::failed, held->status,
           "answered 404, then the run found its key route contradicting the action's route: unproven", now);
    return;
  }
  switch (step.result) {
    case verify_outcome::verified:  // the key route shows no such key either: the 404 stands
      finish_action(held->act, held->result, held->status, held->error, now);
      return;
    case verify_outcome::mismatch: {
      // The action's route answered the API's 404; the key route still shows the key, after the re-checks
      // a lagging replica is given: not the same API behind both (a gateway sending only DELETE/PATCH
      // elsewhere). Claim nothing, and stop.
      std::string why = std::string{to_string(config_.act)} + " was answered HTTP " + std::to_string(held->status) +
                        " (no such key), but GET /keys/{hash} still shows the key (" +
                        std::string{to_string(step.seen)} + ", " + std::to_string(c.attempts) +
                        (c.attempts == 1 ? " read" : " reads") +
                        "): the two routes do not reach the same API (a gateway sending " +
                        (config_.act == action::delete_key ? "DELETE" : "PATCH") +
                        " elsewhere? another environment?)";
      finish(held->act, outcome::failed, held->status, why, now);
      stop(stop_reason::contradicted, std::move(why), now);  // the other held 404s: abandon
      return;
    }
    case verify_outcome::failed:
    case verify_outcome::not_attempted: {
      // No usable answer: the 404 is not shown to be the API's, so it is not claimed (the fifth trial: a
      // key route answering 502 pages let 40 live keys be claimed gone). A --resume sends it again.
      std::string error = "answered 404, which GET /keys/{hash} could not confirm (" +
                          (answer.message.empty() ? "HTTP " + std::to_string(answer.http_status) : answer.message) +
                          "): unproven";
      finish(held->act, outcome::failed, held->status, error, now);
      return;
    }
  }
}

void run_scheduler::retry_later(job j, millis delay, steady_time now) {
  if (phase_ != run_phase::running) {
    abandon(j, queued_note(j), now);
    settle_stop(now);
    return;
  }
  j.not_before = now + delay;
  retries_.push(std::move(j));
}

void run_scheduler::on_preflight(const preflight_result& answer, steady_time now, double u01) {
  --in_flight_;
  preflight_in_flight_ = false;
  if (phase_ != run_phase::preflight) {
    settle_stop(now);
    return;
  }
  const auto retry_in = [&](millis delay) { preflight_due_ = now + delay; };
  const bool route_read = !route_candidates_.empty();  // this answer is the key route's, not the listing's
  if (answer.unrequested_answer) {
    stop(stop_reason::unattributable, answer.message, now);  // as in on_result; nothing was sent
    return;
  }
  switch (answer.kind) {
    case preflight_kind::ok:
      health_.on_success(now);
      last_accepted_ = now;
      if (!route_read && answer.listed.empty() && ++empty_listings_ < route_reads) {
        preflight_due_ = now;  // no key: the listing again (a route spread over an empty environment)
        return;
      }
      if (!route_read && !answer.listed.empty() && empty_listings_ != 0) {
        stop(stop_reason::contradicted,
             "GET /keys showed no key, then " + std::to_string(answer.listed.size()) +
                 (answer.listed.size() == 1 ? " key" : " keys") +
                 " with nothing sent in between: the listing route reaches two different APIs (a gateway "
                 "spreading it over two environments?), or keys were created that very moment; nothing was sent",
             now);
        return;
      }
      if (!route_read && !answer.listed.empty()) {
        // The listing showed keys: one of them is read back through the key route next. Asked afresh
        // (fresh_listing_), only keys not read gone already: the same stale page again stops the run.
        std::vector<key_hash> unread;
        for (const key_hash& h : answer.listed) {
          if (std::find(route_gone_.begin(), route_gone_.end(), h) == route_gone_.end()) unread.push_back(h);
        }
        if (unread.empty()) {
          stop(stop_reason::contradicted,
               "GET /keys, asked again through another URI, listed only keys the key route had answered 404 "
               "for: the key route does not reach the listing's API (a gateway sending /keys/{hash} elsewhere? "
               "another environment?), or a cache in front ignores the query; nothing was sent",
               now);
          return;
        }
        route_candidates_ = route_check_order(unread);
        for (const key_hash& h : listed_pending_) {
          if (std::find(unread.begin(), unread.end(), h) == unread.end()) unread.push_back(h);
        }
        listed_pending_ = std::move(unread);
        route_shown_ = route_gone_reads_ = 0;
        preflight_due_ = now;
        return;
      }
      if (route_read && route_gone_reads_ != 0) {
        // The API's 404 for this key, then the key, with nothing of ours sent: a deleted key does not
        // come back (and a stale cached listing's key stays gone); two APIs answer for the route.
        stop(stop_reason::contradicted,
             "the key route (GET /keys/{hash}) answered the API's 404 for a key the listing had shown, then "
             "showed that key, with nothing sent in between: it reaches two different APIs (a gateway spreading "
             "it over two environments?); nothing was sent",
             now);
        return;
      }
      if (route_read && ++route_shown_ < route_reads) {
        preflight_due_ = now;  // the same key again: a route split over two environments answers both ways
        return;
      }
      for (const key_hash& h : route_read ? listed_pending_ : answer.listed) {
        if (std::find(route_gone_.begin(), route_gone_.end(), h) == route_gone_.end()) listed_at_start_.insert(h);
      }
      listed_pending_ = {};
      route_candidates_ = {};
      phase_ = run_phase::running;
      preflight_passed_ = true;
      return;
    case preflight_kind::contradicted:
      // The API's 404 for a listed key: gone since a (cached?) listing, or a route to another API. The
      // next candidate settles it; a 404 for every one of them stops the run.
      health_.on_success(now);
      if (route_read) {
        // Read again until route_reads in a row show it gone: a key deleted that moment (another shard,
        // a colleague) or a stale cached listing's key stays gone; a route spread over two environments
        // shows it again (the eighth trial: "shown, gone", then the next key, passed).
        route_shown_ = 0;
        if (++route_gone_reads_ < route_reads) {
          preflight_due_ = now;
          return;
        }
        route_gone_reads_ = 0;
        route_gone_.push_back(route_candidates_.front());
        route_candidates_.erase(route_candidates_.begin());
        if (!route_candidates_.empty()) {
          preflight_due_ = now;
          return;
        }
        if (!fresh_listing_) {
          // Every key read back is gone: a key route sent elsewhere, or a cached listing whose keys were
          // all deleted since. The listing once more, through a URI a cache has not seen.
          fresh_listing_ = true;
          empty_listings_ = 0;
          preflight_due_ = now;
          return;
        }
      }
      stop(stop_reason::contradicted,
           route_gone_.size() > 1
               ? answer.message + " (" + std::to_string(route_gone_.size()) +
                     " listed keys read back, in two listings: a 404 for each; a gateway caching GET /keys whatever "
                     "its query answers so too once every key it read back was deleted since: then wait for its "
                     "cache to expire)"
               : answer.message,
           now);
      return;
    case preflight_kind::rejected:
      stop(answer.gateway_page ? stop_reason::refused : stop_reason::key_rejected, answer.message, now);
      return;
    case preflight_kind::tls: stop(stop_reason::tls_untrusted, answer.message, now); return;
    case preflight_kind::not_api: stop(stop_reason::not_api, answer.message, now); return;
    case preflight_kind::unreachable:
      // A timeout costs --timeout each: it counts twice, so that a server that never answers is
      // called unreachable after three of them rather than five.
      preflight_transport_failures_ += answer.timed_out ? 2U : 1U;
      if (preflight_transport_failures_ >= std::max(1U, config_.preflight_tries)) {
        stop(stop_reason::unreachable, answer.message, now);
        return;
      }
      retry_in(full_jitter_delay(config_.backoff, preflight_transport_failures_, 0.5 + u01 / 2.0));
      return;
    case preflight_kind::throttled:
    case preflight_kind::failing: {
      // The server is there but busy or failing: ask again, within --give-up-after.
      if (answer.kind == preflight_kind::throttled) {
        ++counts_.throttled;
      } else {
        ++counts_.server_errors;
      }
      if (now - started_ >= config_.health.give_up_after) {
        failing_for_ = std::chrono::duration_cast<millis>(now - started_);
        stop(stop_reason::gave_up, answer.message, now);
        return;
      }
      if (answer.retry_after && now + *answer.retry_after - started_ > config_.health.give_up_after) {
        // The server asks for a wait that ends past --give-up-after (the trial: Retry-After: 600 held a
        // run with --give-up-after 6 for the 120 s cap): give up now, saying so.
        failing_for_ = std::chrono::duration_cast<millis>(now - started_);
        stop(stop_reason::gave_up,
             answer.message + "; it asked to wait at least " +
                 std::to_string((answer.retry_after->count() + 999) / 1000) + " s, past --give-up-after",
             now);
        return;
      }
      const millis backoff = full_jitter_delay(config_.backoff, ++preflight_answers_, 0.5 + u01 / 2.0);
      retry_in(std::max(backoff, answer.retry_after.value_or(millis{0})));
      stop_message_ = answer.message;  // what the server last said, should it come to giving up
      return;
    }
  }
}

void run_scheduler::on_cancelled(const job& j, const exchange_facts& facts, steady_time now) {
  --in_flight_;
  if (j.kind == job_kind::preflight || j.kind == job_kind::route_check) {
    preflight_in_flight_ = false;
    settle_stop(now);
    return;
  }
  if (j.probe) health_.on_probe_abandoned();
  std::string note = facts.written ? "the run stopped while waiting for the answer (the request was sent: the "
                                     "server may have acted; --resume settles it)"
                                   : stop_note();
  abandon(j, note + last_answer_note(j), now);
  settle_stop(now);
}

// --- rows --------------------------------------------------------------------------------------

void run_scheduler::finish(const job& j, outcome result, unsigned status, std::string_view error, steady_time now) {
  ++counts_[result];
  row_event row;
  row.kind = job_kind::act;
  row.hash = j.hash;
  row.result = result;
  row.http_status = status;
  row.attempts = j.attempts;
  row.elapsed_ms = elapsed_ms(j, now);
  row.error = std::string{error};
  rows_.push_back(std::move(row));
}

void run_scheduler::finish_verify(const job& j, verify_outcome result, observed_state seen, unsigned status,
                                  std::string_view error, steady_time now) {
  switch (result) {
    case verify_outcome::verified: ++counts_.verified; break;
    case verify_outcome::mismatch: ++counts_.verify_mismatch; break;
    case verify_outcome::failed: ++counts_.verify_failed; break;
    case verify_outcome::not_attempted: ++counts_.verify_not_attempted; break;
  }
  row_event row;
  row.kind = job_kind::verify;
  row.hash = j.hash;
  row.checked = result;
  row.seen = seen;
  row.http_status = status;
  row.attempts = j.attempts;
  row.elapsed_ms = elapsed_ms(j, now);
  row.error = std::string{error};
  rows_.push_back(std::move(row));
}

void run_scheduler::abandon(const job& j, std::string_view note, steady_time now) {
  if (j.kind == job_kind::confirm) {
    confirm_ended(j);
    // The held action got the API's 404, unconfirmed: no claim (not_attempted, attempts above 0, so a
    // --resume's 404 is not_found_after_retry).
    // At a contradiction the 404 came from a route shown wrong: failed, unproven.
    if (std::optional<held_404> held = take_held(j.hash)) {
      if (reason_ == stop_reason::contradicted) {
        finish(held->act, outcome::failed, held->status,
               "answered 404, then the run found its key route contradicting the action's route: unproven", now);
      } else {
        finish(held->act, outcome::not_attempted, held->status,
               "answered 404, not confirmed (" + std::string{note} + "); --resume settles it", now);
      }
    }
    return;
  }
  if (j.kind == job_kind::verify) {
    finish_verify(j, verify_outcome::not_attempted, observed_state::unknown, j.last_status, note, now);
  } else if (j.kind == job_kind::act) {
    finish(j, outcome::not_attempted, j.last_status, note, now);
  }
}

// --- stopping ----------------------------------------------------------------------------------

// A queued job's note at a stop: "not sent: why" when it never was, else "no final answer: why"
// (it was sent, and got no answer that ends it), and its last answer.
std::string run_scheduler::queued_note(const job& j) const {
  std::string note = stop_note();
  if (j.attempts != 0) {
    const std::size_t colon = note.find(':');
    note = "no final answer" + (colon == std::string::npos ? std::string{} : note.substr(colon));
  }
  return note + last_answer_note(j);
}

std::string run_scheduler::stop_note() const {
  switch (reason_) {
    case stop_reason::interrupted: return "not sent: the run was interrupted";
    case stop_reason::key_rejected: return "not sent: the run stopped when the management key was rejected";
    case stop_reason::refused:
      return "not sent: the run stopped when a request was refused, not with the API's answer (a gateway?)";
    case stop_reason::tls_untrusted: return "not sent: the run stopped because TLS could not be trusted or was refused";
    case stop_reason::not_api: return "not sent: the server's answers are not the API's (check --base-url)";
    case stop_reason::contradicted:
      return "not sent: the server's routes disagreed about a key (a 404 for a key the listing or the key route "
             "showed; check --base-url)";
    case stop_reason::unattributable:
      return "not sent: the server sent an answer no request asked for (its answers cannot be matched to requests)";
    case stop_reason::unreachable: return "not sent: the server could not be reached";
    case stop_reason::gave_up: return "not sent: the server kept failing; the run gave up";
    case stop_reason::report_failed: return "not sent: the report could not be written";
    case stop_reason::none: break;
  }
  return "not sent";
}

void run_scheduler::stop(stop_reason reason, std::string message, steady_time now) {
  if (phase_ == run_phase::done) return;
  if (reason_ == stop_reason::none) {
    reason_ = reason;
    if (!message.empty()) stop_message_ = std::move(message);
  }
  if (phase_ == run_phase::stopping || phase_ == run_phase::draining) {
    settle_stop(now);  // the answer that called this may have been the last one in flight
    return;
  }
  phase_ = run_phase::stopping;
  stop_started_ = true;
  abandon_queued(now);
  settle_stop(now);
}

void run_scheduler::abandon_queued(steady_time now) {
  while (!retries_.empty()) {
    abandon(retries_.top(), queued_note(retries_.top()), now);
    retries_.pop();
  }
  for (const job& j : verifications_) abandon(j, stop_note(), now);
  verifications_.clear();
  while (std::optional<job> j = take_pending()) abandon(*j, stop_note(), now);
}

void run_scheduler::settle_stop(steady_time now) {
  (void)now;
  if (phase_ == run_phase::running && input_complete_ && !has_pending() && retries_.empty() &&
      verifications_.empty() && in_flight_ == 0) {
    phase_ = run_phase::done;
    return;
  }
  if (phase_ != run_phase::stopping && phase_ != run_phase::draining) return;
  if (in_flight_ != 0) return;
  if (input_complete_) {
    phase_ = run_phase::done;
  } else if (config_.input_is_files && reason_ != stop_reason::report_failed) {
    phase_ = run_phase::draining;  // read the rest (a file ends soon) and report it not_attempted
  } else {
    input_cut_short_ = true;  // a pipe may never end, or the report cannot take rows anyway
    phase_ = run_phase::done;
  }
}

bool run_scheduler::take_stop_started() noexcept { return std::exchange(stop_started_, false); }

signal_action run_scheduler::on_signal(steady_time now) {
  if (phase_ != run_phase::running && phase_ != run_phase::preflight) return signal_action::exit_now;
  stop(stop_reason::interrupted, {}, now);
  return signal_action::stop_gracefully;
}

}  // namespace keyrevoke::core
