#include "keyrevoke/app/revoke.hpp"

#include "keyrevoke/app/exchange.hpp"
#include "keyrevoke/app/input_reader.hpp"
#include "keyrevoke/app/key_lister.hpp"
#include "keyrevoke/app/own_key.hpp"
#include "keyrevoke/app/prepare.hpp"
#include "keyrevoke/app/report_file.hpp"
#include "keyrevoke/app/run_stats.hpp"
#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/rate_controller.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/report_row.hpp"
#include "keyrevoke/core/retry_policy.hpp"
#include "keyrevoke/core/selection.hpp"
#include "keyrevoke/core/verdict.hpp"
#include "keyrevoke/core/verification.hpp"
#include "keyrevoke/net/connection_pool.hpp"
#include "keyrevoke/net/tls_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <queue>
#include <random>

#include <unistd.h>

namespace keyrevoke::app {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using core::outcome;

namespace {

constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

// One hash on its way: the queue's element.
struct job {
  core::key_hash hash{};
  unsigned attempts = 0;
  unsigned last_status = 0;
  clock_type::time_point first_sent{};
  clock_type::time_point not_before{};
  std::uint64_t sequence = 0;
  std::string last_error;
  bool verify = false;  // this attempt is --verify's GET, after the action succeeded
};

struct due_later {
  bool operator()(const job& a, const job& b) const noexcept {
    return a.not_before != b.not_before ? a.not_before > b.not_before : a.sequence > b.sequence;
  }
};

enum class stop_reason { none, interrupted, key_rejected, tls_untrusted, gave_up, report_failed };

// What the pre-run steps decided to leave out or hold to.
struct run_selection {
  core::hash_set protect;              // --protect: hashes (listed, and resolved from globs)
  std::optional<core::hash_set> plan;  // --confirm: the confirmed set
};

class revocation final : public net::send_observer {
 public:
  revocation(asio::io_context& io, const options& opts, const std::string& key, core::base_url base,
             asio::ssl::context& tls, report_file report, core::resume_scan scan, run_selection selection)
      : io_{io},
        opts_{opts},
        base_{std::move(base)},
        report_{std::move(report)},
        scan_{std::move(scan)},
        selection_{std::move(selection)},
        reader_{opts.inputs, input_filter{opts.shard, selection_.protect.empty() ? nullptr : &selection_.protect,
                                          selection_.plan ? &*selection_.plan : nullptr, &scan_.done,
                                          &scan_.verified, opts.verify}},
        pool_{io.get_executor(), tls, base_, to_millis(opts.timeout_s), opts.concurrency},
        controller_{controller_config(opts), clock_type::now()},
        budget_{std::max(10.0, static_cast<double>(opts.concurrency)), 0.2,
                to_millis(opts.give_up_after_s), clock_type::now()},
        jobs_{io, 0},
        wake_timer_{io},
        progress_timer_{io},
        sync_timer_{io},
        grace_timer_{io},
        signals_{io, SIGINT, SIGTERM},
        rng_{std::random_device{}()},
        started_{clock_type::now()},
        key_{key} {
    progress_enabled_ = opts.progress == progress_mode::always ||
                        (opts.progress == progress_mode::automatic && ::isatty(STDERR_FILENO) != 0);
    progress_tty_ = ::isatty(STDERR_FILENO) != 0;
    stats_.act = opts.act;
    stats_.verify = opts.verify;
  }

  // Opens the inputs; an error here is exit 2 with nothing sent.
  std::string open_inputs() { return reader_.open_all(); }

  // header: the audit row that opens this run's rows in the report.
  int run(std::string_view header) {
    report_.append(header);
    flush_report();
    auto start = [this]() -> asio::awaitable<void> { co_await start_all(); };
    asio::co_spawn(io_, start, asio::detached);
    io_.run();
    const int code = finish();
    if (setup_error_.empty()) write_summary_row(code);
    return code;
  }

  void on_request_written(core::steady_time at) override { controller_.on_bytes_written(at); }

 private:
  static core::millis to_millis(double seconds) {
    return core::millis{static_cast<core::millis::rep>(seconds * 1000.0)};
  }

  static core::rate_controller_config controller_config(const options& opts) {
    core::rate_controller_config config;
    config.max_in_flight = opts.concurrency;
    config.max_rate = opts.rate;
    return config;
  }

  // --- start-up ----------------------------------------------------------------------------

  asio::awaitable<void> start_all() {
    std::string error = co_await pool_.resolve();
    if (!error.empty()) {
      setup_error_ = error;
      io_.stop();
      co_return;
    }
    reader_.start([this](input_batch&& batch) {
      asio::post(io_, [this, b = std::move(batch)]() mutable { on_batch(std::move(b)); });
    });
    auto dispatch = [this]() -> asio::awaitable<void> { co_await dispatcher(); };
    asio::co_spawn(io_, dispatch, asio::detached);
    for (unsigned i = 0; i < opts_.concurrency; ++i) {
      auto work = [this]() -> asio::awaitable<void> { co_await worker(); };
      ++workers_alive_;
      asio::co_spawn(io_, work, asio::detached);
    }
    auto progress = [this]() -> asio::awaitable<void> { co_await progress_loop(); };
    asio::co_spawn(io_, progress, asio::detached);
    auto sync = [this]() -> asio::awaitable<void> { co_await sync_loop(); };
    asio::co_spawn(io_, sync, asio::detached);
    wait_for_signal();
  }

