#include "keyrevoke/core/list_answer.hpp"

#include <boost/json.hpp>

#include "keyrevoke/core/verdict.hpp"

namespace keyrevoke::core {

namespace json = boost::json;

bool is_api_error_body(unsigned status, std::string_view body) {
  if (body.empty() || body.size() > max_inspected_body) return false;
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec) return false;
  const json::object* object = parsed.if_object();
  if (object == nullptr) return false;
  const json::value* error = object->if_contains("error");
  if (error == nullptr || !error->is_object()) return false;
  const json::value* code = error->get_object().if_contains("code");
  if (code == nullptr) return false;
  if (code->is_int64()) return code->get_int64() == static_cast<std::int64_t>(status);
  if (code->is_uint64()) return code->get_uint64() == status;
  return false;
}

list_answer_kind judge_list_answer(unsigned status, bool key_list, std::string_view body,
                                   bool rate_limit_hint) {
  if (status >= 200 && status < 300) return key_list ? list_answer_kind::page : list_answer_kind::not_the_api;
  if (status == 401) return list_answer_kind::key_rejected;
  if (status == 403) return rate_limit_hint ? list_answer_kind::classify : list_answer_kind::key_rejected;
  if (status == 429 || status == 408 || status >= 500) return list_answer_kind::classify;
  // GET /keys has no "not found": a 404 (or 405, 410), API-shaped or not, is a route that is not
  // the key list. A redirect is never followed: the base URL is not the API's.
  if (status >= 300 && status < 400) return list_answer_kind::not_the_api;
  if (status == 404 || status == 405 || status == 410) return list_answer_kind::not_the_api;
  if (status >= 400 && status < 500 && !is_api_error_body(status, body)) return list_answer_kind::not_the_api;
  return list_answer_kind::classify;
}

std::string describe_answer(unsigned status, std::string_view content_type, std::string_view body,
                            std::size_t snippet_bytes) {
  std::string out = "HTTP " + std::to_string(status);
  if (!content_type.empty()) {
    out += ", ";
    append_sanitized(out, content_type, 60);
  }
  out += ", " + std::to_string(body.size()) + (body.size() == 1 ? " byte" : " bytes");
  if (!body.empty()) {
    out += ": \"";
    append_sanitized(out, body.substr(0, snippet_bytes * 4), snippet_bytes);
    out += "\"";
  }
  return out;
}

}  // namespace keyrevoke::core
