#include "keyrevoke/app/key_lister.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <exception>
#include <random>
#include <utility>

#include "keyrevoke/app/exchange.hpp"
#include "keyrevoke/app/revoke.hpp"
#include "keyrevoke/app/stderr_output.hpp"
#include "keyrevoke/app/stop_signals.hpp"
#include "keyrevoke/app/stop_watch.hpp"
#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/key_page.hpp"
#include "keyrevoke/core/list_answer.hpp"
#include "keyrevoke/core/list_pager.hpp"
#include "keyrevoke/core/rate_controller.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/retry_after.hpp"
#include "keyrevoke/core/retry_policy.hpp"
#include "keyrevoke/core/timestamp.hpp"
#include "keyrevoke/core/verdict.hpp"
#include "keyrevoke/net/connection_pool.hpp"
#include "keyrevoke/net/nothrow_awaitable.hpp"
#include "keyrevoke/net/tls_context.hpp"

namespace keyrevoke::app {

namespace asio = boost::asio;
using net::nothrow_awaitable;
using clock_type = std::chrono::steady_clock;
using error_code = boost::system::error_code;

namespace {


core::millis to_millis(double seconds) {
  return core::millis{static_cast<core::millis::rep>(seconds * 1000.0)};
}

// One listing: a single coroutine fetching one page at a time. Decisions are core's (pager, rate
// controller, retry plan, classification); this class only moves bytes and sleeps.
class lister final : public net::send_observer {
 public:
  lister(asio::io_context& io, const key_lister_config& config, const std::string& key, core::base_url base,
         core::route route, asio::ssl::context& tls, const detailed_key_callback& on_key,
         const std::function<bool()>& on_page_done)
      : io_{io},
        config_{config},
        base_{std::move(base)},
        key_{key},
        on_key_{on_key},
        on_page_done_{on_page_done},
        pool_{io.get_executor(), tls, base_, to_millis(config.timeout_s), 1, core::listing_body_limit},
        controller_{controller_config(config), clock_type::now()},
        timer_{io},
        stops_{io.get_executor()},
        rng_{std::random_device{}()} {
    pool_.set_route(std::move(route));
  }

  list_result run(bool handle_signals) {
    // A stop (SIGINT, SIGTERM, SIGHUP), even one that came before the listing began, ends it: exit 130.
    std::optional<stop_deferral> deferred;
    if (handle_signals) {
      deferred.emplace();
      stops_.start([this](int, unsigned) { on_stop(); });
    }
    std::exception_ptr failure;
    auto body = [this]() -> asio::awaitable<void> { co_await list_all(); };
    asio::co_spawn(io_, body, asio::bind_cancellation_slot(stop_.slot(), [&](std::exception_ptr e) {
      failure = e;
      done_ = true;
      stops_.cancel();
    }));
    io_.run();
    // A stop after the watch last looked: the listing may be whole, but the caller must not go on.
    if (handle_signals && stop_requested() && !failure && result_.exit_code == 0) {
      result_ = {exit_interrupted, "interrupted", result_.pages, result_.requests, result_.throttled,
                 result_.keys_seen};
    }
    if (failure) std::rethrow_exception(failure);
    return result_;
  }

  void on_request_written(core::steady_time at) override { controller_.on_bytes_written(at); }

 private:
  static core::rate_controller_config controller_config(const key_lister_config& config) {
    core::rate_controller_config c;
    c.max_in_flight = 1;
    c.max_rate = config.rate;
    return c;
  }

  void on_stop() {
    if (done_) return;
    // A listing changes nothing on the server: stop at once (the request in flight is cancelled).
    interrupted_ = true;
    stop_.emit(asio::cancellation_type::terminal);
  }

  void fail(int code, std::string error) {
    if (result_.exit_code != 0) return;
    core::redact_secret(error, key_);
    result_.exit_code = code;
    result_.error = std::move(error);
  }

  void deliver(core::key_page& page, const std::vector<std::size_t>& positions) {
    for (const std::size_t i : positions) {
      const core::key_fields& fields = page.fields[i];
      listed_key key;
      key.hash = page.entries[i].hash;
      key.name = fields.name.value_or(std::string{});
      key.label = fields.label.value_or(std::string{});
      key.disabled = fields.disabled.value_or(false);
      key.json = std::move(page.json[i]);
      on_key_(key, fields);
    }
  }

