// Over 400 lines on purpose: the mock's pure request handling (admission, routes, faults, gateway answers)
// is one table of routes; its parts are small functions.
#include "keyrevoke/mock/service.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace keyrevoke::mock {
namespace json = boost::json;

namespace {

constexpr std::string_view deleted_body = R"({"deleted":true})";
constexpr std::string_view key_methods = "GET, PATCH, DELETE";

bool is_lower_hex64(std::string_view s) noexcept {
  if (s.size() != core::key_hash_hex_size) return false;
  for (const char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The value of `name` in a query string ("a=1&b=2"), if present.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
  }
  return std::nullopt;
}

// A key object, written by hand: fixed field order, plain decimals ("limit":10, "usage":12.34).
void write_key_json(std::string& out, const key_view& k) {
  char hex[core::key_hash_hex_size];
  core::write_hex(k.hash, hex);
  out.append(R"({"hash":")").append(hex, sizeof hex);
  out.append(R"(","name":")").append(k.name);  // names and labels are generated ASCII: no escaping
  out.append(R"(","label":")").append(k.label);
  out.append(R"(","disabled":)").append(k.disabled ? "true" : "false");
  char number[40];
  if (k.limit)
    std::snprintf(number, sizeof number, "%.15g", *k.limit);
  else
    std::snprintf(number, sizeof number, "null");
  out.append(R"(,"limit":)").append(number);
  std::snprintf(number, sizeof number, "%.2f", k.usage);
  out.append(R"(,"usage":)").append(number);
  out.append(R"(,"created_at":")").append(format_iso8601(k.created_at)).append("\"");
  out.append(R"(,"updated_at":)");
  if (k.updated_at)
    out.append("\"").append(format_iso8601(*k.updated_at)).append("\"");
  else
    out.append("null");
  out.append("}");
}

void write_json(std::string& out, const json::value& v) {
  json::serializer sr;
  sr.reset(&v);
  char buf[4096];
  while (!sr.done()) out.append(sr.read(buf));
}

}  // namespace

core::key_hash management_key_hash(std::string_view management_key) {
  core::key_hash digest{};
  unsigned int size = 0;
  if (EVP_Digest(management_key.data(), management_key.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size())
    throw std::runtime_error("EVP_Digest(SHA-256) failed");
  return digest;
}

void write_error_body(std::string& out, unsigned code, std::string_view message) {
  char code_text[8];
  const auto [end, ec] = std::to_chars(code_text, code_text + sizeof code_text, code);
  (void)ec;
  out.append(R"({"error":{"code":)");
  out.append(code_text, end);
  out.append(R"(,"message":")");
  out.append(message);  // our own fixed messages: nothing to escape
  out.append(R"(","metadata":null},"modelgates_metadata":null,"user_id":null})");
}

route parse_route(std::string_view target, std::string_view base_path) {
  route r;
  const auto qmark = target.find('?');
  auto path = target.substr(0, qmark);
  r.query = qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);
  if (path == "/__admin/stats") {
    r.kind = route_kind::admin_stats;
    return r;
  }
  if (path == "/__admin/keys") {
    r.kind = route_kind::admin_keys;
    return r;
  }
  if (!path.starts_with(base_path) || (path.size() > base_path.size() && path[base_path.size()] != '/')) {
    r.kind = route_kind::outside_base;  // "/v1/keys/..." or "/api/v1x" with the base "/api/v1"
    return r;
  }
  path.remove_prefix(base_path.size());
  if (path == "/key") {
    r.kind = route_kind::current_key;
    return r;
  }
  if (path == "/keys" || path == "/keys/") {
    r.kind = path == "/keys" ? route_kind::keys : route_kind::key;  // "/keys/": an empty {hash}
    return r;
  }
  if (!path.starts_with("/keys/")) return r;
  path.remove_prefix(6);
  if (path.find('/') != std::string_view::npos) return r;
  r.kind = route_kind::key;
  if (is_lower_hex64(path)) {
    r.hash = *core::parse_key_hash(path);
    r.hash_ok = true;
  }
  return r;
}

service::service(service_config config, key_store& store, stats& counters, fault_plan& faults)
    : config_(std::move(config)),
      store_(store),
      stats_(counters),
      faults_(faults),
      expected_authorization_("Bearer " + config_.management_key),
      management_key_hash_hex_(core::to_hex(management_key_hash(config_.management_key))),
      bucket_(config_.rate, config_.burst > 0 ? config_.burst : std::max(1.0, config_.rate),
              config_.rate_schedule) {}

