#include "keyrevoke/app/own_key.hpp"

#include "keyrevoke/app/exchange.hpp"
#include "keyrevoke/app/revoke.hpp"
#include "keyrevoke/app/stop_signals.hpp"
#include "keyrevoke/app/stop_watch.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/retry_policy.hpp"
#include "keyrevoke/core/selection.hpp"
#include "keyrevoke/core/verdict.hpp"
#include "keyrevoke/net/connection_pool.hpp"
#include "keyrevoke/net/tls_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <random>

namespace keyrevoke::app {

namespace asio = boost::asio;

namespace {

struct no_observer final : net::send_observer {
  void on_request_written(core::steady_time /*at*/) override {}
};

// A stop signal ends the lookup: nothing more is sent, and the run does not begin.
own_key_result interrupted() {
  return {std::nullopt, exit_interrupted, std::string{stop_word(last_stop_signal())}};
}

asio::awaitable<own_key_result> ask(net::connection_pool& pool, std::string request, const std::string& key,
                                    unsigned max_attempts) {
  co_await asio::this_coro::throw_if_cancelled(false);  // a stop's cut is a value, checked after each step
  own_key_result result;
  if (std::string error = co_await pool.resolve(); stop_requested()) {
    co_return interrupted();
  } else if (!error.empty()) {
    result.note = "could not check the management key's own hash: " + error;
    co_return result;
  }
  no_observer observer;
  std::mt19937_64 rng{std::random_device{}()};
  asio::steady_timer timer{co_await asio::this_coro::executor};
  net::exchange_result answer;
  for (unsigned attempt = 1;; ++attempt) {
    co_await pool.exchange(request, observer, answer);
    if (stop_requested()) co_return interrupted();
    core::verdict verdict = classify_exchange(answer, std::chrono::seconds{30}, core::request_kind::get);
    core::redact_secret(verdict.message, key);
    if (verdict.kind == core::verdict_kind::tls_error) {
      result.abort_code = exit_aborted;
      result.note = net::with_trust_advice(verdict.message);
      co_return result;
    }
    if (!answer.error && answer.answer.status >= 200 && answer.answer.status < 300) {
      result.hash = core::own_key_hash_from_body(answer.answer.body);
      co_return result;
    }
    if (verdict.kind == core::verdict_kind::unauthorized) {
      result.abort_code = exit_aborted;
      result.note = "the server rejected the management key (" + verdict.message + ")";
      co_return result;
    }
    // 404, 405...: the API does not show it. A route the server does not have answers like that too
    // (a web server's 404 page, not the API's error): the same conclusion, nothing to retry.
    const bool no_such_route = verdict.kind == core::verdict_kind::not_api && answer.answer.status >= 400 &&
                               answer.answer.status < 500;
    if (!core::is_retryable(verdict.kind) || no_such_route) co_return result;
    if (attempt >= max_attempts) {
      result.note = "could not check the management key's own hash (" + verdict.message + ")";
      co_return result;
    }
    const core::retry_plan plan = core::plan_after_attempt({verdict.kind, verdict.retry_after, answer.reused_connection},
                                                           attempt, max_attempts, core::backoff_policy{},
                                                           std::uniform_real_distribution<double>{0.0, 1.0}(rng));
    timer.expires_after(std::min<core::millis>(plan.delay, std::chrono::seconds{10}));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled by a stop: checked below
    if (stop_requested()) co_return interrupted();
  }
}

}  // namespace

own_key_result fetch_own_key_hash(const core::base_url& base, const core::route& route, asio::ssl::context& tls,
                                  const std::string& management_key, double timeout_s, unsigned max_attempts) {
  asio::io_context io{1};
  net::connection_pool pool{io.get_executor(), tls, base,
                            core::millis{static_cast<core::millis::rep>(std::min(timeout_s, 10.0) * 1000.0)}, 1};
  pool.set_route(route);
  std::string request = make_request("GET", base.path + "/key", base, management_key);
  own_key_result result;
  // A stop cuts the request in flight or the pause between attempts (ask() then sees stop_requested()).
  const stop_deferral deferred;
  asio::cancellation_signal cut;
  stop_watch stops{io.get_executor()};
  stops.start([&](int, unsigned) { cut.emit(asio::cancellation_type::terminal); });
  asio::co_spawn(io, ask(pool, std::move(request), management_key, std::min(max_attempts, 2U)),
                 asio::bind_cancellation_slot(cut.slot(), [&](std::exception_ptr error, own_key_result r) {
                   if (!error) {
                     result = std::move(r);
                   } else {
                     // Never silent: the run goes on without this guard, and says so.
                     try {
                       std::rethrow_exception(error);
                     } catch (const std::exception& e) {
                       result.note = std::string{"could not check the management key's own hash (internal error: "} +
                                     e.what() + ")";
                     } catch (...) {
                       result.note = "could not check the management key's own hash (internal error)";
                     }
                   }
                   pool.shut_down();
                   stops.cancel();
                 }));
  io.run();
  return result;
}

}  // namespace keyrevoke::app
