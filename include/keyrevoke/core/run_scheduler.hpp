#pragma once
// The run scheduler: every decision of a revocation run in one pure state machine, in the style of
// Boost.MySQL's sansio_connection_node. No I/O, no clock and no randomness of its own: the caller
// passes `now` and uniform draws, asks what to do (`next`), does it, and reports back (`on_result`,
// `on_input`, `on_signal` ...). The coroutines in app/ only move bytes.
//
// What it decides:
//  - the order of work: a resumed run's proofs, then proofs of finished actions (--verify), then due
//    retries, then new hashes (bounded by the retry queue's capacity: backpressure on the input);
//  - pacing (core::rate_controller, CUBIC) and how many requests may be in flight;
//  - retries: full-jitter backoff, the server's hint never shortening it; throttled answers (429, a
//    403/503 with a hint) count toward 4 x --max-attempts, failures toward --max-attempts, except
//    failures seen during an outage (core::server_health) and one free resend after a stale keep-alive
//    connection (no byte of an answer, a reused connection);
//  - outages: nothing new while the server fails nearly everything, one probe at a time, slow start
//    after, give up after --give-up-after (the rest not_attempted, exit 4);
//  - the preflight (core/preflight.hpp) before anything that changes a key;
//  - outcome proof: a 404 is `not_found` only if no earlier attempt of this run may have reached the
//    server; otherwise `not_found_after_retry` (the answer to that attempt was lost);
//  - stopping: one phase (running, stopping, draining, done) and one stop reason; every hash that was
//    taken gets exactly one row.
//
// Phases: preflight (its GET goes once there is a hash to act on; an input with none ends the run
// without a request) -> running -> done; any -> stopping (in-flight requests finish or are cut by the
// caller's grace timer; queued work is reported not_attempted at once) -> draining (the rest of a file
// input is read and reported not_attempted) -> done.

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/clock.hpp"
#include "keyrevoke/core/hash_set.hpp"
#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/outcome.hpp"
#include "keyrevoke/core/preflight.hpp"
#include "keyrevoke/core/rate_controller.hpp"
#include "keyrevoke/core/ratelimit_fields.hpp"
#include "keyrevoke/core/retry_policy.hpp"
#include "keyrevoke/core/run_counts.hpp"
#include "keyrevoke/core/server_health.hpp"
#include "keyrevoke/core/verdict.hpp"
#include "keyrevoke/core/verification.hpp"
#include "keyrevoke/core/wait_reason.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <string>
#include <vector>

