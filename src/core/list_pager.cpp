#include "keyrevoke/core/list_pager.hpp"

#include <algorithm>
#include <cmath>

namespace keyrevoke::core {

list_pager::list_pager(const list_pager_config& config) : config_{config} {
  config_.page_size = std::max<std::size_t>(config_.page_size, 1);
  config_.max_overlap =
      std::clamp<std::size_t>(config_.max_overlap, 1, std::max<std::size_t>(1, config_.page_size / 2));
  back_ = config_.page_size;
}

std::uint64_t list_pager::fetch_limit() const noexcept {
  return config_.fetches_per_page * (emitted_ / config_.page_size + 1) + config_.fetch_allowance;
}

void list_pager::check_order(std::span<const list_entry> page) {
  if (!order_known_) return;
  std::optional<unix_micros> previous;
  for (const list_entry& e : page) {
    if (!e.usable || !e.created_at) {
      order_known_ = false;
      return;
    }
    if (previous && *e.created_at > *previous) {
      order_known_ = false;
      return;
    }
    previous = e.created_at;
  }
}

bool list_pager::anchored(std::span<const list_entry> page) const {
  if (offset_ == 0) return true;
  for (const list_entry& e : page) {
    if (!e.usable) continue;
    if (seen_.contains(e.hash)) return true;
    // Strictly newer than an emitted key: every surviving key before it is newer still, so before
    // that emitted key in the list, so emitted (invariant C).
    if (order_known_ && oldest_emitted_ && e.created_at && *e.created_at > *oldest_emitted_) return true;
  }
  return false;
}

bool list_pager::measure_drift(std::span<const list_entry> page, std::size_t already_seen) {
  if (!boundary_ || fetches_ <= boundary_fetch_) return false;
  const auto fetches = static_cast<double>(fetches_ - boundary_fetch_);
  for (std::size_t i = 0; i < page.size(); ++i) {
    if (!page[i].usable || page[i].hash != *boundary_) continue;
    const double shift = static_cast<double>(boundary_index_) - static_cast<double>(offset_ + i);
    drift_ = std::max(0.0, 0.5 * drift_ + 0.5 * shift / fetches);
    boundary_index_ = offset_ + i;
    boundary_fetch_ = fetches_;
    return true;
  }
  if (offset_ == 0 && already_seen == 0) {
    // Everything emitted so far is gone from the head of the list: it is being deleted at least as
    // fast as it is read, and the boundary moved past index 0 (at least boundary_index_ + 1).
    const double shift = static_cast<double>(boundary_index_ + 1);
    drift_ = std::max(0.0, 0.5 * drift_ + 0.5 * shift / fetches);
  }
  return false;
}

std::vector<std::size_t> list_pager::consume(std::span<const list_entry> page) {
  std::vector<std::size_t> fresh;
  if (status_ != pager_status::fetch) return fresh;
  ++fetches_;
  check_order(page);

  if (!anchored(page)) {
    // Keys shifted left past this offset (or the list shrank below it): there may be a gap. Step back,
    // further each time in a row, and have the next full page overlap more.
    ++step_backs_;
    offset_ = offset_ > back_ ? offset_ - back_ : 0;
    back_ = std::min<std::size_t>(back_ * 2, std::size_t{1} << 40);
    overlap_ = std::min(config_.max_overlap, overlap_ * 2 + 1);
    last_was_forward_ = false;
  } else {
    std::size_t already_seen = 0;
    for (std::size_t i = 0; i < page.size(); ++i) {
      const list_entry& e = page[i];
      if (!e.usable) continue;
      if (!seen_.insert(e.hash)) {
        ++already_seen;
        continue;
      }
      fresh.push_back(i);
      ++emitted_;
      if (e.created_at && (!oldest_emitted_ || *e.created_at < *oldest_emitted_))
        oldest_emitted_ = e.created_at;
    }
    if (page.size() < config_.page_size) {
      status_ = pager_status::complete;  // an anchored page that reaches the end of the list
      return fresh;
    }
    measure_drift(page, already_seen);
    if (last_was_forward_) {
      // A forward page should start with `overlap_` keys we already had: those missing were deleted
      // (or shifted left) since the last fetch. Keep twice that drift as the next overlap.
      const std::size_t lost = overlap_ > already_seen ? overlap_ - already_seen : 0;
      const std::size_t wanted = 2 * lost + 1;
      overlap_ = wanted >= overlap_ ? wanted : std::max(wanted, overlap_ - overlap_ / 4);
      overlap_ = std::clamp<std::size_t>(overlap_, 1, config_.max_overlap);
    }
    // Where the next page starts: `overlap_` entries before where the frontier (the last key known to
    // have everything before it emitted) should be at the next fetch, leading by the drift. A list
    // that shifts left by more than a page per fetch is followed to a lower offset (it is the list
    // that moves; the fetch bound stops a runaway).
    std::size_t last_usable = page.size();
    for (std::size_t i = page.size(); i > 0; --i) {
      if (page[i - 1].usable) {
        last_usable = i - 1;
        break;
      }
    }
    // A page of hashless objects: its middle (integer division intended).
    double frontier = static_cast<double>(offset_ + page.size() / 2);  // NOLINT(bugprone-integer-division)
    std::size_t overlap = overlap_;
    if (last_usable != page.size()) {
      frontier = static_cast<double>(offset_ + last_usable) - drift_;
      boundary_ = page[last_usable].hash;
      boundary_index_ = offset_ + last_usable;
      boundary_fetch_ = fetches_;
      // Nothing new here: a step back went too far, and the keys we have not seen are further on.
      if (fresh.empty()) overlap = 1;
    }
    const double next = std::round(frontier) + 1.0 - static_cast<double>(overlap);
    offset_ = next <= 0.0 ? 0 : static_cast<std::size_t>(std::min(next, 1e15));
    back_ = config_.page_size;
    last_was_forward_ = !fresh.empty();  // the next page measures the overlap it was given
  }
  if (fetches_ >= fetch_limit()) status_ = pager_status::kept_changing;
  return fresh;
}

}  // namespace keyrevoke::core
