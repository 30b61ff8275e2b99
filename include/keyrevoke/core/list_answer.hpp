#pragma once
// One answer to GET {base}/keys?offset=N judged before its body is trusted: is it the key API's
// answer at all? (../shared/API.md: every error body is {"error": {"code": <the HTTP status>,
// "message": ...}}; an answer without this shape did not come from the key API: a wrong route, a
// gateway, a CDN page.) Pure; never throws on any input.

#include <cstddef>
#include <string>
#include <string_view>

namespace keyrevoke::core {

enum class list_answer_kind {
  page,          // 2xx whose body is {"data": [...]}: hand it to the pager
  not_the_api,   // a 2xx that is not a key list; a 3xx; a 404/405/410 (the list has no "not found");
                 // any other 4xx without the API's error shape: the listing ends (exit 2, check --base-url)
  key_rejected,  // 401, or 403 without a rate-limit hint: the management key (exit 3)
  classify,      // 429, 403 with a hint, 408, 5xx (whatever the body), an API-shaped other 4xx, other
                 // statuses: the classifier and the retry policy decide
};

// rate_limit_hint: the answer carried Retry-After, retry-after-ms or X-RateLimit-Reset.
// key_list: the body parsed as {"data": [...]} (core::parse_key_page).
list_answer_kind judge_list_answer(unsigned status, bool key_list, std::string_view body,
                                   bool rate_limit_hint);

// True when body is the API's error shape for this status: a JSON object whose "error" is an object
// with a numeric "code" equal to status. Bodies over max_inspected_body are never parsed (false).
bool is_api_error_body(unsigned status, std::string_view body);

// "HTTP 404, text/html, 1234 bytes: \"<h1>Not Found</h1>…\"" for an error message: the status, the
// content type when known (non-empty), the size, and at most snippet_bytes of the body sanitised
// (core::append_sanitized: one printable line, valid UTF-8).
std::string describe_answer(unsigned status, std::string_view content_type, std::string_view body,
                            std::size_t snippet_bytes = 80);

}  // namespace keyrevoke::core
