#pragma once
// Listing every key (GET /keys, paged, include_disabled=true) over the same connection pool, pacing
// and retry policy as the revoker, with core::list_pager keeping the listing complete while keys are
// deleted under it. Used by `keyrevoke list` and by the revoker to resolve label globs.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "keyrevoke/app/network_route.hpp"
#include "keyrevoke/core/key_filter.hpp"
#include "keyrevoke/core/key_hash.hpp"

namespace keyrevoke::app {

struct key_lister_config {
  std::string base_url;  // already chosen (option or env)
  std::optional<std::string> cacert;
  bool allow_insecure_http = false;
  double timeout_s = 30.0;
  unsigned max_attempts = 8;
  double rate = 0.0;   // 0: no ceiling
  bool quiet = false;  // no progress/warnings on stderr
  network_options network;  // proxy, --connect-to, --resolve (app/network_route.hpp)
  // A filter was given as an age (--created-before 2h): the first page's Date is checked against this
  // machine's clock, and a skew of 5 minutes or more is warned about (core::age_clock_warning).
  bool ages_from_local_clock = false;
};

struct listed_key {
  core::key_hash hash;
  std::string name, label;  // empty when absent
  bool disabled = false;
  std::string json;  // the object as received, serialised (one line)
};

struct list_result {
  // 0 complete (proven: see core::list_pager), 1 incomplete, 2 config or an answer that is not the
  // key API's (a wrong route or shape: check --base-url), 3 key rejected (401, 403 without a
  // rate-limit hint) or TLS, 130 interrupted. Never 0 unless the listing is complete.
  int exit_code = 0;
  std::string error;  // one sentence when exit_code != 0 (the URL and what came back); never the key
  std::uint64_t pages = 0, requests = 0, throttled = 0, keys_seen = 0;
};

// Pages through every key (include_disabled=true), calling on_key once per distinct key, in list
// order. Runs its own io_context; returns when done. Stops on SIGINT, SIGTERM or SIGHUP only when
// asked (handle_signals: app/stop_signals.hpp), then also for one that came before it began (exit 130).
list_result list_keys(const key_lister_config& config, const std::string& management_key,
                      const std::function<void(const listed_key&)>& on_key, bool handle_signals);

// The same, with what `keyrevoke list` needs on top: every field the filter looks at, and a hook
// called after each page's keys were delivered (flush the output there; return false to stop the
// listing: exit_code 1, error "stopped after N pages").
using detailed_key_callback = std::function<void(const listed_key&, const core::key_fields&)>;
list_result list_keys_detailed(const key_lister_config& config, const std::string& management_key,
                               const detailed_key_callback& on_key, const std::function<bool()>& on_page_done,
                               bool handle_signals);

}  // namespace keyrevoke::app
