#pragma once
// stderr for what a run writes while it runs (progress, warnings, the summary), without ever blocking
// the event loop (issue 15, item 8). A terminal paused with Ctrl-S (XOFF), a pty nobody reads or a full
// pipe makes a plain write(2) block until it drains: with the write on the event loop, every deletion
// and every signal waited for it. Here a terminal, pipe or FIFO is reopened once with O_NONBLOCK (a
// file description of our own: the shell's, shared through fd 2, keeps its flags), and a write that
// would block is cut short and the rest dropped. Files and /dev/null are written as they are (they do
// not wait for a reader).
//
// After a hangup (SIGHUP: an SSH session dropped) the terminal is gone: forget_terminal() points fd 1,
// fd 2 (those that were terminals) and this writer at /dev/null, so no later write blocks, fails with
// EIO, or writes to a terminal a new session may own.

#include <chrono>
#include <cstddef>
#include <string_view>

namespace keyrevoke::app {

// Reopens stderr for non-blocking writes when it is a terminal, pipe or FIFO. Once, from main, after
// fds 0-2 are known to be open; without it the functions below write to fd 2 after poll(2) says it
// can take bytes (nearly never blocking, not guaranteed).
void open_stderr_output() noexcept;

// stderr was a terminal when open_stderr_output() ran (or, before it, is one now), and no hangup
// has come since: whether progress is drawn in place ("\r" and erase-line) and worth drawing at all.
bool stderr_is_terminal() noexcept;

// The terminal's width in columns, for lines that must not wrap: stderr's window size (TIOCGWINSZ),
// else a positive $COLUMNS, else 80. Read again on each call (one ioctl): a resized window (SIGWINCH)
// is seen at the next call.
std::size_t stderr_columns() noexcept;

// Writes text if stderr takes it now; never blocks. False when some or all of it was dropped
// (the terminal is not draining, or it is gone).
bool write_stderr_now(std::string_view text) noexcept;

// Writes text, waiting at most `bound` in total for a stderr that is not draining (the summary at the
// end of a run: a user who paused the terminal still gets it when they resume, a pty nobody reads
// does not hold the exit). False when some of it was dropped.
bool write_stderr_within(std::string_view text, std::chrono::milliseconds bound) noexcept;

// The terminal hung up: from now on fd 1 and fd 2 (those that were terminals) and this writer go to
// /dev/null. Async-signal-safe (open, dup2): the SIGHUP handler calls it.
void forget_terminal() noexcept;

// For a signal handler: one write(2), never blocking, to where write_stderr_now writes.
// Async-signal-safe.
void write_stderr_from_signal_handler(const char* text, std::size_t size) noexcept;

}  // namespace keyrevoke::app
