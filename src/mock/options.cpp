#include "keyrevoke/mock/options.hpp"

// GCC 12 reports a "potential null pointer dereference" inside program_options' typed_value::notify
// (any_cast to a pointer, inlined into this file); the pointer is never null there.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <ostream>

namespace keyrevoke::mock {
namespace po = boost::program_options;

namespace {

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string first_line_of(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw usage_error("cannot read --key-file " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  return line;
}

void require_probability(double p, const char* name) {
  if (!(p >= 0 && p <= 1)) throw usage_error(std::string("--") + name + " must be in [0, 1]");
}

// --page-sizes "A,B,C": each 1-10000; nullopt on anything else.
std::optional<std::vector<std::size_t>> parse_page_sizes(std::string_view text) {
  std::vector<std::size_t> sizes;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    std::size_t value = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc{} || ptr != item.data() + item.size() || value < 1 || value > 10000)
      return std::nullopt;
    sizes.push_back(value);
    if (comma == std::string_view::npos) return sizes;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace

std::variant<mock_options, int> parse_options(int argc, const char* const* argv, const char* env_key,
                                              std::ostream& out, std::ostream& err) {
  mock_options o;
  std::string rate_schedule, retry_after = "seconds", advertise = "none", latency_dist_name = "fixed", key_file;
  unsigned idle_timeout_s = 60;
  std::string page_sizes;  // --page-sizes, parsed below
  po::options_description listen("Listening");
  listen.add_options()
    ("help,h", "show this help and exit")
    ("host", po::value(&o.host)->default_value(o.host), "loopback address to bind (127.0.0.1, ::1, localhost)")
    ("port", po::value(&o.port)->default_value(0), "port; 0 picks a free one")
    ("port-file", po::value(&o.port_file), "write the bound port number to this file (atomically)")
    ("threads", po::value(&o.threads)->default_value(1), "io threads (1-64)")
    ("http", po::bool_switch(&o.plain_http), "serve plain HTTP instead of HTTPS")
    ("idle-timeout", po::value(&idle_timeout_s)->default_value(60), "close a keep-alive connection idle this many seconds")
    ("max-connections", po::value(&o.max_connections)->default_value(0),
     "stop accepting while this many connections are open, like nginx's worker_connections (0: no cap)");
  po::options_description tls("TLS");
  tls.add_options()
    ("cert", po::value(&o.cert_file), "server certificate chain PEM (default: generate a throwaway CA + cert)")
    ("key", po::value(&o.tls_key_file), "server private key PEM (with --cert)")
    ("ca-out", po::value(&o.ca_out), "write the generated CA certificate PEM here (for keyrevoke --cacert)")
    ("cert-hostname", po::value(&o.cert_hostname), "generated cert's only SAN (default: localhost, 127.0.0.1, ::1)")
    ("tls-stall", po::bool_switch(&o.tls_stall), "accept TCP but never complete the TLS handshake");
  po::options_description keys("Keys");
  keys.add_options()
    ("keys", po::value(&o.keys)->default_value(o.keys), "number of generated keys")
    ("keys-file", po::value(&o.keys_file), "load key hashes from this file (one per line) instead of generating")
    ("hashes-out", po::value(&o.hashes_out), "write the store's hashes here, one per line")
    ("seed", po::value(&o.seed)->default_value(o.seed), "seed for generated keys and random faults")
    ("store-journal", po::value(&o.store_journal), "replay and append deleted hashes here (survives restarts)");
  po::options_description api("API");
  api.add_options()
    ("key-file", po::value(&key_file), "management key file (first line); else env MODELGATES_MANAGEMENT_KEY")
    ("auth-failure-status", po::value(&o.auth_failure_status)->default_value(401), "status for a bad/missing key: 401 or 403")
    ("base-path", po::value(&o.base_path)->default_value(o.base_path), "API prefix")
    ("expose-key-hash", po::bool_switch(&o.expose_key_hash),
     "GET {base}/key (auth required) answers {\"data\":{\"label\":\"management key\",\"hash\":SHA256-HEX,"
     "\"is_management_key\":true}}; without it, 404 (the API does not expose it)")
    ("management-key-listed", po::bool_switch(&o.management_key_listed),
     "the store also holds a key whose hash is sha256(management key) (name `management`, label `mgmt`), "
     "listed like the others but not in --hashes-out; once it is deleted or disabled every request gets "
     "the auth failure status (the key revoked itself)");
  po::options_description limits("Limits");
  limits.add_options()
    ("rate", po::value(&o.rate)->default_value(0), "token bucket rate, requests/s (0: unlimited)")
    ("burst", po::value(&o.burst)->default_value(0), "token bucket size (0: max(1, rate))")
    ("rate-schedule", po::value(&rate_schedule), "rates over time, \"SEC:RATE,...\" e.g. 0:1000,10:250,20:1000 (overrides --rate)")
    ("retry-after", po::value(&retry_after)->default_value(retry_after),
     "429 hint: seconds | http-date | reset-ms | none | zero (Retry-After: 0) | past (Retry-After: an "
     "HTTP-date 1 h ago) | reset-delta (X-RateLimit-Reset: seconds to wait, not epoch ms)")
    ("advertise", po::value(&advertise)->default_value(advertise),
     "the token bucket's quota on every answer: none | xratelimit (X-RateLimit-Limit/-Remaining/-Reset, reset "
     "in epoch ms) | ietf (RateLimit-Policy and RateLimit, draft-ietf-httpapi-ratelimit-headers)")
    ("max-concurrent", po::value(&o.max_concurrent)->default_value(0), "429 when more requests than this are in flight (0: no cap)");
  po::options_description faults("Faults");
  faults.add_options()
    ("p500", po::value(&o.p500)->default_value(0), "probability of a 500")
    ("preset", po::value(&o.preset)->default_value(0), "probability of a connection reset (RST, no answer)")
    ("phang", po::value(&o.phang)->default_value(0), "probability of never answering")
    ("fault-file", po::value(&o.fault_file),
     "per-hash faults: lines `<hash> <500|reset|hang|400|always500|ghost|lost> [count]`; ghost: a DELETE "
     "answers 200 {\"deleted\":true} and a PATCH 200 with the requested `disabled`, but the store is "
     "unchanged (every DELETE/PATCH of the hash, or only the first `count`; GETs do not consume it); "
     "lost: the DELETE/PATCH is applied, then answered 504 with nginx's HTML page (the first applied "
     "write of the hash, or the first `count`)")
    ("ghost-rate", po::value(&o.ghost_rate)->default_value(0),
     "probability that a DELETE/PATCH of an existing key is a ghost write (seeded by --seed)")
    ("latency-ms", po::value(&o.latency_ms)->default_value(0), "added latency before the handler (fixed, mean or median)")
    ("latency-dist", po::value(&latency_dist_name)->default_value(latency_dist_name), "fixed | exp (mean) | lognormal (median, sigma 1: p99 ~ 10x)")
    ("list-latency-ms", po::value(&o.list_latency_ms)->default_value(0),
     "extra delay before answering each GET {base}/keys page only (on top of --latency-ms)")
    ("delete-latency-ms", po::value(&o.delete_latency_ms)->default_value(0),
     "extra delay before answering each DELETE {base}/keys/{hash} only (on top of --latency-ms)")
    ("page-size", po::value(&o.page_size)->default_value(100),
     "the most keys a GET {base}/keys page returns, whatever is asked (1-10000)")
    ("page-sizes", po::value(&page_sizes),
     "A,B,C...: the size of the 1st, 2nd, 3rd... GET {base}/keys page, the last repeating (each 1-10000; "
     "instead of --page-size)")
    ("close-every", po::value(&o.close_every)->default_value(0), "send Connection: close on every K-th response of a connection (0: never)");
  std::string throttle_body_name = "api";
  std::vector<std::string> outage_texts;
  po::options_description gateway("A real deployment's front end");
  gateway.add_options()
    ("throttle-status", po::value(&o.throttle_status)->default_value(o.throttle_status),
     "status of the token bucket's refusal: 429 | 403 | 503 (a \"secondary rate limit\", a busy gateway); "
     "it carries the --retry-after hint")
    ("throttle-body", po::value(&throttle_body_name)->default_value(throttle_body_name),
     "body of the refusal: api (the API's JSON error) | html (nginx's page, text/html) | big (a ~100 KB "
     "HTML page, as a CDN sends)")
    ("outage", po::value(&outage_texts)->composing(),
     "START:DURATION[:KIND], seconds after the first API request (repeatable): during the window every "
     "API request (not /__admin/) is answered by the gateway and never reaches the store; KIND: 502 "
     "(default, nginx's HTML page) | 503 | 504 | reset (close the connection) | 429 (the throttle answer "
     "above, hinting the window's end)");
  po::options_description output("Output");
  output.add_options()
    ("stats-out", po::value(&o.stats_out), "write the stats JSON here on shutdown")
    ("quiet,q", po::bool_switch(&o.quiet), "print only the `listening on` line");
  po::options_description all("Usage: keyrevoke-mock [options]\n"
                              "A mock ModelGates key API over HTTPS on loopback. Admin (no auth): "
                              "GET /__admin/stats[?hashes=1], GET /__admin/keys");
  all.add(listen).add(tls).add(keys).add(api).add(limits).add(faults).add(output);
  all.add(gateway);

  try {
    po::variables_map vm;
    // No abbreviations: `--key` (TLS private key) must never be taken for `--key-file`, or the reverse.
    const auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc, argv).options(all).style(style).run(), vm);
    if (vm.count("help") != 0) {
      out << all << '\n';
      return 0;
    }
    po::notify(vm);

    boost::system::error_code ec;
    if (o.host == "localhost") o.host = "127.0.0.1";
    const auto address = boost::asio::ip::make_address(o.host, ec);
    if (ec || !address.is_loopback()) throw usage_error("--host must be a loopback address, got " + o.host);
    if (o.threads < 1 || o.threads > 64) throw usage_error("--threads must be 1-64");
    if (idle_timeout_s < 1) throw usage_error("--idle-timeout must be at least 1");
    o.idle_timeout = std::chrono::seconds{idle_timeout_s};
    if (o.cert_file.empty() != o.tls_key_file.empty()) throw usage_error("--cert and --key go together");
    if (!o.cert_file.empty() && (!o.ca_out.empty() || !o.cert_hostname.empty()))
      throw usage_error("--ca-out and --cert-hostname apply to the generated certificate, not --cert");
    if (!o.keys_file.empty() && !vm["keys"].defaulted()) throw usage_error("--keys and --keys-file exclude each other");
    if (o.auth_failure_status != 401 && o.auth_failure_status != 403)
      throw usage_error("--auth-failure-status must be 401 or 403");
    if (o.base_path.empty() || o.base_path.front() != '/') throw usage_error("--base-path must start with /");
    while (o.base_path.size() > 1 && o.base_path.back() == '/') o.base_path.pop_back();
    if (o.base_path == "/") o.base_path.clear();
    if (!(o.rate >= 0) || !(o.burst >= 0)) throw usage_error("--rate and --burst must be >= 0");
    if (!rate_schedule.empty()) {
      auto steps = parse_rate_schedule(rate_schedule);
      if (!steps) throw usage_error("--rate-schedule: expected SEC:RATE[,SEC:RATE...] starting at 0, e.g. 0:1000,10:250");
      o.rate_schedule = std::move(*steps);
    }
    const auto mode = parse_retry_hint_mode(retry_after);
    if (!mode) throw usage_error("--retry-after must be seconds, http-date, reset-ms, none, zero, past or reset-delta");
    o.retry_mode = *mode;
    const auto advertised = parse_advertise_mode(advertise);
    if (!advertised) throw usage_error("--advertise must be none, xratelimit or ietf");
    o.advertise = *advertised;
    require_probability(o.p500, "p500");
    require_probability(o.preset, "preset");
    require_probability(o.phang, "phang");
    if (o.p500 + o.preset + o.phang > 1) throw usage_error("--p500 + --preset + --phang must not exceed 1");
    if (!(o.latency_ms >= 0 && o.latency_ms <= 60000)) throw usage_error("--latency-ms must be in [0, 60000]");
    require_probability(o.ghost_rate, "ghost-rate");
    if (!(o.list_latency_ms >= 0 && o.list_latency_ms <= 60000))
      throw usage_error("--list-latency-ms must be in [0, 60000]");
    if (!(o.delete_latency_ms >= 0 && o.delete_latency_ms <= 60000))
      throw usage_error("--delete-latency-ms must be in [0, 60000]");
    if (o.page_size < 1 || o.page_size > 10000) throw usage_error("--page-size must be 1-10000");
    if (vm.count("page-sizes") != 0) {
      if (!vm["page-size"].defaulted()) throw usage_error("--page-size and --page-sizes exclude each other");
      auto sizes = parse_page_sizes(page_sizes);
      if (!sizes) throw usage_error("--page-sizes: expected A,B,C... each 1-10000, e.g. 50,37,100");
      o.page_sizes = std::move(*sizes);
    }
    if (o.throttle_status != 429 && o.throttle_status != 403 && o.throttle_status != 503)
      throw usage_error("--throttle-status must be 429, 403 or 503");
    const auto body = parse_throttle_body(throttle_body_name);
    if (!body) throw usage_error("--throttle-body must be api, html or big");
    o.throttle_answer = *body;
    for (const auto& text : outage_texts) {
      const auto window = parse_outage(text);
      if (!window)
        throw usage_error("--outage " + text +
                          ": expected START:DURATION[:KIND], seconds (DURATION > 0, both <= 86400), KIND "
                          "502, 503, 504, reset or 429");
      o.outages.push_back(*window);
    }
    const auto dist = parse_latency_dist(latency_dist_name);
    if (!dist) throw usage_error("--latency-dist must be fixed, exp or lognormal");
    o.dist = *dist;

    if (!key_file.empty())
      o.management_key = first_line_of(key_file);
    else if (env_key != nullptr)
      o.management_key = env_key;
    if (o.management_key.empty())
      throw usage_error("no management key: set MODELGATES_MANAGEMENT_KEY or pass --key-file FILE");
  } catch (const po::error& e) {
    err << "keyrevoke-mock: " << e.what() << "\n(see --help)\n";
    return 2;
  } catch (const usage_error& e) {
    err << "keyrevoke-mock: " << e.what() << '\n';
    return 2;
  }
  return o;
}

}  // namespace keyrevoke::mock
