#include "keyrevoke/core/list_pager.hpp"

#include <algorithm>

namespace keyrevoke::core {

list_pager::list_pager(const list_pager_config& config) : config_{config} {
  config_.page_size = std::max<std::size_t>(config_.page_size, 1);
  config_.max_overlap = std::clamp<std::size_t>(config_.max_overlap, 1, std::max<std::size_t>(1, config_.page_size / 2));
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
      if (e.created_at && (!oldest_emitted_ || *e.created_at < *oldest_emitted_)) oldest_emitted_ = e.created_at;
    }
    if (page.size() < config_.page_size) {
      status_ = pager_status::complete;  // an anchored page that reaches the end of the list
      return fresh;
    }
    if (last_was_forward_) {
      // A forward page should start with `overlap_` keys we already had: those missing were deleted
      // (or shifted left) since the last fetch. Keep twice that drift as the next overlap.
      const std::size_t lost = overlap_ > already_seen ? overlap_ - already_seen : 0;
      const std::size_t wanted = 2 * lost + 1;
      overlap_ = wanted >= overlap_ ? wanted : std::max(wanted, overlap_ - overlap_ / 4);
      overlap_ = std::clamp<std::size_t>(overlap_, 1, config_.max_overlap);
    }
    // The next page starts `overlap_` usable entries before this page's end.
    std::size_t usable_from_end = 0, start = page.size();
    while (start > 0 && usable_from_end < overlap_) {
      --start;
      if (page[start].usable) ++usable_from_end;
    }
    if (usable_from_end == 0 || start == 0) start = page.size() / 2;  // a page of hashless objects
    offset_ += start;
    back_ = config_.page_size;
    last_was_forward_ = true;
  }
  if (fetches_ >= fetch_limit()) status_ = pager_status::kept_changing;
  return fresh;
}

}  // namespace keyrevoke::core