  // --- input -------------------------------------------------------------------------------

  void on_batch(input_batch&& batch) {
    stats_.lines += batch.lines;
    stats_.duplicates += batch.duplicates;
    stats_.already_done += batch.already_done;
    stats_.other_shard += batch.other_shard;
    for (const invalid_entry& bad : batch.invalid) record_invalid(bad);
    for (const core::key_hash& hash : batch.protected_hashes) {
      job j;
      j.hash = hash;
      finish(j, outcome::protected_key, 0, "protected (--protect): not sent");
    }
    if (!batch.error.empty()) input_error_ = batch.error;
    if (batch.last) {
      input_complete_ = true;
      stats_.input_complete = true;
    }
    stats_.hashes += batch.hashes.size();  // the progress counts actions; proofs show as "verified"
    if (finished_) return;
    if (stopping_) {
      for (const core::key_hash& hash : batch.verify_only) {
        job j;
        j.hash = hash;
        j.verify = true;
        finish_verify(j, core::verify_outcome::not_attempted, core::observed_state::unknown, 0, stop_note());
      }
      for (const core::key_hash& hash : batch.hashes) {
        job j;
        j.hash = hash;
        finish(j, outcome::not_attempted, 0, stop_note());
      }
      reader_.release_batch();
      if (input_complete_ && draining_) final_finish();
      return;
    }
    if (batch.hashes.empty() && batch.verify_only.empty()) {
      reader_.release_batch();
    } else {
      pending_.push_back({std::move(batch.verify_only), std::move(batch.hashes)});
    }
    wake();
  }

  bool has_pending() const noexcept { return !pending_.empty(); }

  // The next hash from the input: a resumed run's unverified hashes first (a GET), then new ones.
  job take_pending() {
    pending_batch& front = pending_.front();
    job next;
    if (front.verify_pos < front.verify_only.size()) {
      next.hash = front.verify_only[front.verify_pos++];
      next.verify = true;
    } else {
      next.hash = front.hashes[front.pos++];
    }
    if (front.verify_pos == front.verify_only.size() && front.pos == front.hashes.size()) {
      pending_.pop_front();
      reader_.release_batch();
    }
    return next;
  }

  void record_invalid(const invalid_entry& bad) {
    ++stats_[outcome::invalid];
    const std::string& file = reader_.source_names()[bad.source];
    row_.clear();
    core::append_row(row_, core::invalid_row{bad.line, file, bad.preview, bad.reason});
    write_rows(row_);
    if (!opts_.quiet && ++invalid_shown_ <= 10) {
      clear_progress();
      std::fprintf(stderr, "keyrevoke: %s:%llu: invalid line (%s): %s\n", file.c_str(),
                   static_cast<unsigned long long>(bad.line), std::string{bad.reason}.c_str(),
                   bad.preview.c_str());
    }
  }

  // --- the dispatcher: decides what is sent next, and when ---------------------------------

  asio::awaitable<void> dispatcher() {
    for (;;) {
      if (stopping_) break;
      const auto now = clock_type::now();
      // Giving up is for a dead server holding a long list: hashes already in the retry queue are
      // bounded by --max-attempts anyway, so only new hashes still waiting make the run unbounded.
      if (budget_.should_give_up(now) && (has_pending() || !input_complete_)) {
        begin_stop(stop_reason::gave_up);
        break;
      }
      if (in_flight_ >= controller_.in_flight_limit()) {
        co_await wait_event(now + std::chrono::seconds{1});
        continue;
      }
      // With the retry budget spent, retries go one at a time (a failing server's load is not
      // multiplied), while new hashes keep going: if only some hashes fail, the others are not held
      // hostage, and if the server fails everything, the bounded retry queue soon stops new ones too.
      const bool retries_allowed = budget_.healthy() || retries_in_flight_ == 0;
      const bool retry_due = retries_allowed && !retries_.empty() && retries_.top().not_before <= now;
      const bool verify_ready = !verifications_.empty();
      const bool take_new = has_pending() && retries_.size() + verifications_.size() < retry_capacity();
      if (!retry_due && !verify_ready && !take_new) {
        if (input_complete_ && !has_pending() && retries_.empty() && verifications_.empty() && in_flight_ == 0) break;
        const auto until = retries_.empty() || !retries_allowed ? now + std::chrono::seconds{1}
                                                                : retries_.top().not_before;
        co_await wait_event(until);
        continue;
      }
      const auto send_at = controller_.next_send_time(now);
      if (send_at > now) {
        co_await wait_event(send_at);
        continue;
      }
      job next;
      if (retry_due) {
        next = retries_.top();
        retries_.pop();
        ++retries_in_flight_;
      } else if (verify_ready) {
        next = std::move(verifications_.front());
        verifications_.pop_front();
      } else {
        next = take_pending();
        next.sequence = ++sequence_;
      }
      controller_.take_send_slot(now);
      ++in_flight_;
      auto [ec] = co_await jobs_.async_send(error_code{}, std::move(next), nothrow_awaitable);
      if (ec) {
        --in_flight_;
        break;
      }
    }
    dispatcher_done_ = true;
    jobs_.close();
    maybe_finish();
  }

  std::size_t retry_capacity() const noexcept { return 4 * std::size_t{opts_.concurrency} + 256; }

