#include "keyrevoke/mock/stats.hpp"

#include <boost/json.hpp>

#include "keyrevoke/mock/key_store.hpp"

namespace keyrevoke::mock {

namespace json = boost::json;

std::string_view method_name(http_method m) noexcept {
  switch (m) {
    case http_method::get: return "GET";
    case http_method::head: return "HEAD";
    case http_method::post: return "POST";
    case http_method::put: return "PUT";
    case http_method::patch: return "PATCH";
    case http_method::delete_: return "DELETE";
    case http_method::other: return "OTHER";
  }
  return "OTHER";
}

void request_tally::count(http_method m, bool has_body, std::string_view content_type) {
  auto& s = slots_[static_cast<std::size_t>(m)];
  s.requests.fetch_add(1, std::memory_order_relaxed);
  if (has_body) s.with_body.fetch_add(1, std::memory_order_relaxed);
  if (content_type.empty()) return;
  content_type = content_type.substr(0, content_type_max_size);
  std::lock_guard lock(mutex_);
  for (auto& [value, n] : s.content_types) {
    if (value == content_type) {
      ++n;
      return;
    }
  }
  if (s.content_types.size() + 1 < content_type_limit) {
    s.content_types.emplace_back(content_type, 1);
    return;
  }
  constexpr std::string_view other = "(other)";
  if (s.content_types.size() + 1 == content_type_limit) s.content_types.emplace_back(other, 0);
  ++s.content_types.back().second;
}

request_tally::method_counts request_tally::counts(http_method m) const {
  const auto& s = slots_[static_cast<std::size_t>(m)];
  method_counts out;
  out.requests = s.requests.load(std::memory_order_relaxed);
  out.with_body = s.with_body.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  out.content_types = s.content_types;
  return out;
}

json::object stats_to_json(const stats& s, const key_store& store, std::chrono::nanoseconds uptime,
                           bool include_hashes) {
  const auto get = [](const stats::counter& c) { return c.load(std::memory_order_relaxed); };
  json::object o;
  o["uptime_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(uptime).count();
  o["requests_total"] = get(s.requests_total);
  o["api_requests"] = get(s.api_requests);
  o["admin_requests"] = get(s.admin_requests);
  o["bad_http"] = get(s.bad_http);
  json::object by_status;
  for (std::size_t code = 0; code < s.by_status.size(); ++code)
    if (const auto n = get(s.by_status[code]); n != 0) by_status[std::to_string(code)] = n;
  o["status_counts"] = std::move(by_status);
  o["too_many_requests"] = get(s.by_status[429]);
  o["rate_limited"] = get(s.rate_limited);
  o["concurrency_limited"] = get(s.concurrency_limited);
  o["auth_failures"] = get(s.auth_failures);
  o["faults_500"] = get(s.faults_500);
  o["faults_400"] = get(s.faults_400);
  o["resets"] = get(s.resets);
  o["hangs"] = get(s.hangs);
  o["delayed"] = get(s.delayed);
  o["closes_requested"] = get(s.closes_requested);
  o["in_flight"] = get(s.in_flight);
  o["in_flight_max"] = get(s.in_flight_max);
  o["connections_open"] = get(s.connections_open);
  o["connections_open_max"] = get(s.connections_open_max);
  o["accept_paused"] = get(s.accept_paused);
  o["connections_accepted"] = get(s.connections_accepted);
  o["admin_connections"] = get(s.admin_connections);
  o["tls_handshakes"] = get(s.tls_handshakes);
  o["tls_handshake_failures"] = get(s.tls_handshake_failures);
  o["tls_sessions_resumed"] = get(s.tls_sessions_resumed);
  const auto t = store.totals();
  o["keys"] = json::object{{"total", t.total}, {"remaining", t.remaining}, {"deleted", t.deleted},
                           {"disabled", t.disabled}};
  o["hashes_requested_more_than_once"] = store.hashes_requested_more_than_once();
  o["not_found_after_delete"] = store.not_found_after_delete();
  o["unknown_hash_deletes"] = store.unknown_hash_deletes();
  o["patch_requests"] = store.patch_requests();
  o["patched_more_than_once"] = store.patched_more_than_once();
  o["get_key_requests"] = store.get_key_requests();
  o["list_requests"] = get(s.list_requests);
  o["ghost_writes"] = get(s.ghost_writes);
  o["management_key_listed"] = store.management_key_listed();
  o["management_key_revoked"] = store.management_key_revoked();
  json::object by_method;
  for (std::size_t m = 0; m < http_method_count; ++m) {
    const auto method = static_cast<http_method>(m);
    const auto c = s.by_method.counts(method);
    if (c.requests == 0) continue;
    json::object types;
    for (const auto& [value, n] : c.content_types) types[value] = n;
    by_method[method_name(method)] = json::object{
        {"requests", c.requests}, {"with_body", c.with_body}, {"content_types", std::move(types)}};
  }
  o["requests_by_method"] = std::move(by_method);
  o["route_not_found"] = get(s.route_not_found);
  o["outage_answers"] = get(s.outage_answers);
  o["lost_answers"] = get(s.lost_answers);
  if (include_hashes) {
    json::array hashes;
    for (const auto& h : store.repeated_hashes()) {
      hashes.push_back(json::object{{"hash", core::to_hex(h.hash)},
                                    {"known", h.known},
                                    {"deleted", h.deleted},
                                    {"delete_requests", h.delete_requests},
                                    {"deletes_ok", h.deletes_ok},
                                    {"not_found_after_delete", h.not_found_after_delete},
                                    {"patch_requests", h.patch_requests},
                                    {"get_requests", h.get_requests}});
    }
    o["repeated_hashes"] = std::move(hashes);
  }
  return o;
}

std::string stats_to_string(const stats& s, const key_store& store, std::chrono::nanoseconds uptime,
                            bool include_hashes) {
  return json::serialize(stats_to_json(s, store, uptime, include_hashes));
}

}  // namespace keyrevoke::mock