  std::string target_for(std::size_t offset) const {
    return base_.path + "/keys?offset=" + std::to_string(offset) + "&include_disabled=true";
  }

  // The URL a page was asked from, for an error message (sanitised; the key is never in it).
  std::string url_for(std::size_t offset) const {
    std::string out = base_.tls ? "https://" : "http://";
    core::append_sanitized(out, base_.host_header + target_for(offset), 300);
    return out;
  }

  std::string request_for(std::size_t offset) const {
    return make_request("GET", target_for(offset), base_, key_);
  }

  asio::awaitable<void> sleep_until(clock_type::time_point until) {
    timer_.expires_at(until);
    co_await timer_.async_wait(nothrow_awaitable);
  }

  asio::awaitable<void> list_all() {
    // A signal cuts the listing through stop_: each step looks at interrupted_ after its wait.
    co_await asio::this_coro::throw_if_cancelled(false);
    if (std::string error = co_await pool_.resolve(); !error.empty()) {
      fail(exit_usage, error);
      co_return;
    }
    std::optional<core::key_page> held;  // the page the pager holds (rule E), delivered if proven
    while (pager_.status() == core::pager_status::fetch && !interrupted_) {
      std::optional<core::key_page> page = co_await fetch_page(pager_.offset());
      if (!page) break;
      ++result_.pages;
      if (!page->entries.empty() && page->unusable == page->entries.size()) {
        // Not one key of the page can be accounted for: not the API's list shape (the trial: items without
        // a "hash" read as a list that "kept changing", exit 1, after 106 pages).
        std::string first;
        core::append_sanitized(first, page->json.front(), 80);
        fail(exit_usage, "GET " + url_for(offset_of_last_) + " answered a page of " +
                             std::to_string(page->entries.size()) +
                             " items, none with a 64-hex-digit \"hash\" (first: " + first +
                             "): not a key list; check --base-url");
        break;
      }
      const std::size_t unusable = page->unusable;
      const core::pager_emission out = pager_.consume(page->entries);
      deliver(*page, out.page);
      if (held) deliver(*held, out.held);
      if (pager_.holding()) held = std::move(page);
      result_.keys_seen += out.page.size() + out.held.size();
      if (unusable != 0 && !config_.quiet) {
        write_stderr_now("keyrevoke: warning: " + std::to_string(unusable) +
                         " key objects without a valid hash skipped (page at offset " +
                         std::to_string(offset_of_last_) + ")\n");
      }
      if (on_page_done_ && !on_page_done_()) {
        fail(exit_incomplete, "stopped after " + std::to_string(result_.pages) + " pages");
        break;
      }
      if (pager_.settling() && pager_.status() == core::pager_status::fetch) {
        // The end was checked and the list had got shorter in between: keys are still being deleted
        // (typically by the `keyrevoke` this listing is piped into). Give it time before checking again:
        // 100 ms, doubling up to 2 s.
        const std::uint64_t rounds = std::min<std::uint64_t>(pager_.end_checks(), 6);
        const std::chrono::milliseconds pause{
            std::min<std::int64_t>(std::int64_t{100} << (rounds - 1), 2000)};
        co_await sleep_until(clock_type::now() + pause);
      }
    }
    if (interrupted_) {
      result_ = {exit_interrupted,  "interrupted: the listing is incomplete",
                 result_.pages,     result_.requests,
                 result_.throttled, result_.keys_seen};
    } else if (result_.exit_code == 0 && pager_.status() == core::pager_status::kept_changing) {
      fail(exit_incomplete, "the list kept changing faster than it could be read: gave up after " +
                                std::to_string(pager_.fetches()) + " pages; the listing is incomplete");
    } else if (result_.exit_code == 0 && pager_.status() != core::pager_status::complete) {
      // Never report a listing complete unless the pager proved it (--protect relies on this).
      fail(exit_incomplete, "the listing stopped before its end was proven; it is incomplete");
    }
    done_ = true;
    pool_.shut_down();
    timer_.cancel();
    stops_.cancel();
  }

