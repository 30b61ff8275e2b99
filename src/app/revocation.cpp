// The run's coroutines: they do what core::run_scheduler says and report back. No decision is made
// here (which hash, when, retry or not, stop or not: all in the scheduler); this file moves bytes,
// formats rows, and prints. Over 400 lines on purpose: the coroutines share one run_context and the
// Asio headers; the summary at the end is its only other part.
#include "keyrevoke/app/revocation.hpp"

#include "keyrevoke/app/exchange.hpp"
#include "keyrevoke/app/input_reader.hpp"
#include "keyrevoke/app/revoke.hpp"
#include "keyrevoke/app/run_outputs.hpp"
#include "keyrevoke/app/run_stats.hpp"
#include "keyrevoke/app/run_trace.hpp"
#include "keyrevoke/app/stderr_output.hpp"
#include "keyrevoke/app/stop_signals.hpp"
#include "keyrevoke/app/stop_watch.hpp"
#include "keyrevoke/core/key_page.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/report_row.hpp"
#include "keyrevoke/core/run_scheduler.hpp"
#include "keyrevoke/core/run_summary.hpp"
#include "keyrevoke/net/connection_pool.hpp"
#include "keyrevoke/net/nothrow_awaitable.hpp"
#include "keyrevoke/net/tls_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <random>

namespace keyrevoke::app {

namespace asio = boost::asio;
using net::nothrow_awaitable;
using clock_type = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using core::outcome;

namespace {

core::millis to_millis(double seconds) { return core::millis{static_cast<core::millis::rep>(seconds * 1000.0)}; }

// Rows wait at most this long in memory before one write(2) takes them all (a run answering 40,000
// hashes/s writes 200 times a second, not once per answer); after a kill -9 the rows of the hashes
// answered in that window may be missing, and --resume sends those hashes again (a 404 then:
// not_found_after_retry). A stop by signal and a normal end write every row.
constexpr core::millis report_write_window{5};
// Rows pending beyond this many bytes are written at once, whatever the window.
constexpr std::size_t report_write_bytes = std::size_t{64} * 1024;

// A request serialised once; each hash rewrites only its 64 hex digits in place.
struct request_template {
  std::string bytes;
  std::size_t hash_offset = 0;
  void set_hash(const core::key_hash& hash) { core::write_hex(hash, bytes.data() + hash_offset); }
};

// DELETE {base}/keys/{hash} carries no body (the API defines none; RFC 9110 9.3.5); PATCH carries the
// state asked for; GET (--verify) nothing.
request_template make_key_request(std::string_view method, std::string_view body, const core::base_url& base,
                                  const std::string& key) {
  std::string target;
  core::key_target(target, base, core::key_hash{});  // a zero hash marks where the hex goes
  request_template t;
  t.bytes = make_request(method, target, base, key, body);
  t.hash_offset = method.size() + 1 + target.size() - core::key_hash_hex_size;
  return t;
}

request_template make_action_request(core::action act, const core::base_url& base, const std::string& key) {
  switch (act) {
    case core::action::disable: return make_key_request("PATCH", R"({"disabled":true})", base, key);
    case core::action::enable: return make_key_request("PATCH", R"({"disabled":false})", base, key);
    case core::action::delete_key: break;
  }
  return make_key_request("DELETE", {}, base, key);
}

core::scheduler_config scheduler_config_from(const options& opts, bool input_is_files,
                                             const core::resume_scan& scan) {
  core::scheduler_config c;
  c.act = opts.act;
  c.verify = opts.verify;
  c.confirm_404s = true;  // every 404 (the fifth trial spent a budget of three)
  c.max_attempts = opts.max_attempts;
  c.concurrency = opts.concurrency;
  c.max_rate = opts.rate;
  c.health.give_up_after = to_millis(opts.give_up_after_s);
  c.input_is_files = input_is_files;
  c.earlier_run_unfinished = opts.resume && scan.some_run_unfinished();
  if (opts.resume && !scan.sent.empty()) c.sent_before = &scan.sent;
  return c;
}

// Everything the coroutines share, passed to each as a pointer (GCC 12: coroutine parameters by value).
struct run_context final : net::send_observer {
  run_context(asio::io_context& io_in, const options& o, const std::string& k, core::base_url b,
              asio::ssl::context& tls, report_file r, run_setup& s)
      : io{io_in},
        opts{o},
        key{k},
        base{std::move(b)},
        report{std::move(r)},
        setup{s},
        reader{opts.inputs,
               input_filter{opts.shard, setup.selection.protect.empty() ? nullptr : &setup.selection.protect,
                            setup.selection.plan ? &*setup.selection.plan : nullptr, &setup.scan.done,
                            &setup.scan.verified, opts.verify, &setup.scan.mismatched}},
        pool{io.get_executor(), tls, base, to_millis(opts.timeout_s), opts.concurrency},
        sched{scheduler_config_from(opts, true, s.scan), clock_type::now()},
        jobs{io, 0},
        wake_timer{io},
        progress_timer{io},
        sync_timer{io},
        flush_timer{io},
        grace_timer{io},
        resizes{io},
        stops{io.get_executor()},
        worker_cut{std::make_unique<asio::cancellation_signal[]>(std::max(1U, opts.concurrency))},
        rng{std::random_device{}()},
        started{clock_type::now()},
        started_at{core::format_utc(std::chrono::system_clock::now())} {
    pool.set_route(setup.route);
    progress_tty = stderr_is_terminal();
    progress_enabled = opts.progress == progress_mode::always || (opts.progress == progress_mode::automatic && progress_tty);
  }

