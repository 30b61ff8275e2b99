#include "keyrevoke/core/exit_status.hpp"

namespace keyrevoke::core {

namespace {

// --enable's goal is a usable key: a key that is not there was not enabled (a delete's or a disable's
// goal, an unusable key, holds for a key that is gone).
std::uint64_t not_enabled(const run_counts& c) noexcept {
  return c.act == action::enable ? c[outcome::not_found] + c[outcome::not_found_after_retry] : 0;
}

}  // namespace

int exit_code(const run_end& end, const run_counts& c) noexcept {
  switch (end.reason) {
    case stop_reason::interrupted: return exit_interrupted;
    case stop_reason::key_rejected:
    case stop_reason::refused:
    case stop_reason::tls_untrusted: return exit_aborted;
    case stop_reason::not_api:
    case stop_reason::contradicted:
    case stop_reason::unattributable: return exit_usage;
    case stop_reason::unreachable:
    case stop_reason::gave_up: return exit_unreachable;
    case stop_reason::report_failed: return exit_incomplete;
    case stop_reason::none: break;
  }
  if (end.empty_input) return exit_usage;
  const std::uint64_t open = c[outcome::failed] + c[outcome::not_attempted] + c[outcome::unauthorized] +
                             c[outcome::invalid] + c.unproven() + not_enabled(c);
  return open != 0 || end.input_error || end.report_failed || end.report_relocated ? exit_incomplete
                                                                                   : exit_ok;
}

std::string exit_explanation(int code, const run_end& end, const run_counts& c) {
  std::string why;
  const auto add = [&](std::uint64_t n, std::string_view what) {
    if (n == 0) return;
    if (!why.empty()) why += ", ";
    why += std::to_string(n);
    why += ' ';
    why += what;
  };
  switch (end.reason) {
    case stop_reason::interrupted: why = "interrupted"; break;
    case stop_reason::refused:
    case stop_reason::key_rejected:
      why = end.refusal_not_api || end.reason == stop_reason::refused
                ? "requests refused by something that is not the API (a gateway?)"
                : "the server rejected the management key";
      break;
    case stop_reason::tls_untrusted: why = "TLS could not be trusted or was refused"; break;
    case stop_reason::not_api: why = "the server's answers are not the API's (check --base-url)"; break;
    case stop_reason::contradicted:
      why = "the server's routes disagree about a key (a 404 for a key the listing or the key route shows; "
            "check what sits in front of --base-url)";
      break;
    case stop_reason::unattributable:
      why = "the server sent an answer no request asked for: its answers cannot be matched to requests "
            "(rows claimed before the stop may be another request's: prove them with --resume --verify)";
      break;
    case stop_reason::unreachable: why = "the server could not be reached"; break;
    case stop_reason::gave_up: why = "the server kept failing for --give-up-after"; break;
    case stop_reason::report_failed: why = "the report could not be written"; break;
    case stop_reason::none:
      if (end.empty_input) {
        why =
            "the input holds no hash (only blank lines and comments, or nothing); --allow-empty accepts that";
        break;
      }
      add(c[outcome::invalid], c[outcome::invalid] == 1 ? "invalid line" : "invalid lines");
      add(c[outcome::failed], "failed");
      add(c[outcome::unauthorized], "unauthorized");
      add(c[outcome::not_attempted], "not attempted");
      add(not_enabled(c), "not enabled (no such key)");
      add(c.verify_mismatch, "verify mismatches");
      add(c.verify_failed, "could not be verified");
      add(c.verify_not_attempted, "not verified");
      if (end.input_error) why += why.empty() ? "an input could not be read" : ", an input could not be read";
      if (end.report_failed) why += why.empty() ? "report rows lost" : ", report rows lost";
      if (end.report_relocated) {
        why += why.empty() ? "" : ", ";
        why += "the report was removed mid-run (its rows are where the summary says)";
      }
      break;
  }
  if (end.reason != stop_reason::none && c[outcome::not_attempted] != 0) {
    // What the stop left undone, in the report's word for it (a --resume picks those up).
    why += "; " + std::to_string(c[outcome::not_attempted]) + " not_attempted";
  }
  if (why.empty()) why = "every hash done";
  return "exit " + std::to_string(code) + ": " + why;
}

}  // namespace keyrevoke::core
