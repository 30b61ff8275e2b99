#pragma once
// Reads an existing JSON Lines report for --resume: which hashes are done, and where the file's
// complete part ends. Any chunking; memory bounded by the set plus one line (at most 64 KiB).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keyrevoke/core/hash_set.hpp"

namespace keyrevoke::core {

struct resume_scan {
  hash_set done;                     // hashes with a row whose outcome is done (is_done)
  hash_set verified;                 // hashes with a verify row whose outcome is "verified"
  // Hashes with a verify row "mismatch": the server still showed the key after the action. Unless a
  // later proof verified them, --resume acts on them again instead of counting them done.
  hash_set mismatched;
  // Hashes with a row that is not done and whose request was sent ("attempts" not 0, or unreadable): a
  // run ended with it not_attempted (a stop, a give-up), failed (attempts used up on 5xx or silence)...
  // Its answer proved nothing, so the server may have acted: in a --resume a 404 for it is
  // not_found_after_retry, never not_found ("gone before the run").
  hash_set sent;
  // not_found rows of runs that stopped "contradicted" (summary "exit_reason"), first done there: left
  // out of `done` and put in `sent` (their 404 may have come from another API behind a rewritten route).
  std::uint64_t voided_not_found = 0;
  // The last run that wrote a header also wrote its summary row. False after a crash, a kill -9 or a
  // second signal: requests of that run may have been in flight, unanswered, without a row, so a 404
  // in the resumed run is not proof the key was gone before (not_found_after_retry, not not_found).
  bool last_run_finished = true;
  // Runs before the last that ended without their summary row. Their unwritten rows stay in doubt
  // until the report shows the hash answered again, which a later run that itself stopped early (an
  // unreachable server, a stop during the preflight) may never have done: so any one of them makes a
  // 404 in a resumed run not_found_after_retry (some_run_unfinished()).
  std::uint64_t earlier_runs_unfinished = 0;
  // Some run of this report ended without its summary row (killed): see last_run_finished.
  [[nodiscard]] bool some_run_unfinished() const { return !last_run_finished || earlier_runs_unfinished != 0; }
  std::string action;                // the first header row's "action" ("" if no header: an older
                                     // version's report, which only deleted)
  bool mixed_actions = false;        // header rows disagree on the action
  std::string base_url;              // the first header row's "base_url" that has one ("" if none does)
  bool mixed_base_urls = false;      // header rows disagree on the base URL
  std::uint64_t headers = 0;         // header rows (one per run that wrote to the report)
  std::uint64_t rows = 0;            // complete, well-formed rows (including rows without a "hash")
  std::uint64_t malformed_rows = 0;  // complete lines that are not a valid row (skipped, counted)
  std::uint64_t valid_bytes = 0;     // offset just past the last complete line ('\n'); a torn tail
                                     // after it must be truncated by the caller
  bool torn_tail = false;            // the file ended in a partial line
};

// A row longer than this is malformed (its content is not buffered).
inline constexpr std::size_t max_report_row = std::size_t{64} * 1024;

// A line is a row when it is a JSON object (a trailing '\r' is ignored). A "type":"header" row gives
// its "action" and starts a run, a "type":"summary" row ends it; a "type":"verify" row with a hash and
// proof "verified" adds to `verified`, "mismatch" to `mismatched` (the proof is "proof", or "outcome"
// in an older report whose rows have no "at"); other
// typed rows (a newer version's) and rows whose "hash" is not a string (invalid input)
// count as rows and are otherwise ignored. An untyped row with a "hash" string needs 64 hex digits
// and an "outcome" string, else it is malformed; an unknown outcome name is a row that is not done.
class report_reader {
 public:
  void feed(std::string_view chunk);  // any chunking
  resume_scan finish();               // call at EOF

 private:
  void end_line(std::string_view line, bool overlong);

  resume_scan scan_;
  std::vector<key_hash> run_not_found_;  // the current run's 404 rows first done in it (voided_not_found)
  std::string line_;          // the current line's bytes (at most max_report_row)
  std::size_t line_length_ = 0;  // its real length so far
};

}  // namespace keyrevoke::core
