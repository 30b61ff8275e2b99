#include "keyrevoke/core/preflight.hpp"

#include "keyrevoke/core/key_page.hpp"

#include <algorithm>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace keyrevoke::core {

namespace {

namespace json = boost::json;

// {"data": [...]}: the API's list answer (API.md, GET {base}/keys).
bool is_key_list(std::string_view body) {
  if (body.empty() || body.size() > listing_body_limit) return false;
  json::monotonic_resource resource;
  std::error_code ec;
  const json::value doc = json::parse(body, ec, json::storage_ptr(&resource));
  if (ec) return false;
  const json::object* object = doc.if_object();
  if (object == nullptr) return false;
  const json::value* data = object->if_contains("data");
  return data != nullptr && data->is_array();
}

// A list page longer than the pool's body limit arrives cut: its start must still be the list's,
// {"data": [ (whitespace allowed between the tokens).
bool starts_like_key_list(std::string_view body) {
  std::size_t i = 0;
  const auto skip = [&] {
    while (i < body.size() && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) ++i;
  };
  const auto take = [&](std::string_view token) {
    skip();
    if (body.substr(i, token.size()) != token) return false;
    i += token.size();
    return true;
  };
  return take("{") && take("\"data\"") && take(":") && take("[");
}

std::string describe(unsigned status, std::string_view body) {
  std::string out = "HTTP " + std::to_string(status) + ": not the API's list of keys (";
  out += std::to_string(body.size());
  out += body.size() == 1 ? " byte" : " bytes";
  if (!body.empty()) {
    out += ": \"";
    append_sanitized(out, body, 60);
    out += "\"";
  }
  out += ")";
  return out;
}

}  // namespace

preflight_result classify_preflight(const response_view& response, std::chrono::system_clock::time_point now,
                                    millis retry_after_cap) {
  preflight_result r;
  if (response.status >= 200 && response.status < 300) {
    if (response.body_truncated) {
      // A page cut at listing_body_limit: its keys, the evidence a 404 is checked against, cannot be
      // read (the trial: a listing cut at 64 KiB turned off the key-route read-back and every check
      // built on it, and a wrong key route had every key claimed gone). The API's pages are far smaller.
      r.kind = preflight_kind::not_api;
      r.message = "HTTP " + std::to_string(response.status) + ": a page of GET /keys too large to read whole (" +
                  std::string{starts_like_key_list(response.body) ? "it starts like the API's list" : "not the API's list"} +
                  "; its pages hold 100 keys)";
      return r;
    }
    if (is_key_list(response.body)) {
      r.kind = preflight_kind::ok;
      {
        if (const auto page = parse_key_page(response.body)) {
          if (!page->entries.empty() && page->unusable == page->entries.size()) {
            // Items, and not one with a key's "hash": not the API's list (as `keyrevoke list` says).
            r.kind = preflight_kind::not_api;
            std::string first;
            append_sanitized(first, page->json.front(), 60);
            r.message = "HTTP " + std::to_string(response.status) + ": a page of " +
                        std::to_string(page->entries.size()) +
                        " items, none with a 64-hex-digit \"hash\" (first: " + first + "): not the API's list of keys";
            return r;
          }
          for (const list_entry& e : page->entries) {
            if (e.usable) r.listed.push_back(e.hash);
          }
        }
      }
    } else {
      r.kind = preflight_kind::not_api;
      r.message = describe(response.status, response.body);
    }
    return r;
  }
  const verdict v = classify_response(response, now, retry_after_cap, request_kind::get);
  r.message = v.message.empty() ? describe(response.status, response.body) : v.message;
  r.retry_after = v.retry_after;
  r.gateway_page = v.gateway_page;
  switch (v.kind) {
    case verdict_kind::throttled: r.kind = preflight_kind::throttled; break;
    case verdict_kind::unauthorized: r.kind = preflight_kind::rejected; break;
    case verdict_kind::server_error:
      // A 5xx is the server failing; a "server_error" for a 2xx cannot happen here (handled above).
      r.kind = preflight_kind::failing;
      break;
    default:
      // 404 (even with the API's error shape: the API has this route), 3xx, other 4xx, not_api.
      r.kind = preflight_kind::not_api;
      if (v.kind == verdict_kind::not_found || v.message.empty()) r.message = describe(response.status, response.body);
      break;
  }
  return r;
}

preflight_result check_key_route(const verdict& key_read, std::string_view route) {
  preflight_result r;
  r.retry_after = key_read.retry_after;
  r.gateway_page = key_read.gateway_page;
  switch (key_read.kind) {
    case verdict_kind::present: r.kind = preflight_kind::ok; return r;
    case verdict_kind::not_found:
      r.kind = preflight_kind::contradicted;
      r.message = "GET " + std::string{route} +
                  " answered the API's 404 for a key the listing (GET /keys) had just shown: the key route "
                  "does not reach the same API (a gateway sending /keys/{hash} elsewhere? another "
                  "environment?), or the key was deleted in between; nothing was sent";
      return r;
    case verdict_kind::throttled: r.kind = preflight_kind::throttled; break;
    case verdict_kind::server_error:
      // A 5xx is the server failing: asked again. A 2xx that does not show the asked-for key is an
      // answer, and not the API's.
      r.kind = key_read.http_status >= 200 && key_read.http_status < 300 ? preflight_kind::not_api
                                                                          : preflight_kind::failing;
      break;
    case verdict_kind::network_error:
    case verdict_kind::timeout:
      r.kind = preflight_kind::unreachable;
      r.timed_out = key_read.kind == verdict_kind::timeout;
      r.unrequested_answer = key_read.unrequested_answer;
      break;
    case verdict_kind::unauthorized: r.kind = preflight_kind::rejected; break;
    case verdict_kind::tls_error: r.kind = preflight_kind::tls; break;
    default: r.kind = preflight_kind::not_api; break;
  }
  r.message = "(its key route, GET " + std::string{route} + ") " + key_read.message;
  return r;
}

std::vector<key_hash> route_check_order(const std::vector<key_hash>& listed) {
  std::vector<key_hash> order;
  if (listed.empty()) return order;
  for (const std::size_t i : {std::size_t{0}, listed.size() / 2, listed.size() - 1}) {
    if (std::find(order.begin(), order.end(), listed[i]) == order.end()) order.push_back(listed[i]);
  }
  return order;
}

preflight_result preflight_from_failure(const verdict& failure) {
  preflight_result r;
  r.message = failure.message;
  r.unrequested_answer = failure.unrequested_answer;
  switch (failure.kind) {
    case verdict_kind::tls_error: r.kind = preflight_kind::tls; break;
    case verdict_kind::server_error: r.kind = preflight_kind::failing; break;  // e.g. a body over the limit
    default:
      r.kind = preflight_kind::unreachable;
      r.timed_out = failure.kind == verdict_kind::timeout;
      break;
  }
  return r;
}

}  // namespace keyrevoke::core