  // Sleeps until `until` or the next event (an answer, new input, a stop), whichever is first.
  asio::awaitable<void> wait_event(clock_type::time_point until) {
    if (event_pending_) {
      event_pending_ = false;
      co_return;
    }
    wake_timer_.expires_at(until);
    waiting_ = true;
    co_await wake_timer_.async_wait(nothrow_awaitable);
    waiting_ = false;
    event_pending_ = false;
  }

  void wake() {
    if (waiting_) {
      wake_timer_.cancel();
    } else {
      event_pending_ = true;
    }
  }

  // --- the workers: one HTTPS exchange at a time each ---------------------------------------

  asio::awaitable<void> worker() {
    // The request is serialised once; each hash rewrites only its 64 hex digits in place.
    request_template act = make_request_template(opts_.act);
    request_template check = opts_.verify ? make_request_template(std::nullopt) : request_template{};
    for (;;) {
      auto [ec, current] = co_await jobs_.async_receive(nothrow_awaitable);
      if (ec) break;
      request_template& request = current.verify ? check : act;
      request.set_hash(current.hash);
      const auto sent = clock_type::now();
      if (current.attempts == 0) current.first_sent = sent;
      ++current.attempts;
      ++stats_.requests;
      net::exchange_result result = co_await pool_.exchange(request.bytes, *this);
      --in_flight_;
      if (current.attempts > 1) --retries_in_flight_;
      wake();
      settle(std::move(current), result);
    }
    --workers_alive_;
    maybe_finish();
  }

  struct request_template {
    std::string bytes;
    std::size_t hash_offset = 0;
    void set_hash(const core::key_hash& hash) { core::write_hex(hash, bytes.data() + hash_offset); }
  };

  // The action's request, or (nullopt) --verify's GET.
  request_template make_request_template(std::optional<core::action> act) const {
    // The target goes through the same code as everywhere else; a zero hash marks where the hex goes.
    std::string target;
    core::key_target(target, base_, core::key_hash{});
    std::string_view method = "GET";
    std::string_view body;
    if (act) {
      switch (*act) {
        case core::action::delete_key: method = "DELETE", body = "{}"; break;
        case core::action::disable: method = "PATCH", body = R"({"disabled":true})"; break;
        case core::action::enable: method = "PATCH", body = R"({"disabled":false})"; break;
      }
    }
    request_template t;
    t.bytes = make_request(method, target, base_, key_, body);
    t.hash_offset = method.size() + 1 + target.size() - core::key_hash_hex_size;
    return t;
  }

  // Everything after one attempt: classify, tell the controller, finish or schedule a retry.
  void settle(job current, const net::exchange_result& result) {
    const auto now = clock_type::now();
    if (result.error == net::exchange_error::cancelled) {
      if (current.verify) {
        finish_verify(current, core::verify_outcome::not_attempted, core::observed_state::unknown,
                      current.last_status, "interrupted before an answer" + last_answer_note(current));
      } else {
        finish(current, outcome::not_attempted, current.last_status,
               "interrupted before an answer" + last_answer_note(current));
      }
      return;
    }
    core::verdict verdict =
        classify_exchange(result, to_millis(opts_.retry_after_cap_s),
                          current.verify ? core::request_kind::get : core::request_for(opts_.act));

    // A server may echo the key back in its error text: it never reaches the report or the screen.
    core::redact_secret(verdict.message, key_);
    const core::answer_kind kind = to_answer_kind(verdict.kind);
    controller_.on_answer(now, result.written ? result.written_at : now, kind, verdict.retry_after);
    if (kind == core::answer_kind::accepted) budget_.on_success(now);
    if (kind == core::answer_kind::failed) budget_.on_failure(now);
    switch (verdict.kind) {
      case core::verdict_kind::throttled: ++stats_.throttled; break;
      case core::verdict_kind::server_error: ++stats_.server_errors; break;
      case core::verdict_kind::network_error: ++stats_.network_errors; break;
      case core::verdict_kind::timeout: ++stats_.timeouts; break;
      default: break;
    }
    if (verdict.http_status != 0) current.last_status = verdict.http_status;

    if (core::aborts_run(verdict.kind)) {
      const bool rejected = verdict.kind == core::verdict_kind::unauthorized;
      if (current.verify) {
        finish_verify(current, core::verify_outcome::failed, core::observed_state::unknown, verdict.http_status,
                      verdict.message);
      } else {
        finish(current, rejected ? outcome::unauthorized : outcome::failed, verdict.http_status, verdict.message);
      }
      if (abort_message_.empty()) abort_message_ = verdict.message;
      begin_stop(rejected ? stop_reason::key_rejected : stop_reason::tls_untrusted);
      return;
    }
    const double u01 = std::uniform_real_distribution<double>{0.0, 1.0}(rng_);
    core::millis delay{0};
    if (current.verify) {
      const core::verify_step step = core::plan_after_check(opts_.act, verdict, result.reused_connection,
                                                            current.attempts, opts_.max_attempts, backoff_, u01);
      if (step.seen != core::observed_state::unknown && verdict.message.empty()) {
        verdict.message = "the server still shows the key " + std::string{core::to_string(step.seen)};
      }
      if (!step.retry) {
        finish_verify(current, step.result, step.seen, verdict.http_status,
                      step.result == core::verify_outcome::verified ? std::string_view{} : verdict.message);
        return;
      }
      delay = step.delay;
    } else {
      const core::retry_plan plan = core::plan_after_attempt(
          {verdict.kind, verdict.retry_after, result.reused_connection}, current.attempts, opts_.max_attempts,
          backoff_, u01);
      if (!plan.retry) {
        finish(current, plan.final_outcome, verdict.http_status, verdict.message);
        if (opts_.verify && core::is_done(plan.final_outcome)) queue_verification(current);
        return;
      }
      delay = plan.delay;
    }
    current.last_error = std::move(verdict.message);
    if (stopping_) {
      abandon(current);
      return;
    }
    ++stats_.retries;
    current.not_before = now + delay;
    retries_.push(std::move(current));
    wake();
  }