bool service::authorized(std::string_view authorization) const noexcept {
  if (authorization.size() != expected_authorization_.size()) return false;
  unsigned diff = 0;  // constant time over the key's length
  for (std::size_t i = 0; i < authorization.size(); ++i)
    diff |= static_cast<unsigned>(static_cast<unsigned char>(authorization[i]) ^
                                  static_cast<unsigned char>(expected_authorization_[i]));
  return diff == 0;
}

admission service::admit(const api_request& request, const clock_reading& now, std::uint64_t in_flight,
                         reply& out) {
  admission a;
  a.where = parse_route(request.target, config_.base_path);

  // Admin: no auth, no limits, no faults (loopback only, for tests and benchmarks).
  if (a.where.kind == route_kind::admin_stats || a.where.kind == route_kind::admin_keys) {
    stats_.admin_requests.fetch_add(1, std::memory_order_relaxed);
    handle_admin(a.where, now, out);
    return a;
  }
  stats_.api_requests.fetch_add(1, std::memory_order_relaxed);
  stats_.by_method.count(request.method, request.has_body, request.content_type);

  // A path outside the API: the web server in front answers it, as nginx does, before any API rule.
  if (a.where.kind == route_kind::outside_base) {
    route_not_found(out);
    return a;
  }
  // An outage window: the gateway answers, the API behind it never sees the request.
  const mock_duration since_first = since_first_api_request(now.since_start);
  if (!config_.outages.empty()) {
    if (const auto hit = outage_at(config_.outages, since_first)) {
      stats_.outage_answers.fetch_add(1, std::memory_order_relaxed);
      switch (hit->kind) {
        case outage_kind::bad_gateway: out.status = 502; break;
        case outage_kind::unavailable: out.status = 503; break;
        case outage_kind::gateway_timeout: out.status = 504; break;
        case outage_kind::reset: a.step = next_step::reset; return a;
        case outage_kind::throttle: throttle(out, hit->remaining, now); return a;
      }
      out.content_type = html_content_type;
      write_html_page(out.body, out.status);
      return a;
    }
  }

  // 1. Auth. A listed management key that was deleted or disabled revoked itself.
  if (!authorized(request.authorization) || store_.management_key_revoked()) {
    stats_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    out.status = config_.auth_failure_status;
    write_error_body(out.body, out.status, "Invalid management key");
    return a;
  }
  // 2. Concurrency cap.
  if (config_.max_concurrent > 0 && in_flight > config_.max_concurrent) {
    stats_.concurrency_limited.fetch_add(1, std::memory_order_relaxed);
    out.status = 429;
    write_error_body(out.body, 429, "Rate limit exceeded");
    return a;  // no hint: the cap frees up when answers go out, not on a schedule
  }
  // 3. Token bucket.
  if (!bucket_.unlimited()) {
    token_bucket::verdict v;
    token_bucket::state left;
    {
      std::lock_guard lock(bucket_mutex_);
      v = bucket_.try_take(now.since_start);
      if (config_.advertise != advertise_mode::none) left = bucket_.state_at(now.since_start);
    }
    // The answer, whatever it turns out to be (a 200, a 404, a 429, a fault), tells the quota.
    describe_bucket(config_.advertise, left, bucket_.rate_at(now.since_start), now.wall, out.quota);
    if (!v.ok) {
      stats_.rate_limited.fetch_add(1, std::memory_order_relaxed);
      throttle(out, v.wait, now);
      return a;
    }
  }
  // 4. Faults, 5. latency.
  if (faults_.active()) {
    const auto d = faults_.decide(a.where.hash_ok ? &a.where.hash : nullptr);
    a.delay = d.latency;
    if (d.latency.count() > 0) stats_.delayed.fetch_add(1, std::memory_order_relaxed);
    switch (d.kind) {
      case fault::none: break;
      case fault::status_500:
        stats_.faults_500.fetch_add(1, std::memory_order_relaxed);
        out.status = 500;
        write_error_body(out.body, 500, "Internal server error");
        return a;
      case fault::status_400:
        stats_.faults_400.fetch_add(1, std::memory_order_relaxed);
        out.status = 400;
        write_error_body(out.body, 400, "Bad request");
        return a;
      case fault::reset:
        stats_.resets.fetch_add(1, std::memory_order_relaxed);
        a.step = next_step::reset;
        return a;
      case fault::hang:
        stats_.hangs.fetch_add(1, std::memory_order_relaxed);
        a.step = next_step::hang;
        return a;
      case fault::ghost:
      case fault::lost: break;  // decided by the handler (take_ghost, take_lost), never here
    }
  }
  // 6. Slow list pages.
  if (config_.list_latency.count() > 0 && a.where.kind == route_kind::keys && request.method == http_method::get) {
    if (a.delay.count() == 0) stats_.delayed.fetch_add(1, std::memory_order_relaxed);
    a.delay += config_.list_latency;
  }
  // 7. Slow DELETEs of one key.
  if (config_.delete_latency.count() > 0 && a.where.kind == route_kind::key && request.method == http_method::delete_) {
    if (a.delay.count() == 0) stats_.delayed.fetch_add(1, std::memory_order_relaxed);
    a.delay += config_.delete_latency;
  }
  a.step = next_step::proceed;
  return a;
}

