#pragma once
// JSON Lines report rows, hand-encoded: one append into the caller's buffer, always valid JSON
// (quotes, backslashes and control characters escaped, invalid UTF-8 replaced with U+FFFD).
// Every row ends with "at": when it was written, RFC 3339 UTC with milliseconds (utc_stamp), or null
// when the caller gave none.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/outcome.hpp"
#include "keyrevoke/core/verification.hpp"

namespace keyrevoke::core {

struct hash_row {
  key_hash hash;
  outcome result;
  unsigned http_status;    // 0 => null
  unsigned attempts;
  double elapsed_ms;       // written with one decimal; NaN/inf/|x| >= 1e15 => null
  std::string_view error;  // empty => null
  std::string_view at{};   // "2026-11-27T21:10:14.123Z"; empty => null
};
// {"hash":"<64 hex>","outcome":"deleted","http_status":200,"attempts":1,"elapsed_ms":12.4,"error":null,"at":...}\n
void append_row(std::string& out, const hash_row& row);

struct invalid_row {
  std::uint64_t line;
  std::string_view file;           // empty => null
  std::string_view input_preview;  // from redact_preview
  std::string_view error;
  std::string_view at{};  // empty => null
};
// {"hash":null,"outcome":"invalid","line":17,"file":"leak.txt","input":"sk-mg-…(73 chars)","error":"not a 64-hex-digit hash","at":...}\n
void append_row(std::string& out, const invalid_row& row);

// --verify's proof, one per acted-on hash. Its state is "proof", not "outcome": a proof that failed is
// not an action that failed, and `select(.outcome=="failed")` must count only the latter. (Older
// reports, whose rows have no "at", wrote it as "outcome"; report_reader and `keyrevoke report` read both.)
// {"type":"verify","hash":"<64 hex>","proof":"verified","observed":"gone","http_status":404,"attempts":1,"elapsed_ms":3.1,"error":null,"at":...}\n
struct verify_row {
  key_hash hash;
  verify_outcome result;
  observed_state seen;     // unknown => null
  unsigned http_status;    // 0 => null
  unsigned attempts;
  double elapsed_ms;
  std::string_view error;  // empty => null
  std::string_view at{};   // empty => null
};
void append_row(std::string& out, const verify_row& row);

// The audit header, first row of every run (a resumed run appends its own). Never the key.
struct input_fingerprint {
  std::string_view name;    // the path as given, "-" for stdin
  std::string_view sha256;  // hex of the file's bytes; empty => null (stdin, pipes)
};
struct header_row {
  std::string_view version;
  std::string_view started_at;     // ISO 8601 UTC
  std::string_view operator_name;  // $USER, $LOGNAME, the uid's account name or "uid N"; empty => null
  std::string_view action;         // "delete", "disable", "enable"
  std::string_view host;           // the base URL's host[:port]
  std::string_view base_url;       // the whole base URL (base_url::canonical)
  std::span<const input_fingerprint> inputs;
  std::string_view plan_digest;    // --confirm's digest; empty => null
  std::string_view shard;          // "K/N"; empty => null
  std::string_view protect;        // the --protect file; empty => null
  unsigned concurrency;
  double rate;                     // 0 => null (no ceiling)
  unsigned max_attempts;
  double timeout_s;
  bool verify;
  bool resume;
  std::uint64_t pid;
  std::string_view at{};           // empty => null
};
// {"type":"header","tool":"keyrevoke","version":...,"started_at":...,"operator":...,"action":...,"host":...,
//  "base_url":...,"inputs":[{"name":...,"sha256":...}],"plan_digest":...,"shard":...,"protect":...,"options":{...},"pid":...}\n
void append_row(std::string& out, const header_row& row);

// The run's last row: {"type":"summary","finished_at":...,"exit_code":1,"exit_reason":"none","elapsed_s":12.3,
// "counts":{...}}\n
struct summary_row {
  std::string_view finished_at;
  int exit_code;
  double elapsed_s;
  std::span<const std::pair<std::string_view, std::uint64_t>> counts;
  std::string_view at{};  // empty => null
  // stop_reason's name ("none": not stopped); empty => null. The report reader voids the not_found rows
  // of a run that stopped "contradicted" (their 404s may have come from another API).
  std::string_view exit_reason{};
  // The preflight's listing showed no key at all (run_scheduler::listing_showed_no_key): written as
  // "listing_showed_no_key":true, only then; `keyrevoke report` notes that run's not_found rows are the
  // word of a server that holds no key.
  bool listing_showed_no_key = false;
};
void append_row(std::string& out, const summary_row& row);

// --plan's output (stdout, one line; not a report row, but built the same way):
// {"plan":"keyrevoke-plan-v2","digest":...,"action":...,"host":...,"base_url":...,"inputs":[...],"shard":...,"counts":{...}}\n
struct plan_row {
  std::string_view digest;  // "sha256:<hex>"
  std::string_view action;
  std::string_view host;
  std::string_view base_url;
  std::span<const input_fingerprint> inputs;
  std::string_view shard;  // "K/N"; empty => null
  std::span<const std::pair<std::string_view, std::uint64_t>> counts;
};
void append_row(std::string& out, const plan_row& row);

// "2026-11-27T21:10:14Z" (UTC, whole seconds).
std::string format_utc(std::chrono::system_clock::time_point t);

// "2026-11-27T21:10:14.123Z" (RFC 3339, UTC, milliseconds truncated): the rows' "at".
std::string format_utc_ms(std::chrono::system_clock::time_point t);

// format_utc_ms for the hot path: the date and time are formatted once per second, the milliseconds
// per call; no allocation. The view is valid until the next call.
class utc_stamp {
 public:
  std::string_view operator()(std::chrono::system_clock::time_point t) noexcept;

 private:
  long long second_ = -1;  // since the epoch; -1: nothing formatted yet
  char text_[32] = {};     // "YYYY-MM-DDTHH:MM:SS.mmmZ"
  std::size_t size_ = 0;
};

// Appends text as a JSON string: quoted, escaped, invalid UTF-8 replaced with U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace keyrevoke::core