  // --verify: the action is done and written; its proof is a GET, ahead of new hashes.
  void queue_verification(const job& acted) {
    job check;
    check.hash = acted.hash;
    check.verify = true;
    check.sequence = acted.sequence;
    verifications_.push_back(std::move(check));
    wake();
  }

  // A job the run stops before finishing gets its row: not_attempted, with the last answer.
  void abandon(const job& j) {
    if (j.verify) {
      finish_verify(j, core::verify_outcome::not_attempted, core::observed_state::unknown, j.last_status,
                    stop_note() + last_answer_note(j));
    } else {
      finish(j, outcome::not_attempted, j.last_status, stop_note() + last_answer_note(j));
    }
  }

  static std::string last_answer_note(const job& j) {
    return j.last_error.empty() ? std::string{} : "; last answer: " + j.last_error;
  }

  std::string stop_note() const {
    switch (reason_) {
      case stop_reason::interrupted: return "interrupted before an answer";
      case stop_reason::key_rejected: return "not sent: the run stopped when the management key was rejected";
      case stop_reason::tls_untrusted: return "not sent: the run stopped because TLS could not be trusted";
      case stop_reason::gave_up: return "not sent: the server kept failing; the run gave up";
      case stop_reason::report_failed: return "not sent: the report could not be written";
      case stop_reason::none: break;
    }
    return "not sent";
  }

  // --- the report --------------------------------------------------------------------------

  void write_summary_row(int code) {
    if (report_.failed()) return;
    using core::to_string;
    const std::array<std::pair<std::string_view, std::uint64_t>, 19> counts{{
        {"lines", stats_.lines},
        {"hashes", stats_.hashes},
        {to_string(outcome::deleted), stats_[outcome::deleted]},
        {to_string(outcome::disabled), stats_[outcome::disabled]},
        {to_string(outcome::enabled), stats_[outcome::enabled]},
        {to_string(outcome::not_found), stats_[outcome::not_found]},
        {to_string(outcome::failed), stats_[outcome::failed]},
        {to_string(outcome::unauthorized), stats_[outcome::unauthorized]},
        {to_string(outcome::not_attempted), stats_[outcome::not_attempted]},
        {to_string(outcome::invalid), stats_[outcome::invalid]},
        {to_string(outcome::protected_key), stats_[outcome::protected_key]},
        {"duplicates", stats_.duplicates},
        {"already_done", stats_.already_done},
        {"other_shards", stats_.other_shard},
        {"verified", stats_.verified},
        {"verify_mismatch", stats_.verify_mismatch},
        {"verify_failed", stats_.verify_failed},
        {"verify_not_attempted", stats_.verify_not_attempted},
        {"requests", stats_.requests},
    }};
    row_.clear();
    core::append_row(row_, core::summary_row{core::format_utc(std::chrono::system_clock::now()), code,
                                             core::to_seconds(clock_type::now() - started_), counts});
    report_.append(row_);
    if (report_.flush()) report_.sync();
  }

  void finish(const job& j, outcome result, unsigned status, std::string_view error) {
    ++stats_[result];
    const double elapsed_ms =
        j.attempts == 0 ? 0.0
                        : std::chrono::duration<double, std::milli>(clock_type::now() - j.first_sent).count();
    row_.clear();
    core::append_row(row_, core::hash_row{j.hash, result, status, j.attempts, elapsed_ms, error});
    write_rows(row_);
  }

  void finish_verify(const job& j, core::verify_outcome result, core::observed_state seen, unsigned status,
                     std::string_view error) {
    switch (result) {
      case core::verify_outcome::verified: ++stats_.verified; break;
      case core::verify_outcome::mismatch: ++stats_.verify_mismatch; break;
      case core::verify_outcome::failed: ++stats_.verify_failed; break;
      case core::verify_outcome::not_attempted: ++stats_.verify_not_attempted; break;
    }
    const double elapsed_ms =
        j.attempts == 0 ? 0.0
                        : std::chrono::duration<double, std::milli>(clock_type::now() - j.first_sent).count();
    row_.clear();
    core::append_row(row_, core::verify_row{j.hash, result, seen, status, j.attempts, elapsed_ms, error});
    write_rows(row_);
  }

  // Rows that complete in one turn of the event loop go to disk in one write.
  void write_rows(std::string_view rows) {
    report_.append(rows);
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    asio::post(io_, [this] {
      flush_scheduled_ = false;
      flush_report();
    });
  }

  void flush_report() {
    if (report_.failed()) return;
    if (!report_.flush()) begin_stop(stop_reason::report_failed);
  }

  asio::awaitable<void> sync_loop() {
    while (!finished_) {
      sync_timer_.expires_after(std::chrono::seconds{1});
      co_await sync_timer_.async_wait(nothrow_awaitable);
      if (!report_.failed() && !report_.sync()) begin_stop(stop_reason::report_failed);
    }
  }

