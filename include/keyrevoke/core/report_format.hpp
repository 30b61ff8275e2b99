#pragma once
// `keyrevoke report --format`: a merged_report (core/report_merge.hpp) as text for a terminal,
// Markdown for an incident ticket, CSV (one row per hash) or JSON (one object). Pure.

#include <optional>
#include <string>
#include <string_view>

#include "keyrevoke/core/report_merge.hpp"

namespace keyrevoke::core {

enum class report_format { text, markdown, csv, json };

// "text", "markdown" (also "md"), "csv", "json"; anything else is nullopt.
std::optional<report_format> parse_report_format(std::string_view name) noexcept;

// The whole document, ending with '\n'.
//  text/markdown: a status line (all done, or what is left and why), problems, runs (file, operator,
//    start and end times, action, shard, options), final states by outcome, verify proofs, what is left
//    grouped by reason, invalid input lines (at most 50 listed), notes. Markdown cells escape '|'.
//  csv: RFC 4180, a header line then one line per hash in hash order (hash,outcome,http_status,
//    attempts,error,at,proof,observed,proof_error,report,line); a cell that a spreadsheet would take
//    for a formula (= + - @ at its start) gets a leading "'".
//  json: {"all_done":..,"left":..,"files":[..],"problems":[..],"notes":[..],"runs":[..],"counts":{..},
//    "proofs":{..},"failures":[..],"invalid":[..],"hashes":[..]}.
std::string render_report(const merged_report& report, report_format format);

}  // namespace keyrevoke::core