void service::execute(const api_request& request, const admission& admitted, const clock_reading& now,
                      reply& out) {
  switch (admitted.where.kind) {
    case route_kind::keys: handle_keys(request, admitted.where, out); return;
    case route_kind::key: handle_key(request, admitted.where, now, out); return;
    case route_kind::current_key:
      if (config_.expose_key_hash) {
        handle_current_key(request, out);
        return;
      }
      break;  // the API does not expose it: an unknown route
    case route_kind::admin_stats:
    case route_kind::admin_keys: handle_admin(admitted.where, now, out); return;
    case route_kind::unknown:
    case route_kind::outside_base: break;
  }
  route_not_found(out);
}

void service::route_not_found(reply& out) {
  stats_.route_not_found.fetch_add(1, std::memory_order_relaxed);
  out.status = 404;
  out.content_type = html_content_type;
  write_html_page(out.body, 404);
}

void service::throttle(reply& out, mock_duration wait, const clock_reading& now) const {
  out.status = config_.throttle_status;
  switch (config_.throttle_answer) {
    case throttle_body::api: write_error_body(out.body, out.status, "Rate limit exceeded"); break;
    case throttle_body::html:
      out.content_type = html_content_type;
      write_html_page(out.body, out.status);
      break;
    case throttle_body::big:
      out.content_type = html_content_type;
      write_big_html_page(out.body, out.status);
      break;
  }
  if (auto hint = make_retry_hint(config_.retry_mode, wait, now.wall)) {
    out.hint_header = hint->header;
    out.hint_value = std::move(hint->value);
  }
}

mock_duration service::since_first_api_request(mock_duration since_start) noexcept {
  auto first = first_api_request_.load(std::memory_order_relaxed);
  if (first < 0 &&
      first_api_request_.compare_exchange_strong(first, since_start.count(), std::memory_order_relaxed))
    first = since_start.count();
  // Another io thread may have read its clock a little earlier and stored a later instant.
  return std::max(mock_duration{0}, since_start - mock_duration{first});
}

void service::handle_keys(const api_request& request, const route& where, reply& out) {
  if (request.method != http_method::get) {
    out.status = 405;
    out.allow = "GET";
    write_error_body(out.body, 405, "Method not allowed");
    return;
  }
  std::size_t offset = 0;
  if (const auto text = query_param(where.query, "offset"); text && !text->empty()) {
    const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), offset);
    if (ec != std::errc{} || ptr != text->data() + text->size()) {
      out.status = 400;
      write_error_body(out.body, 400, "Invalid offset");
      return;
    }
  }
  const auto include = query_param(where.query, "include_disabled");
  const bool include_disabled = include && (*include == "true" || *include == "1");
  // The page size is the server's (../shared/API.md): --page-size, or the n-th of --page-sizes.
  const std::uint64_t n = stats_.list_requests.fetch_add(1, std::memory_order_relaxed);
  const std::size_t limit = config_.page_sizes.empty()
                                ? config_.page_size
                                : config_.page_sizes[std::min<std::uint64_t>(n, config_.page_sizes.size() - 1)];
  out.body.append(R"({"data":[)");
  bool first = true;
  for (const auto& k : store_.list(offset, include_disabled, limit)) {
    if (!first) out.body.push_back(',');
    first = false;
    write_key_json(out.body, k);
  }
  out.body.append("]}");
}