  void on_request_written(core::steady_time at) override { sched.on_written(at); }
  double draw() { return std::uniform_real_distribution<double>{0.0, 1.0}(rng); }

  asio::io_context& io;
  const options& opts;
  const std::string& key;  // for the requests' Authorization, and to redact it from server messages
  core::base_url base;
  report_file report;
  run_setup& setup;
  input_reader reader;
  net::connection_pool pool;
  core::run_scheduler sched;
  asio::experimental::channel<void(error_code, core::job)> jobs;
  asio::steady_timer wake_timer;
  asio::steady_timer progress_timer;
  asio::steady_timer sync_timer;
  asio::steady_timer flush_timer;  // report_write_window
  asio::steady_timer grace_timer;
  asio::signal_set resizes;  // SIGWINCH while progress is drawn on a terminal: redraw at the new width
  stop_watch stops;  // SIGINT, SIGTERM, SIGHUP (app/stop_signals.hpp)
  // One per worker, bound to its coroutine: emitting cuts the exchange it awaits (cut_in_flight).
  std::unique_ptr<asio::cancellation_signal[]> worker_cut;
  std::mt19937_64 rng;
  clock_type::time_point started;
  std::string started_at;  // ISO 8601 UTC, for --summary-json
  bool waiting = false, event_pending = false, flush_scheduled = false, finished = false;
  bool dispatcher_sending = false;  // the dispatcher holds a job for the next worker that receives
  unsigned idle_workers = 0;        // workers waiting for a job from the dispatcher
  bool progress_enabled = false, progress_tty = false, progress_shown = false;
  bool resized = false;         // the terminal's window changed size since the last frame
  bool discard_report = false;  // an input refused as empty: the report this run created is removed
  unsigned invalid_shown = 0;
  std::string input_error, setup_error, internal_error, row;
  std::string relocation_shown;  // the report's new path, once its relocation was told on stderr
  core::utc_stamp stamp;         // the rows' "at"
  core::status_tally tally;      // requests by status class, for --metrics-file and --summary-json
  std::unique_ptr<run_trace> trace;  // -v / --trace FILE: the pool's dials and exchanges
};

// Everything the run writes to stderr while it runs goes through write_stderr_now: a paused terminal
// (Ctrl-S) or a pty nobody reads drops it instead of holding the event loop (app/stderr_output.hpp).
void clear_progress(run_context* ctx) {
  if (ctx->progress_shown) {
    write_stderr_now("\r\033[K");
    ctx->progress_shown = false;
  }
}

void flush_report(run_context* ctx) {
  if (ctx->report.failed()) return;
  if (!ctx->report.flush()) ctx->sched.on_report_error(clock_type::now());
}

void after_event(run_context* ctx);

// Rows that complete within report_write_window of each other go to disk in one write (at once when
// report_write_bytes are pending); finish_all and a second signal write what is left.
void write_rows(run_context* ctx, std::string_view rows) {
  ctx->report.append(rows);
  if (ctx->report.pending().size() >= report_write_bytes) {
    flush_report(ctx);
    return;
  }
  if (ctx->flush_scheduled) return;
  ctx->flush_scheduled = true;
  ctx->flush_timer.expires_after(report_write_window);
  ctx->flush_timer.async_wait([ctx](const error_code&) {
    ctx->flush_scheduled = false;
    const bool failed_before = ctx->report.failed();
    flush_report(ctx);
    if (ctx->report.failed() && !failed_before) after_event(ctx);  // the scheduler stops the run
  });
}

void wake(run_context* ctx) {
  if (ctx->waiting) {
    ctx->wake_timer.cancel();
  } else {
    ctx->event_pending = true;
  }
}

// Ends every exchange in flight now, each with core::errc::cancelled (its worker then leaves): the
// stop the scheduler asked for leaves nothing more to send.
void cut_in_flight(run_context* ctx) {
  for (unsigned i = 0; i < std::max(1U, ctx->opts.concurrency); ++i) {
    ctx->worker_cut[i].emit(asio::cancellation_type::terminal);
  }
}

void finish_all(run_context* ctx) {
  if (ctx->finished) return;
  ctx->finished = true;
  flush_report(ctx);
  ctx->report.sync();
  ctx->pool.shut_down();
  ctx->jobs.close();
  ctx->wake_timer.cancel();
  ctx->progress_timer.cancel();
  ctx->sync_timer.cancel();
  ctx->flush_timer.cancel();
  ctx->grace_timer.cancel();
  error_code ignored;
  ctx->resizes.cancel(ignored);
  ctx->stops.cancel();
  ctx->reader.stop();
}

// After every call into the scheduler: write its rows, hand batch credits back to the reader, and
// carry out a stop.
void publish(run_context* ctx) {
  auto& rows = ctx->sched.rows();
  if (!rows.empty()) {
    ctx->row.clear();
    const std::string_view at = ctx->stamp(std::chrono::system_clock::now());  // one per loop turn
    for (const core::row_event& r : rows) {
      if (r.kind == core::job_kind::verify) {
        core::append_row(ctx->row, core::verify_row{r.hash, r.checked, r.seen, r.http_status, r.attempts, r.elapsed_ms, r.error, at});
      } else {
        core::append_row(ctx->row, core::hash_row{r.hash, r.result, r.http_status, r.attempts, r.elapsed_ms, r.error, at});
      }
    }
    rows.clear();
    write_rows(ctx, ctx->row);
  }
  for (unsigned n = ctx->sched.take_consumed_batches(); n != 0; --n) ctx->reader.release_batch();
  if (ctx->sched.take_stop_started()) {
    switch (ctx->sched.reason()) {
      case core::stop_reason::interrupted:
      case core::stop_reason::report_failed:
        // Requests in flight get a short grace, then are cut.
        ctx->grace_timer.expires_after(std::min(to_millis(ctx->opts.timeout_s), core::millis{5000}));
        ctx->grace_timer.async_wait([ctx](const error_code& ec) {
          if (!ec) cut_in_flight(ctx);
        });
        break;
      case core::stop_reason::not_api:
      case core::stop_reason::contradicted:
      case core::stop_reason::unattributable:
      case core::stop_reason::unreachable:
      case core::stop_reason::gave_up: cut_in_flight(ctx); break;
      default: break;  // key or TLS rejected: answers in flight are bounded by --timeout
    }
  }
  if (ctx->sched.phase() == core::run_phase::done) finish_all(ctx);
}

// The same, for an event from outside the dispatcher: it then looks again.
void after_event(run_context* ctx) {
  publish(ctx);
  wake(ctx);
}

void on_batch(run_context* ctx, input_batch&& batch) {
  core::run_counts& c = ctx->sched.counts();
  if (ctx->sched.phase() != core::run_phase::done) {
    c.lines += batch.lines;
    c.hash_lines += batch.hash_lines;
    c.duplicates += batch.duplicates;
    c.already_done += batch.already_done;
    c.other_shard += batch.other_shard;
    ctx->row.clear();
    const std::string_view at = ctx->stamp(std::chrono::system_clock::now());
    for (const invalid_entry& bad : batch.invalid) {
      ++c[outcome::invalid];
      const std::string& file = ctx->reader.source_names()[bad.source];
      core::append_row(ctx->row, core::invalid_row{bad.line, file, bad.preview, bad.reason, at});
      if (!ctx->opts.quiet && ++ctx->invalid_shown <= 10) {
        clear_progress(ctx);
        write_stderr_now("keyrevoke: " + file + ":" + std::to_string(bad.line) + ": invalid line (" +
                         std::string{bad.reason} + "): " + bad.preview + "\n");
      }
    }
    for (const core::key_hash& hash : batch.protected_hashes) {
      ++c[outcome::protected_key];
      core::append_row(ctx->row, core::hash_row{hash, outcome::protected_key, 0, 0, 0.0, "protected (--protect): not sent", at});
    }
    if (!ctx->row.empty()) write_rows(ctx, ctx->row);
    if (!batch.error.empty()) ctx->input_error = batch.error;
  }
  ctx->sched.on_input(std::move(batch.verify_only), std::move(batch.hashes), batch.last, clock_type::now());
  after_event(ctx);
}

// Sleeps until `until` or the next event (an answer, new input, a stop), whichever is first.
asio::awaitable<void> wait_event(run_context* ctx, clock_type::time_point until) {
  if (std::exchange(ctx->event_pending, false)) co_return;
  ctx->wake_timer.expires_at(until);
  ctx->waiting = true;
  co_await ctx->wake_timer.async_wait(nothrow_awaitable);
  ctx->waiting = false;
  ctx->event_pending = false;
}

// --- the coroutines ----------------------------------------------------------------------------

asio::awaitable<void> dispatcher(run_context* ctx) {
  for (;;) {
    if (ctx->idle_workers == 0) {
      // Every worker is busy: each takes its next job itself when its answer comes (take_next), and
      // one that finds none goes idle and wakes this. A job is never taken for a worker yet to come.
      co_await wait_event(ctx, clock_type::now() + std::chrono::hours{1});
      if (ctx->finished) break;
      continue;
    }
    const auto now = clock_type::now();
    core::next_step step = ctx->sched.next(now);
    if (ctx->sched.phase() == core::run_phase::done || step.what == core::next_step::kind::done) {
      publish(ctx);
      break;
    }
    switch (step.what) {
      case core::next_step::kind::dispatch: {
        ctx->dispatcher_sending = true;
        auto [ec] = co_await ctx->jobs.async_send(error_code{}, step.work, nothrow_awaitable);
        ctx->dispatcher_sending = false;
        if (ec) {
          ctx->sched.on_cancelled(step.work, {}, clock_type::now());
          publish(ctx);
          co_return;
        }
        break;
      }
      case core::next_step::kind::sleep_until: co_await wait_event(ctx, step.until); break;
      case core::next_step::kind::wait: co_await wait_event(ctx, now + std::chrono::hours{1}); break;
      case core::next_step::kind::done: break;
    }
    publish(ctx);
    if (ctx->finished) break;
  }
}

// After an answer, the worker that got it takes the scheduler's next job itself when one may go now:
// at full speed every answer frees one place, and the job then goes without a hop through the
// dispatcher and the channel. Otherwise (nothing to send now, a pacing wait, a stop, or the dispatcher
// already holding a job for the next worker that receives) the dispatcher is woken, as after any event,
// and decides. It is also woken when places remain after the one taken (the in-flight limit grew, or
// idle workers wait).
std::optional<core::job> take_next(run_context* ctx) {
  publish(ctx);
  if (!ctx->finished && !ctx->dispatcher_sending) {
    core::next_step step = ctx->sched.next(clock_type::now());
    publish(ctx);
    if (step.what == core::next_step::kind::dispatch) {
      if (ctx->sched.in_flight() < ctx->sched.in_flight_limit()) wake(ctx);
      return std::move(step.work);
    }
  }
  wake(ctx);
  return std::nullopt;
}

asio::awaitable<void> worker(run_context* ctx) {
  request_template act = make_action_request(ctx->opts.act, ctx->base, ctx->key);
  request_template check = make_key_request("GET", {}, ctx->base, ctx->key);
  const std::string preflight =
      make_request("GET", ctx->base.path + "/keys?offset=0&include_disabled=true", ctx->base, ctx->key);
  // The same page through another URI (core::job::fresh_listing): a cache keyed by URI misses it.
  const std::string fresh_listing =
      make_request("GET", ctx->base.path + "/keys?include_disabled=true&offset=0", ctx->base, ctx->key);
  const auto cap = to_millis(ctx->opts.retry_after_cap_s);
  net::exchange_result result;  // one per worker, reused: an answer like the last allocates nothing
  // cut_in_flight ends this worker's exchange: a value (errc::cancelled), never an exception.
  co_await asio::this_coro::throw_if_cancelled(false);
  const asio::cancellation_state cut = co_await asio::this_coro::cancellation_state;
  std::optional<core::job> taken;  // the scheduler's next job, taken by this worker itself (take_next)
  for (;;) {
    core::job current;
    if (taken) {
      current = std::move(*taken);
      taken.reset();
      if (cut.cancelled() != asio::cancellation_type::none) {
        ctx->sched.on_cancelled(current, {}, clock_type::now());
        after_event(ctx);
        break;
      }
    } else {
      if (cut.cancelled() != asio::cancellation_type::none) break;
      ++ctx->idle_workers;
      wake(ctx);
      auto [ec, received] = co_await ctx->jobs.async_receive(nothrow_awaitable);
      --ctx->idle_workers;
      if (ec) break;
      current = std::move(received);
    }
    std::string_view request = current.fresh_listing ? fresh_listing : preflight;
    if (current.kind != core::job_kind::preflight) {
      request_template& t = current.kind == core::job_kind::act ? act : check;  // verify, route_check: GET
      t.set_hash(current.hash);
      request = t.bytes;
    }
    // A page of GET /keys is read whole (as `keyrevoke list` reads it): its keys are the evidence the
    // preflight and the run check 404s against (the trial: a pretty-printed 100-key page is ~70 KiB).
    co_await ctx->pool.exchange(request, *ctx, result,
                                current.kind == core::job_kind::preflight ? core::listing_body_limit : 0);
    if (result.written) ctx->tally.count(result.answer.status);
    // A server may echo the key back: gone from the body before any snippet of it is quoted (a snippet
    // cut mid-key would leave a prefix that redacting the message afterwards cannot recognise).
    core::redact_secret(result.answer.body, ctx->key);
    const auto now = clock_type::now();
    core::exchange_facts facts{result.written, result.reused_connection, result.answer_started,
                               result.written_at, result.refused_unread};
    if (!result.error) {
      facts.quota = core::read_quota(ratelimit_fields_of(result.answer), std::chrono::system_clock::now());
    }
    if (result.error == core::errc::cancelled) {
      ctx->sched.on_cancelled(current, facts, now);
    } else if (current.kind == core::job_kind::preflight) {
      core::preflight_result answer =
          !result.error
              ? core::classify_preflight(response_view_of(result.answer), std::chrono::system_clock::now(), cap)
              : core::preflight_from_failure(classify_exchange(result, cap, core::request_kind::get));
      core::redact_secret(answer.message, ctx->key);
      ctx->sched.on_preflight(answer, clock_type::now(), ctx->draw());
    } else if (current.kind == core::job_kind::route_check) {
      // The key route, before anything is sent there: a key the listing showed, read back through it.
      core::verdict read = classify_exchange(result, cap, core::request_kind::get, std::optional{current.hash});
      core::redact_secret(read.message, ctx->key);
      core::preflight_result routed =
          core::check_key_route(read, ctx->base.path + "/keys/" + core::to_hex(current.hash));
      ctx->sched.on_preflight(routed, clock_type::now(), ctx->draw());
    } else {
      // A PATCH's or GET's answer must name the key asked for (a DELETE's {"deleted": true} names none).
      const core::request_kind kind = current.kind == core::job_kind::act ? core::request_for(ctx->opts.act)
                                                                            : core::request_kind::get;
      core::verdict verdict = classify_exchange(
          result, cap, kind, kind == core::request_kind::delete_key ? std::nullopt : std::optional{current.hash});
      // A server may echo the key back in its error text: it never reaches the report or the screen.
      core::redact_secret(verdict.message, ctx->key);
      ctx->sched.on_result(std::move(current), verdict, facts, now, ctx->draw());
    }
    taken = take_next(ctx);
  }
}

asio::awaitable<void> report_sync(run_context* ctx) {
  while (!ctx->finished) {
    ctx->sync_timer.expires_after(std::chrono::seconds{1});
    co_await ctx->sync_timer.async_wait(nothrow_awaitable);
    if (!ctx->report.failed() && !ctx->report.sync()) {
      ctx->sched.on_report_error(clock_type::now());
      after_event(ctx);
    }
    if (!ctx->report.relocation().empty() && ctx->relocation_shown != ctx->report.path()) {
      clear_progress(ctx);  // said at once (and again at the end): the path the user watches is gone
      write_stderr_now("keyrevoke: " + ctx->report.relocation() + "\n");
      ctx->relocation_shown = ctx->report.path();
    }
  }
}

controller_view view_of(const core::run_scheduler& sched, clock_type::time_point now) {
  return {sched.controller().ceiling(), sched.in_flight(), sched.in_flight_limit(), sched.waiting(now)};
}

// SIGWINCH: the next frame is drawn at once, at the new width.
asio::awaitable<void> watch_resizes(run_context* ctx) {
  error_code ec;
  ctx->resizes.add(SIGWINCH, ec);
  if (ec) co_return;  // no redraw on resize; each frame still reads the width
  // Asio 1.81 installs its handler without SA_RESTART: a resize would fail the input reader's
  // blocking read with EINTR. The same handler, restarting.
  struct sigaction action {};
  if (::sigaction(SIGWINCH, nullptr, &action) == 0) {
    action.sa_flags |= SA_RESTART;
    ::sigaction(SIGWINCH, &action, nullptr);
  }
  while (!ctx->finished) {
    auto [wait_ec, signal_number] = co_await ctx->resizes.async_wait(nothrow_awaitable);
    (void)signal_number;
    if (wait_ec || ctx->finished) break;
    ctx->resized = true;
    ctx->progress_timer.cancel();
  }
}

asio::awaitable<void> progress(run_context* ctx) {
  if (!ctx->progress_enabled) co_return;
  const auto period = ctx->progress_tty ? std::chrono::milliseconds{500} : std::chrono::milliseconds{5000};
  std::uint64_t last_done = 0;
  auto last_time = clock_type::now();
  double recent = 0.0;
  while (!ctx->finished) {
    ctx->progress_timer.expires_after(period);
    co_await ctx->progress_timer.async_wait(nothrow_awaitable);
    if (ctx->finished) break;
    const auto now = clock_type::now();
    if (!ctx->resized) {  // a redraw for a resize keeps the rate as it was
      const std::uint64_t done = ctx->sched.counts().finished();
      const double dt = core::to_seconds(now - last_time);
      const double instant = dt > 0 ? static_cast<double>(done - last_done) / dt : 0.0;
      recent = recent == 0.0 ? instant : 0.7 * recent + 0.3 * instant;
      last_done = done;
      last_time = now;
    }
    ctx->resized = false;
    // On a terminal, the line fits its width now (it never wraps: a wrapped line leaves a stale
    // line behind at every frame); in a log file, every field.
    const std::string line =
        format_progress(ctx->sched.counts(), view_of(ctx->sched, now), core::to_seconds(now - ctx->started),
                        recent, ctx->progress_tty ? stderr_columns() : 0);
    // A frame the terminal does not take now is dropped (cut short at worst: the next one starts with
    // "\r" and erase-line); after a hangup, nothing is drawn.
    if (ctx->progress_tty) {
      if (!stderr_is_terminal()) continue;
      write_stderr_now("\r\033[K" + line);
      ctx->progress_shown = true;
    } else {
      write_stderr_now(line + "\n");
    }
  }
}

// A number of seconds as the user would write it: "300", "0.5".
std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

// " (--resolve: 10.0.0.1, 10.0.0.2)" when the dialled name is pinned, else "".
std::string pinned_addresses(const core::route& r) {
  if (r.pinned.empty()) return {};
  std::string out = " (--resolve:";
  for (std::size_t i = 0; i < r.pinned.size(); ++i) out += (i == 0 ? " " : ", ") + r.pinned[i];
  return out + ")";
}

// --summary-json and --metrics-file, whatever the exit code. Returns the error sentences, or empty.
std::string write_machine_outputs(run_context* ctx, int code) {
  if (!ctx->opts.summary_json && !ctx->opts.metrics_file) return {};
  const auto now = std::chrono::system_clock::now();
  const std::string finished_at = core::format_utc(now);
  core::run_summary s;
  s.counts = &ctx->sched.counts();
  s.requests = ctx->tally;
  s.exit_code = code;
  s.exit_reason = core::to_string(ctx->sched.reason());
  s.elapsed_s = core::to_seconds(clock_type::now() - ctx->started);
  s.started_at = ctx->started_at;
  s.finished_at = finished_at;
  s.finished_unix_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  s.version = KEYREVOKE_VERSION;
  s.action = core::to_string(ctx->opts.act);
  s.host = ctx->base.host_header;
  s.shard = ctx->opts.shard_text;
  s.report = ctx->report.path();
  return write_run_outputs(ctx->opts, s);
}

// SIGINT, SIGTERM and SIGHUP (a lost SSH session) alike: the first stops the run gracefully (rows for
// every answer), the next exits at once. Those that came before the run began count too.
void on_stop_signal(run_context* ctx, int signal_number) {
  if (ctx->finished) return;
  clear_progress(ctx);
  if (ctx->sched.on_signal(clock_type::now()) == core::signal_action::exit_now) {
    // Again, whatever stopped the run first: leave now. Rows already written are whole.
    ctx->report.flush();
    ctx->report.sync();
    const std::string errors = write_machine_outputs(ctx, exit_interrupted);
    write_stderr_now(errors + "keyrevoke: " + std::string{stop_word(signal_number)} +
                     " again: exiting at once; resume with --resume\n");
    std::_Exit(exit_interrupted);
  }
  write_stderr_now("keyrevoke: " + std::string{stop_word(signal_number)} +
                   ": finishing requests in flight (again to exit at once)\n");
  after_event(ctx);
}

// A coroutine that throws would leave the run hanging: say so, and stop the run.
auto on_coroutine_end(run_context* ctx, const char* role) {
  return [ctx, role](const std::exception_ptr& error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      ctx->internal_error = std::string{role} + ": " + e.what();
    } catch (...) {
      ctx->internal_error = std::string{role} + ": unknown exception";
    }
    ctx->sched.stop(core::stop_reason::interrupted, ctx->internal_error, clock_type::now());
    after_event(ctx);
  };
}

asio::awaitable<void> start(run_context* ctx) {
  // First: a stop during the name lookup or the preflight is a stop of the run.
  ctx->stops.start([ctx](int signal_number, unsigned) { on_stop_signal(ctx, signal_number); });
  if (std::string error = co_await ctx->pool.resolve(); !error.empty()) {
    // No address for the host: nothing can be reached. Every hash still gets its row.
    ctx->sched.stop(core::stop_reason::unreachable, error, clock_type::now());
  }
  ctx->reader.start([ctx](input_batch&& batch) {
    asio::post(ctx->io, [ctx, b = std::move(batch)]() mutable { on_batch(ctx, std::move(b)); });
  });
  auto dispatch = [ctx]() -> asio::awaitable<void> { co_await dispatcher(ctx); };
  asio::co_spawn(ctx->io, dispatch, on_coroutine_end(ctx, "dispatcher"));
  for (unsigned i = 0; i < std::max(1U, ctx->opts.concurrency); ++i) {
    auto work = [ctx]() -> asio::awaitable<void> { co_await worker(ctx); };
    asio::co_spawn(ctx->io, work,
                   asio::bind_cancellation_slot(ctx->worker_cut[i].slot(), on_coroutine_end(ctx, "worker")));
  }
  auto show = [ctx]() -> asio::awaitable<void> { co_await progress(ctx); };
  asio::co_spawn(ctx->io, show, on_coroutine_end(ctx, "progress"));
  if (ctx->progress_enabled && ctx->progress_tty) {
    auto watch = [ctx]() -> asio::awaitable<void> { co_await watch_resizes(ctx); };
    asio::co_spawn(ctx->io, watch, on_coroutine_end(ctx, "resize watch"));
  }
  auto sync = [ctx]() -> asio::awaitable<void> { co_await report_sync(ctx); };
  asio::co_spawn(ctx->io, sync, on_coroutine_end(ctx, "report sync"));
  after_event(ctx);
}

void write_summary_row(run_context* ctx, int code) {
  if (ctx->report.failed()) return;
  const auto counts = core::summary_counts(ctx->sched.counts());
  ctx->row.clear();
  const auto now = std::chrono::system_clock::now();
  core::append_row(ctx->row, core::summary_row{core::format_utc(now), code,
                                               core::to_seconds(clock_type::now() - ctx->started), counts, ctx->stamp(now),
                                               core::to_string(ctx->sched.reason()),
                                               ctx->sched.listing_showed_no_key()});
  ctx->report.append(ctx->row);
  if (ctx->report.flush()) ctx->report.sync();
}

// The summary on stderr and the exit code. Its first line says why a run stopped early.
int conclude(run_context* ctx) {
  clear_progress(ctx);
  const core::run_scheduler& s = ctx->sched;
  const bool read_to_end = s.counts().input_complete && ctx->input_error.empty();
  const bool no_hash_line = read_to_end && s.counts().hash_lines == 0;
  // A 401/403 page that is not the API's (a gateway refusing the method or the path) is not proof that
  // the key was rejected (the trial: nginx `limit_except GET { deny all; }` read as a rejected
  // management key, and a gateway's 403 page at the preflight as well).
  const bool refusal_not_api = s.reason() == core::stop_reason::refused;
  const core::run_end end{
      s.reason(),      !ctx->input_error.empty(),         ctx->report.failed(),
      core::refused_empty_input(s.counts().hash_lines, read_to_end, ctx->opts.allow_empty),
      !ctx->report.relocation().empty(), refusal_not_api};
  const int code = core::exit_code(end, s.counts());
  // An input refused as empty sent nothing: a report this run created would only hold its header, and
  // at a fixed path (a cron job's) it would refuse the next run. It is removed (a resumed one stays).
  // (With --force the report existed before this run: it keeps its header and summary, and says so.)
  ctx->discard_report = end.empty_input && !ctx->opts.resume && !ctx->opts.force && !ctx->report.failed();
  std::string why;
  switch (s.reason()) {
    case core::stop_reason::unreachable:
      // Name where it went: the URL, and the address dialled (or the proxy), so a wrong port, a
      // --resolve or --connect-to pin, or a dead proxy is seen at once.
      why = "keyrevoke: the server at " + core::safe_display(ctx->base.canonical) + " could not be reached (" +
            (ctx->setup.route.proxy ? "through the proxy " + ctx->setup.route.proxy->display
                                    : "dialling " + ctx->setup.route.dial_host + ":" + ctx->setup.route.dial_port +
                                          pinned_addresses(ctx->setup.route)) +
            ": " + s.stop_message() + "); nothing more was sent";
      break;
    case core::stop_reason::gave_up:
      // The time measured, not the option's value: outage detection and probes come before giving up,
      // and a server silent for 39 s must not read as 6 s down.
      why = "keyrevoke: gave up: the server answered nothing but failures for " +
            seconds_text(std::round(static_cast<double>(s.failing_for().count()) / 100.0) / 10.0) +
            " s (--give-up-after " + seconds_text(ctx->opts.give_up_after_s) + " s)" +
            (s.stop_message().empty() ? std::string{} : " (last: " + s.stop_message() + ")") + "; rerun with --resume";
      break;
    case core::stop_reason::not_api:
      why = "keyrevoke: GET " + std::string{ctx->base.tls ? "https://" : "http://"} + ctx->base.host_header +
            ctx->base.path + "/keys answered " + s.stop_message() +
            ": this is not the ModelGates API; check --base-url (nothing was changed)";
      break;
    case core::stop_reason::contradicted:
      why = "keyrevoke: stopped: " + s.stop_message() + "; nothing more was sent";
      break;
    case core::stop_reason::unattributable:
      why = "keyrevoke: stopped: the server sent an answer no request asked for (" + s.stop_message() +
            "): with HTTP/1.1 its answers can no longer be matched to requests, so nothing more was sent; rows "
            "this run claimed may be another request's answer: prove them with --resume --verify (a gateway or "
            "server answering twice?)";
      break;
    case core::stop_reason::refused:
    case core::stop_reason::key_rejected:
      if (refusal_not_api && s.preflight_passed()) {
        why = "keyrevoke: aborted: a refusal that is not the API's answer (" + s.stop_message() +
              "); the listing with the same management key was accepted, so a gateway or proxy in front may "
              "be refusing these requests, not the API rejecting the key";
      } else if (refusal_not_api) {
        why = "keyrevoke: aborted: a request of the preflight was refused, and not with the API's answer (" +
              s.stop_message() +
              "): a gateway or proxy in front of the API may be refusing it; check --base-url and what sits in "
              "front of it before rotating the management key (nothing was changed)";
      } else {
        why = "keyrevoke: aborted: the server rejected the management key (" + s.stop_message() + ")";
      }
      break;
    case core::stop_reason::tls_untrusted:
      why = "keyrevoke: aborted: " + net::with_trust_advice(s.stop_message());
      break;
    case core::stop_reason::interrupted:
      why = ctx->internal_error.empty() ? "keyrevoke: interrupted; rerun with --resume to finish"
                                        : "keyrevoke: internal error (" + ctx->internal_error + "); rerun with --resume";
      break;
    case core::stop_reason::report_failed:
      break;
    case core::stop_reason::none:
      if (end.empty_input) why = std::string{"keyrevoke: "} + empty_input_message;
      if (no_hash_line && !end.empty_input && !ctx->opts.quiet)
        why = std::string{"keyrevoke: warning: "} + empty_input_allowed;
      if (s.listing_showed_no_key() &&
          s.counts()[core::outcome::not_found] + s.counts()[core::outcome::not_found_after_retry] != 0) {
        // Said even with -q: a wrong --base-url to an environment without keys reads as all done.
        why += (why.empty() ? "" : "\n") + std::string{"keyrevoke: warning: the server's listing (GET /keys) showed no "
               "key at all, so each not_found is the word of a server that holds none: is --base-url the "
               "environment these keys belong to?"};
      }
      break;
  }
  std::string text = why.empty() ? std::string{} : why + "\n";
  const double elapsed = core::to_seconds(clock_type::now() - ctx->started);
  std::string summary = format_summary(s.counts(), elapsed, ctx->opts.quiet);
  if (!ctx->opts.quiet) {
    const net::pool_stats& ps = ctx->pool.stats();
    summary += "  connections opened " + std::to_string(ps.dials) + " (TLS sessions resumed " +
               std::to_string(ps.tls_resumed) + ", max open " + std::to_string(ps.max_open) + ")";
    if (ps.dial_failures != 0) {
      summary += "; failed dials " + std::to_string(ps.dial_failures) + " (connections limited " +
                 std::to_string(ps.dial_limit_cuts) + " times, lowest " +
                 std::to_string(ps.dial_limit_lowest) + ")";
    }
    if (ps.resolutions > 1) {
      summary += "; host name resolved " + std::to_string(ps.resolutions) + " times (" +
                 std::to_string(ps.resolution_failures) + " failed)";
    }
    if (s.controller().cuts() != 0) {
      char buf[128];
      std::snprintf(buf, sizeof buf,
                    "; send rate lowered %u times (throttled or overloaded: 429, 503), last limit %.0f/s",
                    s.controller().cuts(), s.controller().fill_rate());
      summary += buf;
    }
    summary += ctx->discard_report ? std::string{"\n  report: none written (nothing was sent)\n"}
                                   : "\n  report: " + ctx->report.path() + "\n";
  }
  text += summary;
  if (s.counts().verify_mismatch != 0) {
    text += "keyrevoke: VERIFY MISMATCH: " + std::to_string(s.counts().verify_mismatch) +
            " keys the server answered for still show the wrong state; see the report's verify rows "
            "(\"proof\":\"mismatch\")\n";
  }
  if (!ctx->input_error.empty()) text += "keyrevoke: input error: " + ctx->input_error + "\n";
  if (s.input_cut_short()) {
    text += "keyrevoke: input not read to the end (" + std::to_string(s.counts().lines) +
            " lines read); rerun with --resume\n";
  }
  if (end.report_relocated) text += "keyrevoke: " + ctx->report.relocation() + "\n";
  if (ctx->report.failed()) {
    text += "keyrevoke: " + ctx->report.error() +
            "\nkeyrevoke: these rows could not be written to the report:\n" + ctx->report.pending();
  }
  if (!ctx->opts.quiet) text += "keyrevoke: " + core::exit_explanation(code, end, s.counts()) + "\n";
  // A terminal that is not draining holds the exit for at most this long; the report and the exit
  // code do not depend on it. Rows that could not reach the report (their only copy) get a minute.
  const std::chrono::milliseconds bound{ctx->report.failed() ? 60000 : 3000};
  write_stderr_within(text, bound);
  return code;
}

}  // namespace