  // One page, with retries; nullopt when the listing must stop (result_ says why).
  asio::awaitable<std::optional<core::key_page>> fetch_page(std::size_t offset) {
    offset_of_last_ = offset;
    const std::string request = request_for(offset);
    for (unsigned attempts = 1;; ++attempts) {
      // Pacing: wait for a send slot (a 429 cuts the rate for every later request).
      for (;;) {
        const auto now = clock_type::now();
        const auto at = controller_.next_send_time(now);
        if (at <= now) break;
        co_await sleep_until(at);
        if (interrupted_) co_return std::nullopt;
      }
      controller_.take_send_slot(clock_type::now());
      ++result_.requests;
      net::exchange_result& answer = answer_;
      co_await pool_.exchange(request, *this, answer);
      const auto now = clock_type::now();
      // A server may echo the key back: gone from the body before any snippet of it is quoted.
      if (answer.answer.status < 200 || answer.answer.status >= 300) core::redact_secret(answer.answer.body, key_);
      if (interrupted_) co_return std::nullopt;

      core::verdict verdict{core::verdict_kind::server_error, 0, {}, std::nullopt};
      if (!answer.error) {
        const net::http_answer& http = answer.answer;
        std::optional<core::key_page> page;
        if (http.status >= 200 && http.status < 300) page = core::parse_key_page(http.body);
        const bool hint =
            !http.retry_after.empty() || !http.retry_after_ms.empty() || !http.ratelimit_reset.empty();
        switch (core::judge_list_answer(http.status, page.has_value(), http.body, hint)) {
          case core::list_answer_kind::page:
            if (std::exchange(check_clock_, false) && config_.ages_from_local_clock && !config_.quiet) {
              const auto server_now = core::parse_http_date(http.date, std::chrono::system_clock::now());
              const std::string warning = core::age_clock_warning(
                  server_now ? std::optional{std::chrono::duration_cast<std::chrono::microseconds>(
                                                 server_now->time_since_epoch())
                                                 .count()}
                             : std::nullopt,
                  std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
              if (!warning.empty()) write_stderr_now("keyrevoke: warning: " + warning + "\n");
            }
            controller_.on_answer(now, answer.written ? answer.written_at : now, core::answer_kind::accepted,
                                  std::nullopt);
            co_return page;
          case core::list_answer_kind::not_the_api:
            // A wrong route or a shape that is not the key API's (a gateway's or web server's page): no
            // retry can fix the URL. Say what came back and where.
            fail(exit_usage,
                 "GET " + url_for(offset) + " answered " + core::describe_answer(http.status, {}, http.body) +
                     (http.status >= 200 && http.status < 300 ? ", not a key list {\"data\": [...]}"
                                                              : ", not the key API's answer") +
                     ": check --base-url");
            co_return std::nullopt;
          case core::list_answer_kind::key_rejected:
            // Only the API's own error body shows the API refused the key; a gateway's 401/403 page does
            // not (the trial: such a page sent a responder to rotate a key that was fine).
            fail(exit_aborted,
                 (core::has_api_error_shape(http.body, http.status)
                      ? "the server rejected the management key: GET "
                      : "refused, and not with the API's answer (a gateway or proxy in front of it?): GET ") +
                     url_for(offset) + " answered " + core::describe_answer(http.status, {}, http.body));
            co_return std::nullopt;
          case core::list_answer_kind::classify:
            verdict = classify_exchange(answer, core::millis{120000}, core::request_kind::get);
            // A 403 with a rate-limit hint is a throttle here, whatever the classifier says of 403s.
            if (http.status == 403 && verdict.kind == core::verdict_kind::unauthorized)
              verdict.kind = core::verdict_kind::throttled;
            // The reason always says what came back (a verdict's message may be empty, e.g. not_found).
            if (verdict.message.empty() || !core::is_retryable(verdict.kind))
              verdict.message = core::describe_answer(http.status, {}, http.body);
            break;
        }
      } else {
        verdict = classify_exchange(answer, core::millis{120000}, core::request_kind::get);
      }
      core::redact_secret(verdict.message, key_);

      controller_.on_answer(now, answer.written ? answer.written_at : now, core::answer_kind_of(verdict),
                            verdict.retry_after);
      if (verdict.kind == core::verdict_kind::throttled) ++result_.throttled;

      if (verdict.kind == core::verdict_kind::unauthorized) {
        fail(exit_aborted, "the server rejected the management key (" + verdict.message + ")");
        co_return std::nullopt;
      }
      if (verdict.kind == core::verdict_kind::tls_error) {
        fail(exit_aborted, net::with_trust_advice(verdict.message));
        co_return std::nullopt;
      }
      if (!core::is_retryable(verdict.kind)) {
        fail(exit_incomplete, "GET " + url_for(offset) + " failed: " + verdict.message);
        co_return std::nullopt;
      }
      const core::retry_plan plan = core::plan_after_attempt(
          {verdict.kind, verdict.retry_after, answer.reused_connection}, attempts, config_.max_attempts,
          backoff_, std::uniform_real_distribution<double>{0.0, 1.0}(rng_));
      if (!plan.retry) {
        fail(exit_incomplete, "page at offset " + std::to_string(offset) + " failed after " +
                                  std::to_string(attempts) + " attempts: " + verdict.message);
        co_return std::nullopt;
      }
      if (!config_.quiet && verdict.kind != core::verdict_kind::throttled) {
        write_stderr_now("keyrevoke: page at offset " + std::to_string(offset) + ": " + verdict.message +
                         "; retrying\n");
      }
      co_await sleep_until(clock_type::now() + plan.delay);
      if (interrupted_) co_return std::nullopt;
    }
  }

  asio::io_context& io_;
  const key_lister_config& config_;
  core::base_url base_;
  const std::string& key_;
  const detailed_key_callback& on_key_;
  const std::function<bool()>& on_page_done_;
  net::connection_pool pool_;
  core::rate_controller controller_;
  core::backoff_policy backoff_;
  core::list_pager pager_;
  asio::steady_timer timer_;
  stop_watch stops_;
  asio::cancellation_signal stop_;  // bound to list_all's coroutine: a stop cuts what it awaits
  std::mt19937_64 rng_;
  list_result result_;
  net::exchange_result answer_;  // reused from page to page: its body keeps its capacity
  std::size_t offset_of_last_ = 0;
  bool interrupted_ = false;
  bool done_ = false;
  bool check_clock_ = true;  // the first page's Date is checked against this machine's clock (ages)
};

}  // namespace

list_result list_keys_detailed(const key_lister_config& config, const std::string& management_key,
                               const detailed_key_callback& on_key, const std::function<bool()>& on_page_done,
                               bool handle_signals) {
  list_result result;
  auto checked = checked_base_url(config.base_url, config.allow_insecure_http);
  if (auto* error = std::get_if<std::string>(&checked)) {
    result.exit_code = exit_usage;
    result.error = std::move(*error);
    return result;
  }
  core::base_url base = std::get<core::base_url>(std::move(checked));
  // The network path (a proxy, --connect-to, --resolve); a proxy that refuses CONNECT stops here.
  auto route = prepare_route(config.network, base, config.timeout_s, true);
  if (auto* failure = std::get_if<route_failure>(&route)) {
    result.exit_code = failure->code;
    result.error = std::move(failure->message);
    return result;
  }
  std::optional<asio::ssl::context> tls;
  try {
    tls.emplace(net::make_client_tls_context(config.cacert));
  } catch (const std::exception& e) {
    result.exit_code = exit_usage;
    result.error = e.what();
    return result;
  }
  asio::io_context io{1};
  lister run{io, config, management_key, std::move(base), std::get<core::route>(std::move(route)), *tls, on_key,
             on_page_done};
  return run.run(handle_signals);
}

list_result list_keys(const key_lister_config& config, const std::string& management_key,
                      const std::function<void(const listed_key&)>& on_key, bool handle_signals) {
  const detailed_key_callback forward = [&on_key](const listed_key& key, const core::key_fields&) {
    on_key(key);
  };
  const std::function<bool()> no_hook;
  return list_keys_detailed(config, management_key, forward, no_hook, handle_signals);
}

}  // namespace keyrevoke::app