void service::handle_key(const api_request& request, const route& where, const clock_reading& now,
                         reply& out) {
  if (request.method != http_method::get && request.method != http_method::delete_ &&
      request.method != http_method::patch) {
    out.status = 405;
    out.allow = key_methods;
    write_error_body(out.body, 405, "Method not allowed");
    return;
  }
  if (!where.hash_ok) {
    out.status = 400;
    write_error_body(out.body, 400, "Invalid key hash: expected 64 lower-case hex digits");
    return;
  }
  switch (request.method) {
    case http_method::delete_: {
      const bool ghost = faults_.ghosts_active() && faults_.take_ghost(where.hash);
      if (ghost ? store_.ghost_erase(where.hash) : (store_.erase(where.hash) == erase_result::deleted)) {
        if (ghost) stats_.ghost_writes.fetch_add(1, std::memory_order_relaxed);
        if (!ghost && lose_answer(where.hash, out)) return;
        out.body.append(deleted_body);
      } else {
        out.status = 404;
        write_error_body(out.body, 404, "Key not found");
      }
      return;
    }
    case http_method::get:
      if (const auto k = store_.get_counted(where.hash)) {
        out.body.append(R"({"data":)");
        write_key_json(out.body, *k);
        out.body.push_back('}');
      } else {
        out.status = 404;
        write_error_body(out.body, 404, "Key not found");
      }
      return;
    default: break;  // PATCH
  }
  json::error_code ec;
  const auto body = json::parse(request.body, ec);
  const auto* obj = ec ? nullptr : body.if_object();
  const auto* disabled = obj != nullptr ? obj->if_contains("disabled") : nullptr;
  if (disabled == nullptr || !disabled->is_bool()) {
    out.status = 400;
    write_error_body(out.body, 400, "Invalid request body: expected {\\\"disabled\\\": true|false}");
    return;
  }
  const auto when = unix_seconds{std::chrono::floor<std::chrono::seconds>(now.wall).time_since_epoch()};
  const bool ghost = faults_.ghosts_active() && faults_.take_ghost(where.hash);
  const auto k = ghost ? store_.ghost_set_disabled(where.hash, disabled->get_bool(), when)
                       : store_.set_disabled(where.hash, disabled->get_bool(), when);
  if (k) {
    if (ghost) stats_.ghost_writes.fetch_add(1, std::memory_order_relaxed);
    if (!ghost && lose_answer(where.hash, out)) return;
    out.body.append(R"({"data":)");
    write_key_json(out.body, *k);
    out.body.push_back('}');
  } else {
    out.status = 404;
    write_error_body(out.body, 404, "Key not found");
  }
}

bool service::lose_answer(const core::key_hash& hash, reply& out) {
  if (!faults_.losts_active() || !faults_.take_lost(hash)) return false;
  stats_.lost_answers.fetch_add(1, std::memory_order_relaxed);
  out.status = 504;
  out.content_type = html_content_type;
  write_html_page(out.body, 504);
  return true;
}

void service::handle_current_key(const api_request& request, reply& out) {
  if (request.method != http_method::get) {
    out.status = 405;
    out.allow = "GET";
    write_error_body(out.body, 405, "Method not allowed");
    return;
  }
  out.body.append(R"({"data":{"label":"management key","hash":")");
  out.body.append(management_key_hash_hex_);
  out.body.append(R"(","is_management_key":true}})");
}

void service::handle_admin(const route& where, const clock_reading& now, reply& out) {
  if (where.kind == route_kind::admin_keys) {
    const auto t = store_.totals();
    write_json(out.body, json::object{{"remaining", t.remaining}, {"deleted", t.deleted},
                                      {"disabled", t.disabled}, {"total", t.total}});
    return;
  }
  const auto h = query_param(where.query, "hashes");
  const bool include_hashes = h && (*h == "1" || *h == "true");
  auto doc = stats_to_json(stats_, store_, now.since_start, include_hashes);
  // When the first API request came (ms since the mock started; null before it): --outage's zero.
  const auto first = first_api_request_.load(std::memory_order_relaxed);
  if (first < 0)
    doc["first_api_request_ms"] = nullptr;
  else
    doc["first_api_request_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(mock_duration{first}).count();
  write_json(out.body, doc);
}

}  // namespace keyrevoke::mock