int execute_revocation(const options& opts, const std::string& management_key, asio::ssl::context& tls,
                       report_file report, run_setup setup) {
  asio::io_context io{1};
  core::base_url base = setup.base;
  run_context ctx{io, opts, management_key, std::move(base), tls, std::move(report), setup};
  if (std::string error = ctx.reader.open_all(); !error.empty()) {
    std::fprintf(stderr, "keyrevoke: %s\n", error.c_str());
    return exit_usage;
  }
  ctx.sched = core::run_scheduler{
      scheduler_config_from(opts, ctx.reader.inputs_are_files(), ctx.setup.scan), clock_type::now()};
  if (opts.verbose || opts.trace_file) {
    run_context* c = &ctx;
    std::function<void(std::string_view)> say;
    if (opts.verbose) {
      say = [c](std::string_view line) {
        clear_progress(c);
        write_stderr_now(line);
      };
    }
    ctx.trace = std::make_unique<run_trace>(io, management_key, std::move(say));
    if (opts.trace_file) {
      if (std::string error = ctx.trace->open(*opts.trace_file); !error.empty()) {
        std::fprintf(stderr, "keyrevoke: %s\n", error.c_str());
        return exit_usage;
      }
    }
    ctx.pool.set_trace(ctx.trace.get());
  }
  ctx.report.append(setup.header);
  flush_report(&ctx);
  run_context* p = &ctx;
  auto begin = [p]() -> asio::awaitable<void> { co_await start(p); };
  asio::co_spawn(io, begin, on_coroutine_end(p, "start"));
  io.run();
  if (ctx.trace) ctx.trace->flush();
  int code = conclude(p);
  if (ctx.discard_report) {
    ctx.report.discard();
  } else {
    const std::string rows_at = ctx.report.path();
    const bool failed_before = ctx.report.failed();
    write_summary_row(p, code);
    if (ctx.report.path() != rows_at ||
        ctx.report.failed() != failed_before) {  // the path went away since conclude()
      if (ctx.report.failed()) {
        std::fprintf(stderr, "keyrevoke: %s\n%s", ctx.report.error().c_str(), ctx.report.pending().c_str());
      } else {
        std::fprintf(stderr, "keyrevoke: %s\n", ctx.report.relocation().c_str());
      }
      if (code == exit_ok) code = exit_incomplete;
    }
  }
  // Last: the files a scheduler or a monitor reads carry the exit code the process returns. A file
  // that cannot be written makes a clean run exit 1 (its monitor would otherwise see the last run's).
  if (const std::string errors = write_machine_outputs(p, code); !errors.empty()) {
    std::fprintf(stderr, "keyrevoke: %s", errors.c_str());
    if (code == exit_ok) code = exit_incomplete;
  }
  return code;
}

}  // namespace keyrevoke::app
