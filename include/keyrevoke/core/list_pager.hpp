#pragma once
// Paging GET /keys (newest first, `offset`, pages of a size the server chooses) without missing keys
// while the list changes under us: the pure state machine behind `keyrevoke list` and the `--protect`
// glob lookup (no I/O; the caller fetches the offset it is told and hands the page back).
//
// Why naive paging fails: `keyrevoke list | keyrevoke` deletes keys from earlier pages while later
// pages are fetched. Every key behind a deleted one moves to a lower offset, so `offset += 100`
// jumps over keys that nobody ever sees. And the page size is the server's: OpenRouter serves up to
// 100, a deployment or a gateway may serve fewer, whatever is asked, and may change it mid-listing
// (../shared/API.md). A page shorter than the last one is not the end: only an empty page is.
//
// The guarantee: every key that exists for the whole listing (present when the first page is
// fetched, not deleted before the end) is emitted exactly once; no hash is emitted twice. Keys
// created during the listing (at the top) may or may not be emitted. The one case outside it is
// stated with rule E below: keys created inside the window of a two-fetch proof.
//
// How (order = the server's list order; a key's position in it never changes relative to the other
// surviving keys: deletions remove, insertions happen at the top):
//  Invariant C: for every emitted key E, every surviving key before E in list order has been emitted.
//  A page is *anchored* when it is the first page (offset 0), or it holds a key already emitted, or a
//  key created strictly later than some emitted key (so every surviving key before it is newer than
//  that emitted key, hence before it, hence emitted). A page is a contiguous run of the list at the
//  moment it was fetched, so an anchored page extends C to all of its keys: its new keys are emitted.
//  A page that is not anchored may have a gap before it (keys shifted left past our offset): nothing
//  of it is emitted and the pager steps back (doubling while pages keep missing; offset 0 always
//  anchors) until an anchored page overlaps it.
//  The end: no page shorter than another proves anything (the server chooses the size). Only an
//  empty page does: at offset 0 on its own (the list is empty), at offset o > 0 by rule E.
//  Rule E (a two-fetch proof), for the pages one fetch cannot anchor: an empty page at o > 0, and a
//  page of one key (no room for an anchor and a new key). Such a page P, fetched at offset o, is
//  *held* (the caller keeps its object) and the pager steps back. A later anchored page Q at offset
//  q whose end q + |Q| reaches o proves P: a survivor S not emitted after Q lies after Q's end (C), so
//  at Q's fetch its index is >= q + |Q| >= o, while at P's fetch it was < o (before P's key, or P was
//  empty). Deletions only lower an index: only keys created between the two fetches can move S that
//  way (the residual case: a key created while a gap left by deletions exists). So P's key is
//  emitted too, and a held empty page at o proven by a Q ending exactly at o ends the listing: every
//  survivor has been emitted. Q ending past o: the list grew, no proof, paging goes on. Q ending
//  before o: the list got shorter between the two fetches (a deleter still at work, typically the
//  pipe into `keyrevoke` finishing the keys already printed): no proof either; the pager says
//  settling() so the caller can wait before trying again, and after max_end_checks failed checks the
//  listing ends kept_changing. A page of one hashless object can neither anchor nor be proven past:
//  with a server serving one object a page, the listing then ends kept_changing (incomplete).
//  Where to fetch next only affects cost, never completeness: after an anchored page with new keys
//  the next page starts `overlap` entries before the frontier (the last key known to have every
//  survivor before it emitted), so that in a stable list it starts with a key already emitted. The
//  overlap grows with the keys found missing from it (twice that many) and shrinks slowly when none
//  are; it is at most max_overlap and half the page just read (0 for a page of one key). The next
//  offset also leads by the drift: how far per fetch the frontier was seen to move left (smoothed,
//  fading when not measured; an offset-0 page with nothing seen means the head was deleted as fast as
//  it was read). An anchored page with nothing new is followed by one starting at its last entry;
//  one shorter than the page before it (probably the tail: a hint for cost, never a proof) by a fetch
//  just past its end. Step backs: a held empty page steps back 1 + twice the drift, a page fetched
//  just past a shorter one (it was not the tail: the server chose a short page) 1, to that page's last
//  key, any other page its own size (a server changing its page size on every request would otherwise
//  step back before the keys read and walk the same pages until the fetch bound). The page size is learned
//  from the pages seen (largest_page(); each page's own size scales its overlap, its step back and its weight
//  in the fetch bound). In a stable list of n keys with pages of c >= 2: pages at 0, c-1, 2(c-1) ... plus two
//  to prove the end (the empty page past it, then its last key again); pages of one key: two fetches a key.
//  The end so shown is fetched again end_confirmations times, and must be empty each time.
//  Fetches are bounded (fetches_per_page x (pages' worth of new keys, in pages of the smallest size seen, + 1
//  + failed end checks) + fetch_allowance): a list that keeps changing faster than it can be read ends as
//  kept_changing (the caller reports it incomplete).
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
  std::size_t max_overlap = 50;  // at most this many entries of a page are fetched again (also <= page/2)
  std::uint64_t fetches_per_page = 3;
  std::uint64_t fetch_allowance = 100;
  std::uint64_t max_end_checks = 60;  // end proofs that found the list shorter, then kept_changing
  // The end, once shown (an empty page at 0, or proven by rule E), is fetched again this many times and
  // must be empty each time: a gateway spreading GET /keys over two environments, one of them empty,
  // answered one empty page and `keyrevoke list` called 0 or 380 of 1,194 keys complete (the seventh
  // trial). A page there resumes the listing. 0: the first proof ends it.
  std::uint64_t end_confirmations = 4;
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
  complete,       // every key has been seen (an empty page, proven)
  kept_changing,  // the fetch bound was reached before the end: the listing is incomplete
};

