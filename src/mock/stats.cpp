#include "keyrevoke/mock/stats.hpp"

#include <boost/json.hpp>

#include "keyrevoke/mock/key_store.hpp"

namespace keyrevoke::mock {

namespace json = boost::json;

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
