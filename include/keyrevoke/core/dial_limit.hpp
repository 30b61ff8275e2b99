#pragma once
// How many connections the pool may have open or being dialled at once: a limit that follows a server
// accepting fewer connections than --concurrency asks for. Pure: no clock (one burst of failures is
// told apart from the next by a cut counter), no sockets.
//
// Why: against a server that stops accepting at its connection cap (nginx at worker_connections, a
// listen queue nobody drains), --concurrency 1000 opened 1000 connections; the ones beyond the cap
// waited out --timeout in the TLS handshake, were dialled again, and timed out again: 50 req/s with
// 882 handshake timeouts, against 905 req/s at --concurrency 100 (issue 15, item 5).
//
// The rules: TCP's congestion control (RFC 5681 3.1) with a connection in place of a segment, the
// limit in place of cwnd and the pool's connections (open or being dialled) in place of FlightSize:
//  - Opening (the limit below `threshold`, at first the ceiling): the limit starts at `initial`
//    (RFC 6928's initial window, 10) and each dial that succeeds adds one, up to `ceiling`
//    (--concurrency). So `initial` dials are under way at a time and the connections grow by
//    `initial` per dial round trip. Not TCP's doubling: a dial past a server's cap hangs for
//    --timeout, so what the first overshoot costs stays `initial` failed dials, not the cap's size.
//  - Multiplicative decrease: a dial that fails for want of capacity (refused, reset, or timed out
//    in the TCP connect or the TLS handshake) sets threshold = limit = max(1, in_use / 2), in_use
//    the connections open or being dialled (RFC 5681 (4): ssthresh = FlightSize / 2). One burst is
//    one signal (THROTTLING.md pitfall 1): a failed dial that started before the last cut does not
//    cut again; it was part of the load that caused it.
//  - Additive increase (limit >= threshold): each complete answer adds one to the limit, but only
//    while no dial is pending and the limit binds (in_use >= limit; RFC 7661: do not grow a window
//    the sender does not use). So after a cut the limit climbs back at once to the connections that
//    stay open, and above them a single new connection at a time probes the server.
// Dials that end without saying anything about capacity (the run stopping, a certificate not
// trusted) are abandoned: they neither cut nor grow the limit.

#include <cstddef>
#include <cstdint>

namespace keyrevoke::core {

struct dial_limit_config {
  unsigned ceiling = 16;  // --concurrency: connections at most, >= 1
  unsigned initial = 10;  // the first limit and the dials under way while opening, in [1, ceiling]
};

class dial_limit {
 public:
  explicit dial_limit(const dial_limit_config& config) noexcept;

  // May one more connection be dialled while `in_use` are open or being dialled?
  bool may_dial(std::size_t in_use) const noexcept { return in_use < limit_; }

  // A dial starts. The ticket it returns goes to on_dial_failed.
  std::uint64_t on_dial_started() noexcept;
  // The dial connected (TCP, and TLS when asked for).
  void on_dial_succeeded() noexcept;
  // The dial failed for want of capacity (see the rules); in_use counts it.
  void on_dial_failed(std::uint64_t ticket, std::size_t in_use) noexcept;
  // The dial ended and tells nothing about capacity.
  void on_dial_abandoned() noexcept;
  // A complete answer arrived over one of the pool's connections; in_use: open or being dialled.
  void on_answer(std::size_t in_use) noexcept;

  unsigned limit() const noexcept { return limit_; }
  unsigned threshold() const noexcept { return threshold_; }
  unsigned pending() const noexcept { return pending_; }  // dials under way
  bool opening() const noexcept { return limit_ < threshold_; }
  std::uint64_t cuts() const noexcept { return cuts_; }          // times the limit was cut
  std::uint64_t failures() const noexcept { return failures_; }  // failed dials, every burst's
  unsigned lowest() const noexcept { return lowest_; }           // the lowest limit a cut set; 0: none

 private:
  unsigned ceiling_;
  unsigned limit_;
  unsigned threshold_;
  unsigned pending_ = 0;
  unsigned lowest_ = 0;
  std::uint64_t cuts_ = 0;
  std::uint64_t failures_ = 0;
};

}  // namespace keyrevoke::core