// What one consume() emits: positions of the keys to emit, each hash once over the whole listing.
struct pager_emission {
  std::vector<std::size_t> page;  // into the page just consumed, in list order
  std::vector<std::size_t> held;  // into the page held until now (rule E), emitted after `page`
};

class list_pager {
 public:
  explicit list_pager(const list_pager_config& config = {});

  pager_status status() const noexcept { return status_; }
  std::size_t offset() const noexcept { return offset_; }

  // The page fetched at offset(). After it, holding() says whether the pager now holds this page
  // (the caller keeps its objects: a later emission's `held` positions point into it).
  pager_emission consume(std::span<const list_entry> page);

  bool holding() const noexcept { return holding_; }
  // The last consume() was an end check that found the list shorter than its empty page said (keys
  // still being deleted): waiting a little before the next fetch makes the next check likelier to hold.
  bool settling() const noexcept { return settling_; }

  std::uint64_t fetches() const noexcept { return fetches_; }
  std::uint64_t step_backs() const noexcept { return step_backs_; }
  std::uint64_t emitted() const noexcept { return emitted_; }
  std::uint64_t end_checks() const noexcept { return end_checks_; }  // failed ones (settling)
  std::uint64_t fetch_limit() const noexcept;
  std::size_t largest_page() const noexcept { return largest_; }  // 0 until a non-empty page
  std::size_t overlap() const noexcept { return overlap_; }
  double drift() const noexcept { return drift_; }

 private:
  struct held_page {
    std::size_t offset = 0;
    std::uint64_t fetch = 0;
    std::vector<list_entry> entries;  // empty: an empty page at offset > 0
  };

  bool anchored(std::span<const list_entry> page) const;
  void check_order(std::span<const list_entry> page);
  bool measure_drift(std::span<const list_entry> page, std::size_t already_seen);
  bool emit(const list_entry& e);
  // past_shorter: the page was fetched just past a shorter anchored page (steps back 1, not its size).
  void hold_and_step_back(std::span<const list_entry> page, bool past_shorter);
  void finish_fetch();

  list_pager_config config_;
  pager_status status_ = pager_status::fetch;
  std::size_t offset_ = 0;
  std::size_t overlap_ = 1;  // entries of the last page fetched again by the next
  std::size_t back_ = 1;     // the last step back
  bool missing_ = false;     // the last page was held (steps back double)
  bool last_was_forward_ = false;
  bool past_shorter_ = false;  // the next offset is just past a shorter anchored page (the tail hint)
  bool order_known_ = true;    // created_at present everywhere and non-increasing within pages
  std::optional<unix_micros> oldest_emitted_;
  std::size_t largest_ = 0;        // the largest page seen
  std::size_t smallest_ = 0;       // the smallest non-empty page seen (the fetch bound's unit)
  std::size_t previous_size_ = 0;  // the size of the last non-empty page
  std::optional<held_page> held_;  // rule E
  std::optional<std::size_t> end_at_;  // the end shown, being fetched again (end_confirmations)
  std::uint64_t end_empties_ = 0;      // empty fetches there since
  bool holding_ = false;
  bool settling_ = false;
  // The last usable key of the frontier page, its index then, and the fetch that saw it: the drift.
  std::optional<key_hash> boundary_;
  std::size_t boundary_index_ = 0;
  std::uint64_t boundary_fetch_ = 0;
  double drift_ = 0.0;       // keys the list shifts left per fetch (smoothed), >= 0
  double pages_read_ = 0.0;  // sum over pages of (new keys / page size)
  hash_set seen_;
  std::uint64_t fetches_ = 0;
  std::uint64_t step_backs_ = 0;
  std::uint64_t emitted_ = 0;
  std::uint64_t end_checks_ = 0;
};

}  // namespace keyrevoke::core