  // --- progress ----------------------------------------------------------------------------

  controller_view view() const {
    return {controller_.ceiling(), in_flight_, controller_.in_flight_limit(), !budget_.healthy()};
  }

  asio::awaitable<void> progress_loop() {
    if (!progress_enabled_) co_return;
    const auto period = progress_tty_ ? std::chrono::milliseconds{500} : std::chrono::milliseconds{5000};
    std::uint64_t last_done = 0;
    auto last_time = clock_type::now();
    double recent = 0.0;
    while (!finished_) {
      progress_timer_.expires_after(period);
      co_await progress_timer_.async_wait(nothrow_awaitable);
      if (finished_) break;
      const auto now = clock_type::now();
      const std::uint64_t done = stats_.finished();
      const double dt = core::to_seconds(now - last_time);
      const double instant = dt > 0 ? static_cast<double>(done - last_done) / dt : 0.0;
      recent = recent == 0.0 ? instant : 0.7 * recent + 0.3 * instant;
      last_done = done;
      last_time = now;
      const std::string line = format_progress(stats_, view(), core::to_seconds(now - started_), recent);
      if (progress_tty_) {
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        progress_shown_ = true;
      } else {
        std::fprintf(stderr, "%s\n", line.c_str());
      }
      std::fflush(stderr);
    }
  }

  void clear_progress() {
    if (progress_shown_) {
      std::fputs("\r\033[K", stderr);
      progress_shown_ = false;
    }
  }

  // --- stopping ----------------------------------------------------------------------------

  void wait_for_signal() {
    signals_.async_wait([this](const error_code& ec, int signal_number) {
      if (ec) return;
      if (stopping_ && reason_ == stop_reason::interrupted) {
        // Second signal: leave now. Rows already written are whole; pending whole rows go too.
        report_.flush();
        report_.sync();
        clear_progress();
        std::fputs("keyrevoke: interrupted again: exiting at once; resume with --resume\n", stderr);
        std::_Exit(exit_interrupted);
      }
      clear_progress();
      std::fprintf(stderr, "keyrevoke: %s: finishing requests in flight (again to exit at once)\n",
                   signal_number == SIGINT ? "interrupted" : "terminated");
      begin_stop(stop_reason::interrupted);
      wait_for_signal();
    });
  }

  void begin_stop(stop_reason reason) {
    if (reason_ == stop_reason::none) reason_ = reason;
    if (stopping_) return;
    stopping_ = true;
    wake();
    if (reason == stop_reason::gave_up) {
      pool_.close_all();
      return;
    }
    if (reason == stop_reason::interrupted || reason == stop_reason::report_failed) {
      // Requests in flight get a short grace, then are cancelled.
      grace_timer_.expires_after(std::min(to_millis(opts_.timeout_s), core::millis{5000}));
      grace_timer_.async_wait([this](const error_code& ec) {
        if (!ec) pool_.close_all();
      });
    }
  }

  void maybe_finish() {
    if (!dispatcher_done_ || workers_alive_ != 0 || finished_ || draining_) return;
    grace_timer_.cancel();
    // Whatever was queued but not answered is reported, so every hash has a row.
    while (!retries_.empty()) {
      abandon(retries_.top());
      retries_.pop();
    }
    for (const job& j : verifications_) abandon(j);
    verifications_.clear();
    while (has_pending()) abandon(take_pending());
    if (!input_complete_) {
      // Read the rest and report it not_attempted, unless the input is a pipe that may never end, or
      // the report cannot take rows anyway (they would all go to stderr).
      if (reader_.inputs_are_files() && reason_ != stop_reason::report_failed) {
        draining_ = true;  // read the rest (a file ends soon) and report it not_attempted
        return;
      }
      input_cut_short_ = true;
      reader_.stop();
    }
    final_finish();
  }

  void final_finish() {
    if (finished_) return;
    finished_ = true;
    flush_report();
    report_.sync();
    pool_.close_all();
    wake_timer_.cancel();
    progress_timer_.cancel();
    sync_timer_.cancel();
    grace_timer_.cancel();
    signals_.cancel();
    reader_.stop();
  }

  int finish() {
    clear_progress();
    if (!setup_error_.empty()) {
      std::fprintf(stderr, "keyrevoke: %s\n", setup_error_.c_str());
      return exit_usage;
    }
    const double elapsed = core::to_seconds(clock_type::now() - started_);
    std::string summary = format_summary(stats_, elapsed, opts_.quiet);
    if (!opts_.quiet) {
      const net::pool_stats& ps = pool_.stats();
      summary += "  connections opened " + std::to_string(ps.dials) + " (TLS sessions resumed " +
                 std::to_string(ps.tls_resumed) + ", max open " + std::to_string(ps.max_open) + ")";
      if (controller_.cuts() != 0) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "; rate limited: %u cuts, last limit %.0f/s", controller_.cuts(),
                      controller_.fill_rate());
        summary += buf;
      }
      summary += "\n  report: " + report_.path() + "\n";
    }
    std::fputs(summary.c_str(), stderr);