namespace keyrevoke::core {

enum class job_kind : std::uint8_t {
  preflight,    // GET {base}/keys: proves route, key, TLS and path before anything changes
  route_check,  // the preflight's second read: GET {base}/keys/{hash} of a key the listing showed (hash)
  confirm,      // GET {base}/keys/{hash} after a 404 to the action, before its row (confirm_404s)
  act,        // the run's action on a hash: DELETE, or PATCH for --disable/--enable
  verify,     // --verify's GET {base}/keys/{hash}
};

// One piece of work on its way.
struct job {
  key_hash hash{};
  job_kind kind = job_kind::act;
  std::uint64_t sequence = 0;  // input order; ties in the retry queue
  unsigned attempts = 0;       // requests sent: the report's "attempts" (never below what the server saw)
  unsigned failures = 0;       // failures that count toward --max-attempts
  unsigned throttles = 0;      // throttling answers (count toward 4 x --max-attempts)
  unsigned mismatches = 0;     // verify: answers showing the key in another state
  unsigned gone_reads = 0;     // confirm: reads showing no such key (two confirm the 404; the key shown
                               // after one is a contradiction)
  bool found_no_key = false;   // verify: the action's row was not_found (verification.hpp's proves)
  bool failed_before = false;  // any failure at all (server_health's evidence rule)
  bool stale_resent = false;   // the one free resend after a stale keep-alive connection was used
  bool maybe_acted = false;    // an attempt was written and its answer lost (no answer, 5xx, timeout)
  bool probe = false;          // this attempt probes a server in an outage
  // preflight: the listing asked through another URI (GET {base}/keys?include_disabled=true&offset=0,
  // the same page): a cache keyed by URI (nginx's proxy_cache_key) misses it and the API answers afresh.
  bool fresh_listing = false;
  unsigned last_status = 0;
  std::string last_error;
  steady_time first_sent{};
  steady_time not_before{};
  steady_time
      hint_until{};  // the last answer's server hint ends then (a retry waiting for it: the server asked)
};

// What the transport says about one exchange, besides the answer.
struct exchange_facts {
  bool written = false;            // the request's bytes reached the socket
  bool reused_connection = false;  // the connection had served a request before
  bool answer_started = false;     // at least one byte of an answer arrived
  steady_time written_at{};
  // The server had closed the connection before the request reached it, and its TCP stack refused
  // the request (a FIN, then a reset): no server read it (net::exchange_result::refused_unread).
  bool refused_unread = false;
  // The quota the answer advertised (core::read_quota of its fields), if any: paces the run.
  std::optional<quota_observation> quota{};
};

// A request that met a kept-alive connection closed before any byte of an answer: most likely the
// server closed it while it sat idle in the pool, and the close crossed the request (RFC 9112 9.3.1
// lets a client resend a request whose connection closed before any part of the answer came).
struct stale_send {
  bool resend = false;  // resend once, at once, on a fresh connection, not using up --max-attempts
  // ... and the request reached no server (its write failed, or the server's stack refused it unread):
  // not an attempt. Otherwise a server may have read it, and the report's attempts count it (the report
  // never claims fewer requests than the server saw).
  bool unread = false;
};

// Pure. kind: the exchange's verdict; resent_before: this hash's one stale resend was used already.
stale_send judge_stale_send(verdict_kind kind, const exchange_facts& facts, bool resent_before) noexcept;

enum class stop_reason {
  none,
  interrupted,     // SIGINT/SIGTERM (exit 130)
  key_rejected,    // 401, or 403 without a hint, with the API's error body (exit 3)
  refused,         // a 401/403 without the API's error body (a gateway's page): no claim the key was rejected (exit 3)
  tls_untrusted,   // exit 3
  not_api,         // the preflight's answer was not the API's: a wrong --base-url (exit 2)
  // The server contradicted itself: the preflight's listing showed a key, then a request for it got
  // the API's 404 with nothing of ours before that could have removed it. A route rewritten to another
  // one, or another environment's API behind the same prefix, answers so; so would a key deleted by
  // someone else in between, which a --resume (listing anew) tells apart (exit 2).
  contradicted,
  // The server sent an answer no request asked for (a second answer, one before the request): with
  // HTTP/1.1 (no request ids) its answers can no longer be matched to requests, and any row claimed
  // from one may be another request's (exit 2).
  unattributable,
  unreachable,     // the preflight never reached the server (exit 4)
  gave_up,         // an outage outlasted --give-up-after (exit 4)
  report_failed,   // the report could not be written (exit 1)
};

enum class run_phase { preflight, running, stopping, draining, done };

// A report row to write (the caller formats and writes it).
struct row_event {
  job_kind kind = job_kind::act;  // act or verify
  key_hash hash{};
  outcome result = outcome::failed;                   // act
  verify_outcome checked = verify_outcome::failed;    // verify
  observed_state seen = observed_state::unknown;      // verify
  unsigned http_status = 0;                           // 0: none
  unsigned attempts = 0;
  double elapsed_ms = 0.0;  // first request to the row, ms
  std::string error;        // empty: null
};

struct scheduler_config {
  action act = action::delete_key;
  bool verify = false;        // --verify: a proof GET after each done action
  unsigned max_attempts = 8;  // --max-attempts, >= 1
  unsigned concurrency = 16;  // --concurrency: ceiling on requests in flight
  double max_rate = 0.0;      // --rate, req/s; 0: none
  backoff_policy backoff{};
  health_config health{};     // give_up_after from --give-up-after
  bool preflight = true;      // false: start in `running` (tests of the rest)
  unsigned preflight_tries = 5;  // transport failures before the preflight calls the server unreachable
                                 // (about 2-4 s with the default backoff: a server still starting is waited for)
  bool input_is_files = true;    // the rest of the input can be read after a stop (a pipe may never end)
  // --resume of a report whose last run ended without its summary (a crash, kill -9, a second signal):
  // that run's unanswered requests left no row, so any hash may have been deleted by it. A 404 is then
  // not_found_after_retry ("an earlier run may have deleted it"), never not_found ("gone before").
  bool earlier_run_unfinished = false;
  // --resume: hashes an earlier run sent a request for without settling them (resume_scan::sent; not
  // owned, outlives the scheduler; null: none). A 404 for one is not_found_after_retry.
  const hash_set* sent_before = nullptr;
  std::size_t retry_capacity = 0;  // retries + verifications queued before new hashes wait; 0: 4 x concurrency + 256
  // While a confirmation's read shows the key (a lagging replica, or the action going elsewhere), no
  // new hash is sent until it settles: the third trial's DELETE-only reroute sent 60 PATCHes, and the
  // sixth's 349 requests, to the wrong environment before the stop.
  // Every 404 to the run's action (not_found, not_found_after_retry) is confirmed through
  // GET {base}/keys/{hash} before its row is written (keyrevoke: on). A gateway that sends only DELETE
  // (or PATCH) to another environment, whose API answers its own 404, while GET reaches the real one (the
  // preflight's reads all pass) would otherwise have every key claimed gone. The 404 stands on
  // confirm_reads reads in a row showing no such key, confirm_reads_after_shown once a read showed the key
  // (a gateway spreading the key route over two environments answers one way, then the other). The key still shown after the re-checks a lagging
  // replica is allowed (plan_after_check), or shown after a read showed it gone, is a contradiction: that
  // row is failed and the run stops (stop_reason::contradicted), claiming no 404 after it. No usable
  // answer: the row is failed, unproven. A stop before the confirmation: not_attempted.
  // Off (tests of the rest): a 404 is claimed as answered, except for a key the preflight's listing
  // showed, which stops the run (contradicted) at once.
  bool confirm_404s = false;
};

// What the dispatcher does now.
struct next_step {
  enum class kind { dispatch, sleep_until, wait, done } what = kind::wait;
  job work;               // dispatch: attempts, first_sent already updated
  steady_time until{};    // sleep_until: then ask again (or earlier, at an event)
};

enum class signal_action { stop_gracefully, exit_now };

class run_scheduler {
 public:
  run_scheduler(const scheduler_config& config, steady_time now);

