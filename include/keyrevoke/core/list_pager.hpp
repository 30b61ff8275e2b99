#pragma once
// Paging GET /keys (newest first, `offset`, 100 a page) without missing keys while the list changes
// under us: the pure state machine behind `keyrevoke list` (no I/O; the caller fetches the offset it
// is told and hands the page back).
//
// Why naive paging fails: `keyrevoke list | keyrevoke` deletes keys from earlier pages while later
// pages are fetched. Every key behind a deleted one moves to a lower offset, so `offset += 100`
// jumps over keys that nobody ever sees.
//
// The guarantee: every key that exists for the whole listing (present when the first page is
// fetched, not deleted before the end) is emitted exactly once; no hash is emitted twice. Keys
// created during the listing (at the top) may or may not be emitted.
//
// How (order = the server's list order; a key's position in it never changes relative to the other
// surviving keys: deletions remove, insertions happen at the top):
//  Invariant C: for every emitted key E, every surviving key before E in list order has been emitted.
//  A page is *anchored* when it is the first page (offset 0), or it holds a key already emitted, or a
//  key created strictly later than some emitted key (so every surviving key before it is newer than
//  that emitted key, hence before it, hence emitted). A page is a contiguous run of the list at the
//  moment it was fetched, so an anchored page extends C to all of its keys: its new keys are emitted.
//  An unanchored page may have a gap before it (keys shifted left past our offset): nothing is emitted
//  and the pager steps back (100, then 200, 400 ... while it keeps missing; offset 0 always anchors).
//  (Why not `offset += 100` and "anchored if the first key is seen or newer than the last emitted":
//  in a list that does not change, the next page then starts with an unseen, older key and would
//  never anchor; and with created_at ties "newer" cannot tell where a key stands. Overlapping pages
//  and strict comparisons avoid both.)
//  Where to fetch next only affects cost, never completeness (anchoring decides what is emitted):
//  after an anchored full page the next page starts `overlap` entries before this page's last one,
//  so that in a stable list it starts with a key already emitted. The overlap grows with the keys
//  found missing from it (twice that many, at most half a page) and shrinks slowly when none are.
//  The next offset also leads by the drift: how far per fetch the last key emitted was seen to move
//  left (smoothed; an offset-0 page with nothing seen means the head of the list was deleted as fast
//  as it was read). A page with nothing new (a step back went too far) moves on with an overlap of
//  one. In a stable list that is pages at 0, 99, 198 ...; racing `keyrevoke` through a pipe costs
//  about 1.3 to 2 fetches a page. An anchored short page (< page_size) reaches the end of the list:
//  the listing is complete.
//  Fetches are bounded (fetches_per_page x (emitted pages + 1) + fetch_allowance): a list that keeps
//  changing faster than it can be read ends as kept_changing (the caller reports it incomplete).
// Created-at ordering is trusted only while every entry has one and pages are in non-increasing
// order; otherwise anchoring uses emitted keys alone (still complete, possibly more step-backs).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "keyrevoke/core/hash_set.hpp"
#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/timestamp.hpp"

namespace keyrevoke::core {

struct list_pager_config {
  std::size_t page_size = 100;   // what a full page holds
  std::size_t max_overlap = 50;  // at most this many entries of a page are fetched again (<= page/2)
  std::uint64_t fetches_per_page = 3;
  std::uint64_t fetch_allowance = 100;
};

// One object of a page, in list order. usable = false: it has no valid hash (skipped, but it still
// takes its place in the page).
struct list_entry {
  key_hash hash{};
  std::optional<unix_micros> created_at;
  bool usable = true;
};

enum class pager_status {
  fetch,          // fetch offset() and consume() the page
  complete,       // every key has been seen
  kept_changing,  // the fetch bound was reached before the end: the listing is incomplete
};

class list_pager {
 public:
  explicit list_pager(const list_pager_config& config = {});

  pager_status status() const noexcept { return status_; }
  std::size_t offset() const noexcept { return offset_; }

  // The page fetched at offset(). Returns the positions (into page) of the keys to emit, in list
  // order: each hash is returned once over the whole listing.
  std::vector<std::size_t> consume(std::span<const list_entry> page);

  std::uint64_t fetches() const noexcept { return fetches_; }
  std::uint64_t step_backs() const noexcept { return step_backs_; }
  std::uint64_t emitted() const noexcept { return emitted_; }
  std::uint64_t fetch_limit() const noexcept;
  std::size_t overlap() const noexcept { return overlap_; }
  double drift() const noexcept { return drift_; }

 private:
  bool anchored(std::span<const list_entry> page) const;
  void check_order(std::span<const list_entry> page);
  bool measure_drift(std::span<const list_entry> page, std::size_t already_seen);

  list_pager_config config_;
  pager_status status_ = pager_status::fetch;
  std::size_t offset_ = 0;
  std::size_t overlap_ = 1;  // entries of the last page fetched again by the next
  std::size_t back_;         // next step back
  bool last_was_forward_ = false;
  bool order_known_ = true;  // created_at present everywhere and non-increasing within pages
  std::optional<unix_micros> oldest_emitted_;
  // The last usable key of the last anchored page, and its index then: measures the drift.
  std::optional<key_hash> boundary_;
  std::size_t boundary_index_ = 0;
  std::uint64_t boundary_fetch_ = 0;
  double drift_ = 0.0;  // keys the list shifts left per fetch (smoothed), >= 0
  hash_set seen_;
  std::uint64_t fetches_ = 0;
  std::uint64_t step_backs_ = 0;
  std::uint64_t emitted_ = 0;
};

}  // namespace keyrevoke::core
