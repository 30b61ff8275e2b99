#pragma once
// `keyrevoke report`: the final state per hash across the runs of one or more reports (a run and its
// --resume runs in one file; the --shard K/N runs in one file each). Pure: rows in, one merged_report out.
//
// Which row is a hash's final state: the later one (runs ordered by their header's started_at, a file's
// own runs kept in file order, then the order the files were given; rows in file order within a run),
// except that a row that shows nothing about the key (failed, unauthorized, not_attempted, protected:
// no answer proved a state) never replaces an earlier row that did (deleted, not_found,
// not_found_after_retry, disabled, enabled): a key deleted by the first run and "not_attempted" by a
// later one is deleted. A --verify proof belongs to the action row before it; a proof older than the
// final action row is dropped, and an unproven proof (failed, not_attempted) never replaces an earlier
// verified or mismatch one after the same final row (it does replace one of an earlier action row).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyrevoke/core/key_hash.hpp"

namespace keyrevoke::core {

// One run: a header row and the rows after it up to the next header or the end of its file.
struct report_run {
  std::size_t file = 0;    // index into merged_report::files
  std::uint64_t line = 0;  // the header's line, from 1; 0: the file has rows before any header
                           // (an older keyrevoke wrote no header)
  std::string version;
  std::string started_at;   // as written (ISO 8601 UTC); empty when unknown
  std::string finished_at;  // the summary row's; empty when the run has none
  std::string operator_name;
  std::string action;  // "delete", "disable", "enable"; empty when unknown
  std::string host;
  std::string base_url;
  std::string shard;  // "K/N"; empty: not sharded
  std::string plan_digest;
  std::string options;  // the header's "options" object, as compact JSON ("{}" when absent)
  std::uint64_t pid = 0;
  bool finished = false;         // a summary row closed it
  std::optional<int> exit_code;  // the summary row's
  std::string exit_reason;       // the summary row's ("contradicted": its 404 rows prove nothing)
  bool listing_showed_no_key = false;  // the summary row's: its not_found rows are an empty server's word
  double elapsed_s = 0.0;        // the summary row's
  std::uint64_t rows = 0;        // hash, invalid-line and verify rows it wrote
};

// A hash's final state.
struct hash_state {
  key_hash hash{};
  std::string outcome;       // the final row's "outcome" as written; empty: only verify rows
  unsigned http_status = 0;  // 0: null
  unsigned attempts = 0;
  std::string error;
  std::string at;          // the row's "at" (empty in older reports)
  std::size_t run = 0;     // index into merged_report::runs
  std::uint64_t line = 0;  // the row's line in its run's file
  std::uint64_t rows = 0;  // hash rows read for it, over all runs (1: never retried by a later run)
  std::string proof;       // the last verify row's proof after the final row; empty: none
  std::string observed;    // that proof's "observed" ("gone", "disabled", "enabled"; empty: null)
  std::string proof_error;
};

// An input line that was not a hash (one per input file and line, however many runs reported it).
struct invalid_input {
  std::string input_file;  // the input's name as the run gave it ("-" or empty for stdin)
  std::uint64_t line = 0;  // in that input
  std::string error;
  std::string preview;  // the row's redacted "input"
};

// Final states that are not done, grouped: one group per (outcome, error) or (proof, error).
struct failure_group {
  std::string
      state;  // "failed", "not_attempted", "unauthorized", ..., or "verify mismatch" / "verify failed" ...
  std::string error;  // the rows' "error" ("" for none)
  std::uint64_t count = 0;
  key_hash example{};  // the first hash in hash order
};

struct merged_report {
  std::vector<std::string> files;                 // as given
  std::vector<report_run> runs;                   // by file, then file order
  std::vector<hash_state> hashes;                 // in hash order (lower-case hex)
  std::vector<invalid_input> invalid;             // in (input file, line) order
  std::map<std::string, std::uint64_t> outcomes;  // final outcome -> hashes ("invalid": input lines)
  std::map<std::string, std::uint64_t> proofs;    // final proof -> hashes (only hashes with one)
  std::vector<failure_group> failures;            // largest group first
  // Why the merged state is not the whole story (each a sentence naming the file): the last run of a
  // file has no summary row (killed, or still running), a shard of K/N has no report or two, the
  // reports disagree on the shard count or the server.
  std::vector<std::string> problems;
  std::vector<std::string> notes;  // worth knowing, not a gap (an earlier run resumed, ...)
  std::uint64_t unknown_rows = 0;  // typed rows of a kind this version does not know

  // Every hash done (deleted, not_found, not_found_after_retry, disabled, enabled) or protected, every
  // proof verified, no invalid input line, no problem: what `keyrevoke report` exits 0 for.
  bool all_done() const;
  // Hashes whose final state is not done (protected aside) or whose proof is not verified, each once.
  std::uint64_t left() const;
};

// Feed the files in the order given, each line by line.
class report_merger {
 public:
  // Starts the next file; `name` is how messages call it.
  void begin_file(std::string name);
  // One line without its '\n' (a trailing '\r' is ignored). terminated: false for a last line that
  // ended without '\n' (a killed run's torn row: noted and skipped when it is not a whole row).
  // Returns "NAME:LINE: why" when the line is not a keyrevoke report row (the caller stops: exit 2).
  std::optional<std::string> add_line(std::string_view line, bool terminated);
  // Returns "NAME: why" for a file with no row at all.
  std::optional<std::string> end_file();
  merged_report finish();

 private:
  struct verify_entry {
    std::size_t run = 0;
    std::uint64_t line = 0;
    std::string proof, observed, error;
  };
  struct entry {
    hash_state state;
    bool has_row = false;
    std::optional<verify_entry> proof;       // the latest verified or mismatch proof
    std::optional<verify_entry> last_proof;  // the latest proof of any kind
  };
  std::optional<std::string> fail(std::string_view why) const;
  std::optional<std::string> read_row(std::string_view line);
  void start_run(std::uint64_t line);
  // Whether the row at (run_a, line_a) comes after the one at (run_b, line_b) in the merge order.
  bool later(std::size_t run_a, std::uint64_t line_a, std::size_t run_b, std::uint64_t line_b) const;

  merged_report out_;
  std::vector<std::string> effective_start_;  // per run: its started_at, never before its file's previous run
  std::map<key_hash, entry> by_hash_;
  std::map<std::pair<std::string, std::uint64_t>, invalid_input> invalid_;
  std::string current_name_;
  std::uint64_t line_ = 0;          // the current file's line number
  std::uint64_t file_rows_ = 0;     // rows of the current file
  std::optional<std::size_t> run_;  // the current file's current run
};

}  // namespace keyrevoke::core