    int code = exit_ok;
    if (stats_[outcome::failed] + stats_[outcome::not_attempted] + stats_[outcome::unauthorized] +
            stats_[outcome::invalid] + stats_.unproven() != 0) {
      code = exit_incomplete;
    }
    if (stats_.verify_mismatch != 0) {
      std::fprintf(stderr, "keyrevoke: VERIFY MISMATCH: %llu keys the server answered for still show the wrong "
                           "state; see the report's verify rows (\"outcome\":\"mismatch\")\n",
                   static_cast<unsigned long long>(stats_.verify_mismatch));
    }
    if (!input_error_.empty()) {
      std::fprintf(stderr, "keyrevoke: input error: %s\n", input_error_.c_str());
      code = exit_incomplete;
    }
    if (input_cut_short_) {
      std::fprintf(stderr, "keyrevoke: input not read to the end (%llu lines read); rerun with --resume\n",
                   static_cast<unsigned long long>(stats_.lines));
    }
    switch (reason_) {
      case stop_reason::key_rejected:
        std::fprintf(stderr, "keyrevoke: aborted: the server rejected the management key (%s)\n",
                     abort_message_.c_str());
        return exit_aborted;
      case stop_reason::tls_untrusted:
        std::fprintf(stderr, "keyrevoke: aborted: %s\n", abort_message_.c_str());
        return exit_aborted;
      case stop_reason::interrupted:
        std::fputs("keyrevoke: interrupted; rerun with --resume to finish\n", stderr);
        return exit_interrupted;
      case stop_reason::gave_up:
        std::fprintf(stderr, "keyrevoke: gave up: the server answered nothing but failures for %.0f s; rerun with --resume\n",
                     opts_.give_up_after_s);
        return exit_incomplete;
      case stop_reason::report_failed:
      case stop_reason::none:
        break;
    }
    if (report_.failed()) {
      std::fprintf(stderr, "keyrevoke: %s\nkeyrevoke: these rows could not be written to the report:\n%s",
                   report_.error().c_str(), report_.pending().c_str());
      code = exit_incomplete;
    }
    return code;
  }

  asio::io_context& io_;
  const options& opts_;
  core::base_url base_;
  report_file report_;
  core::resume_scan scan_;
  run_selection selection_;
  input_reader reader_;
  net::connection_pool pool_;
  core::rate_controller controller_;
  core::retry_budget budget_;
  core::backoff_policy backoff_;
  asio::experimental::channel<void(error_code, job)> jobs_;
  asio::steady_timer wake_timer_;
  asio::steady_timer progress_timer_;
  asio::steady_timer sync_timer_;
  asio::steady_timer grace_timer_;
  asio::signal_set signals_;
  std::mt19937_64 rng_;
  clock_type::time_point started_;
  std::string key_;  // for the requests' Authorization, and to redact it from server messages

  struct pending_batch {
    std::vector<core::key_hash> verify_only;
    std::vector<core::key_hash> hashes;
    std::size_t verify_pos = 0;
    std::size_t pos = 0;
  };
  std::deque<pending_batch> pending_;
  std::priority_queue<job, std::vector<job>, due_later> retries_;
  std::deque<job> verifications_;
  std::uint64_t sequence_ = 0;
  unsigned in_flight_ = 0;
  unsigned retries_in_flight_ = 0;
  unsigned workers_alive_ = 0;
  bool dispatcher_done_ = false;
  bool input_complete_ = false;
  bool input_cut_short_ = false;
  bool stopping_ = false;
  bool draining_ = false;
  bool finished_ = false;
  bool waiting_ = false;
  bool event_pending_ = false;
  bool flush_scheduled_ = false;
  bool progress_enabled_ = false;
  bool progress_tty_ = false;
  bool progress_shown_ = false;
  unsigned invalid_shown_ = 0;
  stop_reason reason_ = stop_reason::none;
  std::string abort_message_;
  std::string input_error_;
  std::string setup_error_;
  std::string row_;
  run_stats stats_;
};

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string{text.substr(first, last - first + 1)};
}

}  // namespace

std::variant<std::string, early_exit> load_management_key(const options& opts, const char* env_key) {
  std::string key;
  if (opts.key_file) {
    std::ifstream in{*opts.key_file};
    if (!in) {
      return early_exit{exit_usage, "keyrevoke: cannot read key file '" + core::safe_display(*opts.key_file) + "': " +
                                        std::generic_category().message(errno) + "\n"};
    }
    std::getline(in, key);
    key = trim(key);
    if (key.empty()) return early_exit{exit_usage, "keyrevoke: key file '" + *opts.key_file + "' is empty\n"};
  } else if (env_key != nullptr) {
    key = trim(env_key);
  }
  if (key.empty()) {
    return early_exit{exit_usage,
                      "keyrevoke: no management key: set MODELGATES_MANAGEMENT_KEY or pass --key-file FILE\n"};
  }
  for (const char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return early_exit{exit_usage,
                        "keyrevoke: the management key contains characters that cannot go in an HTTP header\n"};
    }
  }
  return key;
}

