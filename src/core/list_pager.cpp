#include "keyrevoke/core/list_pager.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace keyrevoke::core {

namespace {

constexpr std::size_t max_step = std::size_t{1} << 40;

// The overlap a page of `size` entries can carry and still move on: at most half of it (0 for one).
std::size_t overlap_cap(std::size_t configured, std::size_t size) noexcept {
  return std::min(configured, size / 2);
}

}  // namespace

list_pager::list_pager(const list_pager_config& config) : config_{config} {
  config_.max_overlap = std::max<std::size_t>(config_.max_overlap, 1);
}

std::uint64_t list_pager::fetch_limit() const noexcept {
  const auto pages = static_cast<std::uint64_t>(std::min(pages_read_, 1e15));
  return config_.fetches_per_page * (pages + 1 + end_checks_) + config_.fetch_allowance;
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
  } else {
    // Not in this page (deleted, or the lead put the page before it): no measure; let an old drift
    // fade, or a list that stopped moving would be walked backwards a few keys a fetch.
    drift_ *= 0.5;
  }
  return false;
}

bool list_pager::emit(const list_entry& e) {
  if (!e.usable || !seen_.insert(e.hash)) return false;
  ++emitted_;
  if (e.created_at && (!oldest_emitted_ || *e.created_at < *oldest_emitted_)) oldest_emitted_ = e.created_at;
  return true;
}

void list_pager::hold_and_step_back(std::span<const list_entry> page, bool past_shorter) {
  // Keys shifted left past this offset, or the list got shorter than it, or a page too small to hold
  // an anchor and a new key: there may be a gap before it. Hold it (rule E) and step back, further
  // each time in a row; the next full page overlaps more.
  ++step_backs_;
  // Rule E only for a page that cannot be anchored otherwise: an empty one, or one of a single key
  // (no room for an anchor and a new key). A larger page is anchored by a step back that overlaps it.
  if (page.size() <= 1) {
    held_ = held_page{offset_, fetches_, {page.begin(), page.end()}};
    holding_ = true;
  } else {
    held_.reset();
  }
  std::size_t base = page.size();
  // A page fetched just past a shorter anchored page (taken for the tail) that is neither empty nor
  // anchored: that page was short by the server's choice, not the end. Stepping back by this page's
  // size would start before keys already read, and a server cycling its sizes would repeat that
  // forever: step back to the shorter page's last key instead (anchored in a still list; doubling
  // from there while pages keep missing).
  if (past_shorter) base = 1;
  if (page.empty()) base = 1 + static_cast<std::size_t>(std::min(std::ceil(2.0 * drift_), 1e12));
  back_ = missing_ ? std::min(back_ * 2, max_step) : std::max<std::size_t>(base, 1);
  missing_ = true;
  offset_ = offset_ > back_ ? offset_ - back_ : 0;
  overlap_ = std::min(config_.max_overlap, overlap_ * 2 + 1);
  last_was_forward_ = false;
}

void list_pager::finish_fetch() {
  if (status_ != pager_status::fetch) return;
  if (end_checks_ > config_.max_end_checks || fetches_ >= fetch_limit())
    status_ = pager_status::kept_changing;
}

