#include "keyrevoke/core/progress_line.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <vector>

namespace keyrevoke::core {

std::string group_digits(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  const std::size_t lead = digits.size() % 3;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (i + 3 - lead) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string clock_duration(double s) {
  if (!std::isfinite(s) || s < 0 || s > 1e9) return "?";
  const auto total = static_cast<unsigned long long>(std::llround(s));
  char buf[48];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", total / 60, total % 60);
  }
  return buf;
}

namespace {

// Whole seconds, rounded up: "waiting 0 s" would say the wait is over.
std::string seconds_left(millis left) {
  const long long ms = std::max<long long>(0, left.count());
  return std::to_string((ms + 999) / 1000) + " s";
}

std::string status_note(unsigned status) {
  return status == 0 ? std::string{} : " (" + std::to_string(status) + ")";
}

// One field of the line. Kept by `rank` (0 first), shown by `order`; fields of one group are joined
// with ", ", groups with " | ".
struct field {
  int order = 0;
  int rank = 0;
  int group = 0;
  std::string text;
};

std::string render(const std::vector<const field*>& shown) {
  std::string line;
  const field* previous = nullptr;
  for (const field* f : shown) {
    if (previous != nullptr) {
      line += previous->group == 0 ? " " : previous->group == f->group ? ", " : " | ";  // "[n/m] 35/s | ..."
    }
    line += f->text;
    previous = f;
  }
  return line;
}

}  // namespace

std::string wait_text(const wait_reason& wait) {
  switch (wait.cause) {
    case wait_cause::none:
      return {};
    case wait_cause::preflight:
      return "checking the server";
    case wait_cause::preflight_retry:
      return "server not answering: asking again in " + seconds_left(wait.left);
    case wait_cause::input:
      return "waiting for input";
    case wait_cause::server_asked:
      return "waiting " + seconds_left(wait.left) + ": server asked" + status_note(wait.status);
    case wait_cause::throttling:
      return "waiting " + seconds_left(wait.left) + ": server throttling" + status_note(wait.status);
    case wait_cause::backoff:
      return "waiting " + seconds_left(wait.left) + ": retries backing off";
    case wait_cause::quota_spent:
      return "waiting " + seconds_left(wait.left) + ": server's quota spent (until its reset)";
    case wait_cause::confirming:
      return "holding: a 404 not confirmed, the key route still shows the key (re-reading in " +
             seconds_left(wait.left) + ")";
    case wait_cause::outage:
      return wait.left.count() > 0 ? "server failing: probing (next in " + seconds_left(wait.left) + ")"
                                   : std::string{"server failing: probing"};
    case wait_cause::stopping:
      return "stopping: awaiting answers in flight";
  }
  return {};
}

std::string progress_line(const run_counts& c, const progress_state& s, std::size_t columns) {
  const std::uint64_t done = c.finished();
  const bool waiting = s.wait.cause != wait_cause::none;
  std::vector<field> fields;
  fields.reserve(14);
  // order, rank, group, text
  fields.push_back(
      {0, 0, 0, "[" + group_digits(done) + "/" + group_digits(c.hashes) + (c.input_complete ? "]" : "+]")});
  if (waiting) {
    fields.push_back({1, 1, 1, wait_text(s.wait)});
  } else {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.0f/s", std::isfinite(s.rate) && s.rate >= 0 ? s.rate : 0.0);
    fields.push_back({1, 2, 1, buf});
  }
  if (c.verify && c.verify_mismatch != 0)
    fields.push_back({8, 1, 2, "MISMATCH " + group_digits(c.verify_mismatch)});
  const bool eta = !waiting && c.input_complete && s.rate > 0.5 && c.hashes >= done;
  fields.push_back({20, 3, 5,
                    eta ? "ETA " + clock_duration(static_cast<double>(c.hashes - done) / s.rate)
                        : clock_duration(s.elapsed_s)});
  const std::uint64_t failed = c[outcome::failed];
  fields.push_back({5, failed != 0 ? 4 : 9, 2, "failed " + group_digits(failed)});
  fields.push_back({2, 5, 2, std::string{to_string(c.applied())} + " " + group_digits(c[c.applied()])});
  fields.push_back(
      {3, 7, 2, "not_found " + group_digits(c[outcome::not_found] + c[outcome::not_found_after_retry])});
  if (c[outcome::invalid] != 0) fields.push_back({6, 8, 2, "invalid " + group_digits(c[outcome::invalid])});
  if (c[outcome::unauthorized] != 0) {
    fields.push_back({4, 4, 2, "unauthorized " + group_digits(c[outcome::unauthorized])});
  }
  if (c.verify) fields.push_back({7, 8, 2, "verified " + group_digits(c.verified)});
  if (c.throttled != 0) fields.push_back({10, 10, 3, "throttled " + group_digits(c.throttled)});
  if (s.rate_limit > 0 && !waiting) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "limit %.0f/s", std::min(s.rate_limit, 1e12));
    fields.push_back({11, 11, 4, buf});
  }
  fields.push_back(
      {12, 12, 4, "in flight " + std::to_string(s.in_flight) + "/" + std::to_string(s.in_flight_limit)});

  const std::size_t room = columns == 0 ? std::string::npos : (columns > 1 ? columns - 1 : 1);
  std::vector<const field*> by_rank;
  by_rank.reserve(fields.size());
  for (const field& f : fields) by_rank.push_back(&f);
  std::stable_sort(by_rank.begin(), by_rank.end(),
                   [](const field* a, const field* b) { return a->rank < b->rank; });
  std::vector<const field*> shown;
  for (const field* f : by_rank) {
    std::vector<const field*> trial = shown;
    trial.insert(std::upper_bound(trial.begin(), trial.end(), f,
                                  [](const field* a, const field* b) { return a->order < b->order; }),
                 f);
    if (render(trial).size() > room) {
      // The least useful fields go first: from the first that does not fit, none is shown (a smaller,
      // less useful one in its place would show, say, "invalid 2" but not "deleted 9,000,000").
      if (shown.empty()) return f->text.substr(0, room);  // not even the counts fit: what fits of them
      break;
    }
    shown = std::move(trial);
  }
  return render(shown);
}

}  // namespace keyrevoke::core