int run_dry_run(const options& opts) {
  input_reader reader{opts.inputs, input_filter{}};
  if (std::string error = reader.open_all(); !error.empty()) {
    std::fprintf(stderr, "keyrevoke: %s\n", error.c_str());
    return exit_usage;
  }
  std::uint64_t lines = 0, valid = 0, duplicates = 0, invalid = 0;
  std::string input_error;
  reader.read_all([&](input_batch&& batch) {
    lines += batch.lines;
    valid += batch.hashes.size();
    duplicates += batch.duplicates;
    invalid += batch.invalid.size();
    for (const invalid_entry& bad : batch.invalid) {
      if (!opts.quiet) {
        std::fprintf(stderr, "keyrevoke: %s:%llu: invalid line (%s): %s\n",
                     reader.source_names()[bad.source].c_str(), static_cast<unsigned long long>(bad.line),
                     std::string{bad.reason}.c_str(), bad.preview.c_str());
      }
    }
    if (!batch.error.empty()) input_error = batch.error;
  });
  std::printf("dry run: %llu lines, %llu valid hashes, %llu duplicates, %llu invalid lines; nothing sent\n",
              static_cast<unsigned long long>(lines), static_cast<unsigned long long>(valid),
              static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(invalid));
  if (!input_error.empty()) {
    std::fprintf(stderr, "keyrevoke: %s\n", input_error.c_str());
    return exit_usage;
  }
  return invalid == 0 ? exit_ok : exit_incomplete;
}

namespace {

struct prepared {
  core::base_url base;
  run_selection selection;
  std::optional<protect_list> protect;
};

// The checks every mode shares: the base URL, the --protect file. An error is exit 2.
std::variant<prepared, int> prepare_common(const options& opts) {
  auto checked = checked_base_url(opts.base_url, opts.allow_insecure_http);
  if (auto* error = std::get_if<std::string>(&checked)) {
    std::fprintf(stderr, "keyrevoke: %s\n", error->c_str());
    return exit_usage;
  }
  prepared p{std::get<core::base_url>(std::move(checked)), {}, std::nullopt};
  if (opts.protect) {
    auto loaded = load_protect_file(*opts.protect);
    if (auto* error = std::get_if<std::string>(&loaded)) {
      std::fprintf(stderr, "keyrevoke: %s\n", error->c_str());
      return exit_usage;
    }
    p.protect = std::get<protect_list>(std::move(loaded));
    p.selection.protect = std::move(p.protect->hashes);
    p.protect->hashes = core::hash_set{};
  }
  return p;
}

// --protect's globs: one listing of every key; the matching ones join the protected set. Nothing is
// sent before it completes: a protection that may have missed a key is no protection.
int resolve_protect_globs(const options& opts, const protect_list& list, const std::string& key,
                          core::hash_set& protect) {
  const key_lister_config config{opts.base_url, opts.cacert, opts.allow_insecure_http, opts.timeout_s,
                                 opts.max_attempts, opts.rate, opts.quiet};
  std::uint64_t matched = 0;
  const list_result listed = list_keys(
      config, key,
      [&](const listed_key& k) {
        if (protected_by_glob(list, k.name, k.label) && protect.insert(k.hash)) ++matched;
      },
      true);
  if (listed.exit_code != 0) {
    std::fprintf(stderr, "keyrevoke: --protect: listing the keys to match its globs failed (%s); nothing sent\n",
                 listed.error.c_str());
    return listed.exit_code == exit_aborted || listed.exit_code == exit_interrupted || listed.exit_code == exit_usage
               ? listed.exit_code
               : exit_incomplete;
  }
  if (!opts.quiet) {
    std::fprintf(stderr, "keyrevoke: --protect: %s of %s keys match its name/label globs\n", grouped(matched).c_str(),
                 grouped(listed.keys_seen).c_str());
  }
  return exit_ok;
}

void show_invalid(const selection_result& sel, bool quiet) {
  if (quiet) return;
  for (const invalid_entry& bad : sel.first_invalid) {
    std::fprintf(stderr, "keyrevoke: %s:%llu: invalid line (%s): %s\n", sel.source_names[bad.source].c_str(),
                 static_cast<unsigned long long>(bad.line), std::string{bad.reason}.c_str(), bad.preview.c_str());
  }
}

}  // namespace

int run_plan(const options& opts) {
  auto common = prepare_common(opts);
  if (auto* code = std::get_if<int>(&common)) return *code;
  prepared& p = std::get<prepared>(common);
  if (p.protect && p.protect->has_globs()) {
    auto key = load_management_key(opts, std::getenv("MODELGATES_MANAGEMENT_KEY"));  // NOLINT(concurrency-mt-unsafe)
    if (auto* failed = std::get_if<early_exit>(&key)) {
      std::fputs("keyrevoke: --plan with name/label globs in --protect lists the keys, so it needs the key too\n",
                 stderr);
      std::fputs(failed->text.c_str(), stderr);
      return failed->code;
    }
    if (const int code = resolve_protect_globs(opts, *p.protect, std::get<std::string>(key), p.selection.protect);
        code != exit_ok) {
      return code;
    }
  }
  selection_result sel = read_selection(opts, p.selection.protect.empty() ? nullptr : &p.selection.protect);
  if (!sel.error.empty()) {
    std::fprintf(stderr, "keyrevoke: %s\n", sel.error.c_str());
    return exit_usage;
  }
  show_invalid(sel, opts.quiet);
  const std::string digest = core::plan_digest(opts.act, p.base.host_header, sel.hashes);
  const std::string out = plan_row_text(opts, p.base.host_header, digest, sel, fingerprint_inputs(opts.inputs));
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  if (!opts.quiet) {
    std::fprintf(stderr,
                 "plan: %s %s keys on %s (%s protected, %s invalid lines, %s duplicates%s); nothing sent\n"
                 "to run exactly this plan, repeat the command with --confirm %s instead of --plan\n",
                 std::string{core::to_string(opts.act)}.c_str(), grouped(sel.hashes.size()).c_str(),
                 p.base.host_header.c_str(), grouped(sel.protected_count).c_str(), grouped(sel.invalid).c_str(),
                 grouped(sel.duplicates).c_str(),
                 opts.shard.count > 1 ? (", shard " + opts.shard_text).c_str() : "", digest.c_str());
  }
  return sel.invalid == 0 ? exit_ok : exit_incomplete;
}