pager_emission list_pager::consume(std::span<const list_entry> page) {
  pager_emission out;
  if (status_ != pager_status::fetch) return out;
  ++fetches_;
  holding_ = false;
  settling_ = false;
  const bool past_shorter = std::exchange(past_shorter_, false);  // the last page jumped past one

  // The end, shown: fetched again, and only empty pages there confirm it.
  const auto end_shown = [this](std::size_t at) {
    held_.reset();
    if (!end_at_ || *end_at_ != at) {
      end_at_ = at;
      end_empties_ = 0;
    }
    if (++end_empties_ > config_.end_confirmations) {
      status_ = pager_status::complete;
      return;
    }
    offset_ = at;
  };
  if (end_at_ && offset_ == *end_at_) {
    if (page.empty()) {
      end_shown(offset_);
      return out;
    }
    end_at_.reset();  // not the end after all: the page is read as any other
  }
  if (page.empty() && offset_ == 0) {
    // The list is empty now: nothing that exists for the whole listing can be missing.
    end_shown(0);
    return out;
  }
  if (!page.empty()) largest_ = std::max(largest_, page.size());
  check_order(page);

  if (page.empty() || !anchored(page)) {
    hold_and_step_back(page, past_shorter);
    finish_fetch();
    return out;
  }

  std::size_t already_seen = 0;
  for (std::size_t i = 0; i < page.size(); ++i) {
    if (!page[i].usable) continue;
    if (emit(page[i])) {
      out.page.push_back(i);
    } else {
      ++already_seen;
    }
  }
  // In pages of the smallest size seen: a server whose pages shrink (or change size every time) is
  // given the fetches its smallest pages need, still bounded by 3 fetches a key plus the allowance.
  smallest_ = smallest_ == 0 ? page.size() : std::min(smallest_, page.size());
  pages_read_ += static_cast<double>(out.page.size()) / static_cast<double>(smallest_);
  const std::size_t end = offset_ + page.size();

  // Rule E: does this anchored page prove the held one?
  std::optional<held_page> proven;
  if (held_) {
    if (held_->entries.empty()) {
      if (end == held_->offset) {
        end_shown(end);  // an empty page, proven: every survivor was emitted (once confirmed)
        return out;
      }
      if (end < held_->offset) {
        ++end_checks_;  // the list got shorter between the two fetches: a deleter at work
        settling_ = true;
      }
    } else if (end >= held_->offset) {
      for (std::size_t i = 0; i < held_->entries.size(); ++i) {
        if (emit(held_->entries[i])) out.held.push_back(i);
      }
      pages_read_ +=
          static_cast<double>(out.held.size()) / static_cast<double>(std::max<std::size_t>(smallest_, 1));
      proven = std::move(held_);
    }
    held_.reset();
  }
  missing_ = false;

  measure_drift(page, already_seen);
  if (last_was_forward_) {
    // A forward page should start with `overlap_` keys we already had: those missing were deleted
    // (or shifted left) since the last fetch. Keep twice that drift as the next overlap.
    const std::size_t lost = overlap_ > already_seen ? overlap_ - already_seen : 0;
    const std::size_t wanted = 2 * lost + 1;
    overlap_ = wanted >= overlap_ ? wanted : std::max(wanted, overlap_ - overlap_ / 4);
    overlap_ = std::clamp<std::size_t>(overlap_, 1, config_.max_overlap);
  }

  // The frontier: the last usable key of the proven held page, else of this page.
  const auto last_usable = [](std::span<const list_entry> entries) {
    for (std::size_t i = entries.size(); i > 0; --i) {
      if (entries[i - 1].usable) return i - 1;
    }
    return entries.size();
  };
  bool has_frontier = false;
  std::size_t frontier_page_size = page.size();
  if (proven) {
    if (const std::size_t i = last_usable(proven->entries); i != proven->entries.size()) {
      boundary_ = proven->entries[i].hash;
      boundary_index_ = proven->offset + i;
      boundary_fetch_ = proven->fetch;
      has_frontier = true;
      frontier_page_size = proven->entries.size();
    }
  }
  if (!has_frontier) {
    if (const std::size_t i = last_usable(page); i != page.size()) {
      boundary_ = page[i].hash;
      boundary_index_ = offset_ + i;
      boundary_fetch_ = fetches_;
      has_frontier = true;
    }
  }

  const bool nothing_new = out.page.empty() && out.held.empty();
  const bool shorter = !proven && page.size() < previous_size_;
  previous_size_ = page.size();
  if (shorter || !has_frontier || (nothing_new && page.size() < 2)) {
    // Probably the tail (a hint, never a proof: if it is not, the next page is not anchored and a
    // step back overlaps it), or a page of hashless objects, or one key already seen: fetch just past
    // this page.
    offset_ = end;
    last_was_forward_ = false;
    past_shorter_ = shorter && has_frontier;
  } else if (nothing_new) {
    // A step back went too far, or the list moved right (keys created at the top): the keys not seen
    // are further on. The next page starts with this page's last entry (its anchor).
    offset_ = end - 1;
    last_was_forward_ = false;
  } else {
    // `overlap` entries before where the frontier should be at the next fetch, leading by the
    // drift. A list that shifts left by more than a page per fetch is followed to a lower offset
    // (it is the list that moves; the fetch bound stops a runaway).
    const auto elapsed = static_cast<double>(fetches_ + 1 - boundary_fetch_);
    const double frontier = static_cast<double>(boundary_index_) - drift_ * elapsed;
    const std::size_t overlap = overlap_cap(overlap_, std::min(page.size(), frontier_page_size));
    const double next = std::round(frontier) + 1.0 - static_cast<double>(overlap);
    offset_ = next <= 0.0 ? 0 : static_cast<std::size_t>(std::min(next, 1e15));
    last_was_forward_ = !proven && overlap == overlap_;  // the next page measures the overlap it was given
  }
  finish_fetch();
  return out;
}

}  // namespace keyrevoke::core