  // --- what the caller tells it ------------------------------------------------------------
  // A batch of the input: a resumed run's hashes to prove (verify_only) and hashes to act on. Every
  // hash given gets exactly one row. last: no batch follows.
  void on_input(std::vector<key_hash> verify_only, std::vector<key_hash> hashes, bool last, steady_time now);
  // Batches fully taken since the last call (the caller hands their credit back to the reader).
  unsigned take_consumed_batches() noexcept;

  next_step next(steady_time now);
  void on_written(steady_time at) noexcept { controller_.on_bytes_written(at); }
  // The answer (or transport failure, as a verdict) to a dispatched act/verify job. u01 in [0, 1).
  void on_result(job j, const verdict& answer, const exchange_facts& facts, steady_time now, double u01);
  // The preflight's answer: to its listing (job_kind::preflight, classify_preflight) or to its key-route
  // read (job_kind::route_check, check_key_route). A listing that shows keys is followed by a read of
  // one of them through the key route before anything is sent (up to three: the page's first, middle
  // and last key, in that order, while the API answers 404 for them: a gateway's cached listing may
  // show keys already gone). The first read showing its key passes the preflight; a 404 for all
  // three stops the run (contradicted). A 429, 5xx or no answer to a read asks again after the hint or
  // the backoff, within --give-up-after and preflight_tries, as for the listing (never repeating it).
  // A listing that shows no key is read again, route_reads times in all, and passes if none shows any
  // (then listing_showed_no_key()); one showing keys after an empty one, with nothing sent in between,
  // stops the run (contradicted): the seventh trial's random upstream over an empty staging had the
  // preflight pass on staging's empty page and one-hash runs claim a live key not_found.
  // A candidate passes when the route shows it route_reads times in a row. The API's 404 for it is read
  // again until route_reads in a row show it gone (a key deleted that moment by another shard, a
  // cached listing's stale key), then the next candidate is read; the key shown after a 404 stops the
  // run (contradicted: a deleted key does not come back). A 404 for each candidate asks the listing
  // once more through another URI (job::fresh_listing: the ninth trial's gateway caching GET /keys,
  // whose cached page's keys were all deleted since, stopped every run and --resume), and its keys not
  // yet read are read back the same way; a 404 for each of those too stops the run (contradicted).
  void on_preflight(const preflight_result& answer, steady_time now, double u01);
  // Reads in a row showing a listed key before the preflight passes. Three: a gateway spreading the key
  // route at random over two environments, one of which has the keys, shows one three times in a row one
  // time in eight, so the preflight passes about one time in three over three candidates (the sixth
  // trial: a random upstream passed the one-read check seven times in eight, and a one-hash run's 404
  // was then confirmed from the wrong environment about one run in eight). 1 <= route_reads.
  static constexpr unsigned route_reads = 3;
  // Reads in a row showing no such key that confirm a 404 (confirm_404s): two; five once a read showed
  // the key (a lagging replica stops showing it for good; a route spread at random over two
  // environments gives five in a row one time in 32).
  static constexpr unsigned confirm_reads = 2;
  static constexpr unsigned confirm_reads_after_shown = 5;
  // The exchange was cut short by the run's own stop (the pool was closed): no answer.
  void on_cancelled(const job& j, const exchange_facts& facts, steady_time now);
  signal_action on_signal(steady_time now);
  void on_report_error(steady_time now) { stop(stop_reason::report_failed, {}, now); }
  // A stop from outside (a setup failure at run time, e.g. the host name does not resolve).
  void stop(stop_reason reason, std::string message, steady_time now);