int run_revocation(const options& opts, const std::string& management_key) {
  auto common = prepare_common(opts);
  if (auto* code = std::get_if<int>(&common)) return *code;
  prepared& p = std::get<prepared>(common);

  std::optional<asio::ssl::context> tls;
  try {
    tls.emplace(net::make_client_tls_context(opts.cacert));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "keyrevoke: %s\n", e.what());
    return exit_usage;
  }

  // Inputs are checked before the report is touched: a typo in a file name must not create or
  // truncate anything.
  {
    input_reader probe{opts.inputs, input_filter{}};
    if (std::string error = probe.open_all(); !error.empty()) {
      std::fprintf(stderr, "keyrevoke: %s\n", error.c_str());
      return exit_usage;
    }
    if (opts.confirm && !probe.inputs_are_files()) {
      std::fputs("keyrevoke: --confirm reads the input twice (to check the plan, then to run it): give the "
                 "hashes in a file, not on stdin or a pipe\n",
                 stderr);
      return exit_usage;
    }
  }
  if (p.protect && p.protect->has_globs()) {
    if (const int code = resolve_protect_globs(opts, *p.protect, management_key, p.selection.protect); code != exit_ok) {
      return code;
    }
  }
  if (opts.confirm) {
    selection_result sel = read_selection(opts, p.selection.protect.empty() ? nullptr : &p.selection.protect);
    if (!sel.error.empty()) {
      std::fprintf(stderr, "keyrevoke: %s\n", sel.error.c_str());
      return exit_usage;
    }
    const std::string digest = core::plan_digest(opts.act, p.base.host_header, sel.hashes);
    if (digest != *opts.confirm) {
      std::fprintf(stderr,
                   "keyrevoke: the input does not match the confirmed plan: it selects %s keys to %s on %s with "
                   "digest\n  %s\nnot the confirmed\n  %s\nnothing sent (check the input files, --shard, "
                   "--protect, the action and --base-url; run --plan again to review)\n",
                   grouped(sel.hashes.size()).c_str(), std::string{core::to_string(opts.act)}.c_str(),
                   p.base.host_header.c_str(), digest.c_str(), opts.confirm->c_str());
      return exit_usage;
    }
    p.selection.plan.emplace();
    for (const core::key_hash& h : sel.hashes) p.selection.plan->insert(h);
  }
  if (opts.protect) {
    // The key this run uses is never revoked by it, when the API says which key that is. A guard at
    // run time (after the plan check): a plan cannot know it without the key.
    own_key_result own = fetch_own_key_hash(p.base, *tls, management_key, opts.timeout_s, opts.max_attempts);
    if (own.abort_code != 0) {
      std::fprintf(stderr, "keyrevoke: aborted before sending anything: %s\n", own.note.c_str());
      return own.abort_code;
    }
    if (own.hash) {
      p.selection.protect.insert(*own.hash);
    } else if (!own.note.empty() && !opts.quiet) {
      std::fprintf(stderr, "keyrevoke: warning: %s\n", own.note.c_str());
    }
  }
  const std::vector<input_print> prints = fingerprint_inputs(opts.inputs);

  const report_mode mode = opts.resume ? report_mode::resume : opts.force ? report_mode::overwrite : report_mode::create;
  core::resume_scan scan;
  auto opened = report_file::open(opts.report, mode, &scan);
  if (auto* error = std::get_if<std::string>(&opened)) {
    std::fprintf(stderr, "keyrevoke: %s\n", error->c_str());
    return exit_usage;
  }
  if (opts.resume) {
    // A report holds one action: resuming a --disable report with a delete (or the other way) would
    // skip hashes whose rows say something else was done to them.
    const std::string_view previous = scan.headers == 0 ? std::string_view{"delete"} : std::string_view{scan.action};
    if (scan.mixed_actions || previous != core::to_string(opts.act)) {
      std::fprintf(stderr,
                   "keyrevoke: '%s' is the report of a %s run; --resume continues the same action, so this %s "
                   "run needs a report of its own (--report)\n",
                   opts.report.c_str(), scan.mixed_actions ? "mixed" : std::string{previous}.c_str(),
                   std::string{core::to_string(opts.act)}.c_str());
      return exit_usage;
    }
  }
  if (opts.resume && !opts.quiet && scan.rows + scan.malformed_rows != 0) {
    std::fprintf(stderr, "keyrevoke: resuming '%s': %llu rows, %zu hashes already done%s\n", opts.report.c_str(),
                 static_cast<unsigned long long>(scan.rows), scan.done.size(),
                 scan.torn_tail ? " (a torn last line was cut)" : "");
  }
  const std::string header = header_row_text(opts, p.base.host_header, prints);

  asio::io_context io{1};
  revocation run{io, opts, management_key, std::move(p.base), *tls,
                 std::get<report_file>(std::move(opened)), std::move(scan), std::move(p.selection)};
  if (std::string error = run.open_inputs(); !error.empty()) {
    std::fprintf(stderr, "keyrevoke: %s\n", error.c_str());
    return exit_usage;
  }
  return run.run(header);
}

}  // namespace keyrevoke::app
