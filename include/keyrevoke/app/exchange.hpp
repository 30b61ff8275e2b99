#pragma once
// What the pool's three clients (the revoker, the key lister, the own-key check) share: one request's
// bytes, and one exchange's verdict.

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/clock.hpp"
#include "keyrevoke/core/rate_controller.hpp"
#include "keyrevoke/core/ratelimit_fields.hpp"
#include "keyrevoke/core/verdict.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace keyrevoke::net {
struct exchange_result;
struct http_answer;
}

namespace keyrevoke::app {

// --base-url checked: parsed (a value that looks like a key is never echoed), and https unless
// allow_insecure_http (the key would cross the network in clear text). The error is a sentence.
std::variant<core::base_url, std::string> checked_base_url(const std::string& url, bool allow_insecure_http);

// "METHOD target HTTP/1.1" with Host, Authorization, User-Agent, Accept and keep-alive; with a body,
// its JSON Content-Type and Content-Length, and the body.
std::string make_request(std::string_view method, std::string_view target, const core::base_url& base,
                         std::string_view management_key, std::string_view json_body = {});

// The pure classifiers' view of an answer (it refers into `answer`).
core::response_view response_view_of(const net::http_answer& answer);
// The quota fields of an answer, for core::read_quota (views into `answer`).
core::ratelimit_fields ratelimit_fields_of(const net::http_answer& answer);

// One exchange's verdict: the answer classified as `request`'s, or the transport failure. asked_key:
// the {hash} of a PATCH or GET of /keys/{hash} (its answer must name that key).
core::verdict classify_exchange(const net::exchange_result& result, core::millis retry_after_cap,
                                core::request_kind request, const std::optional<core::key_hash>& asked_key = std::nullopt);

}  // namespace keyrevoke::app