  // --- what the caller reads ---------------------------------------------------------------
  std::vector<row_event>& rows() noexcept { return rows_; }  // write, then clear()
  // The phase became stopping since the last call (the caller arms its grace timer or closes the pool).
  bool take_stop_started() noexcept;
  run_phase phase() const noexcept { return phase_; }
  stop_reason reason() const noexcept { return reason_; }
  const std::string& stop_message() const noexcept { return stop_message_; }
  // The preflight's GET was accepted (or there was none: scheduler_config::preflight false).
  bool preflight_passed() const noexcept { return preflight_passed_; }
  // The preflight passed on listings that showed no key at all: every 404 of the run is then the word of
  // a server that holds no key, perhaps the wrong environment (the caller warns).
  bool listing_showed_no_key() const noexcept { return preflight_passed_ && empty_listings_ != 0; }
  // After a stop by gave_up: how long the server had answered nothing but failures or refusals when the
  // run gave up (ms, measured: since the last success, or since the run began), at least --give-up-after
  // and often longer (outage detection and probes come first); 0 otherwise.
  millis failing_for() const noexcept { return failing_for_; }
  bool input_cut_short() const noexcept { return input_cut_short_; }
  run_counts& counts() noexcept { return counts_; }
  const run_counts& counts() const noexcept { return counts_; }
  unsigned in_flight() const noexcept { return in_flight_; }
  unsigned in_flight_limit() const noexcept;
  const rate_controller& controller() const noexcept { return controller_; }
  const server_health& health() const noexcept { return health_; }
  std::size_t queued() const noexcept { return retries_.size() + verifications_.size(); }
  // Why nothing is being sent at `now`, if so (the progress line says it instead of "0/s").
  wait_reason waiting(steady_time now) const noexcept;

 private:
  // A 404 held for confirmation (confirm_404s): the act job, and the row it would have written.
  struct held_404 {
    job act;
    outcome result = outcome::not_found;
    unsigned status = 0;
    std::string error;
  };
  struct due_later {
    bool operator()(const job& a, const job& b) const noexcept {
      return a.not_before != b.not_before ? a.not_before > b.not_before : a.sequence > b.sequence;
    }
  };
  struct pending_batch {
    std::vector<key_hash> verify_only;
    std::vector<key_hash> hashes;
    std::size_t verify_pos = 0;
    std::size_t pos = 0;
  };

  next_step dispatch(job j, steady_time now);
  std::optional<job> take_pending();
  // A probe's fresh hash: not the next in line but one spread over the front batch (the k-th probe
  // takes the hash at the fractional part of k x 0.618 of what is left, a golden-ratio sequence), so that
  // keys the server always fails for, listed together, cannot make every probe fail.
  std::optional<job> take_pending_for_probe(std::uint64_t k);
  bool has_pending() const noexcept { return !pending_.empty(); }
  void retry_later(job j, millis delay, steady_time now);
  void finish(const job& j, outcome result, unsigned status, std::string_view error, steady_time now);
  // An action's final row, then its proof job (--verify) when the outcome is done.
  void finish_action(const job& j, outcome result, unsigned status, std::string_view error, steady_time now);
  // The end of a confirm job: the held 404's row, or the contradiction.
  void settle_confirm(const job& c, const verify_step& step, const verdict& answer, steady_time now);
  std::optional<held_404> take_held(const key_hash& hash);
  // A confirm job ends (settled or abandoned): its part in confirms_shown_ ends with it.
  void confirm_ended(const job& c) noexcept;
  void finish_verify(const job& j, verify_outcome result, observed_state seen, unsigned status,
                     std::string_view error, steady_time now);
  void abandon(const job& j, std::string_view note, steady_time now);
  void abandon_queued(steady_time now);
  void settle_stop(steady_time now);
  std::string stop_note() const;
  std::string queued_note(const job& j) const;
  void count_answer(const verdict& answer) noexcept;

  scheduler_config config_;
  rate_controller controller_;
  server_health health_;
  run_counts counts_;
  run_phase phase_;
  stop_reason reason_ = stop_reason::none;
  std::string stop_message_;
  millis failing_for_{0};
  hash_set listed_at_start_;   // the preflight's listing (preflight_result::listed)
  bool preflight_passed_ = false;
  std::string last_failure_;   // the last outage evidence's message
  std::string last_throttle_;  // the last throttling answer's message
  unsigned last_throttle_status_ = 0;  // ... its HTTP status
  bool last_throttle_hinted_ = false;  // ... it carried a hint (Retry-After, X-RateLimit-Reset ...)
  steady_time last_accepted_;  // the last answer the server processed (not a failure, not a refusal)
  steady_time last_throttle_at_{};  // the last refusal (429, a 403/503 with a hint) during the run
  steady_time last_failure_at_{};   // the last outage evidence (5xx, timeout, network error) during the run
  bool stop_started_ = false;
  bool input_complete_ = false;
  bool input_cut_short_ = false;
  std::deque<pending_batch> pending_;
  unsigned consumed_batches_ = 0;
  std::priority_queue<job, std::vector<job>, due_later> retries_;
  std::deque<job> verifications_;
  std::vector<row_event> rows_;
  std::uint64_t sequence_ = 0;
  unsigned in_flight_ = 0;
  // The preflight.
  bool preflight_in_flight_ = false;
  steady_time preflight_due_{};
  unsigned preflight_transport_failures_ = 0;
  unsigned preflight_answers_ = 0;
  // The key-route read: the listing's keys (kept until the route is proven) and those still to read,
  // next first; keys the route answered 404 for are left out of listed_at_start_.
  std::vector<key_hash> listed_pending_;
  std::vector<key_hash> route_candidates_;
  std::vector<key_hash> route_gone_;
  unsigned route_shown_ = 0;  // reads in a row that showed the candidate being read (route_reads)
  // Reads in a row that showed it gone (route_reads: the next candidate); not 0: the candidate showing
  // up now is a contradiction.
  unsigned route_gone_reads_ = 0;
  bool fresh_listing_ = false;     // the listing is being asked again through another URI (job::fresh_listing)
  unsigned empty_listings_ = 0;  // listings in a row that showed no key (route_reads of them pass)
  std::vector<held_404> held_;  // each with its confirm job queued or in flight
  // Confirm jobs whose key route showed the key and that wait for the re-checks a lagging replica is
  // given: while any does, no new hash is taken (its action may be going to another environment).
  unsigned confirms_shown_ = 0;
  steady_time started_;
};

std::string_view to_string(stop_reason reason) noexcept;

}  // namespace keyrevoke::core
