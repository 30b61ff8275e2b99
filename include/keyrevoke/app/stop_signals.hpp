#pragma once
// Stop requests: SIGINT, SIGTERM and SIGHUP, caught from the first line of main to the process's exit
// (issue 15, items 6 and 7).
//
// Why not asio::signal_set alone: a set installs its handler while it exists and puts back SIG_DFL when
// the last one goes. Between the pre-run steps (each with its own io_context) a signal then took the
// default action: exit 143 for a SIGTERM, and as PID 1 in a container (the kernel drops signals that
// PID 1 has no handler for) nothing at all, so the run went on deleting keys. SIGHUP (an SSH session
// dropping) killed a run between a DELETE and its row.
//
// What a stop does depends on what the process is doing:
//  - by default (parsing options, reading files, --dry-run, --plan, the pre-run checks): nothing is in
//    flight and nothing is written that a stop could tear, so the handler says so and exits 130 at once;
//  - while a stop_deferral is alive (the pre-run network steps, the run, `keyrevoke list`'s listing): the
//    handler only counts the signal and wakes the stop_watch (app/stop_watch.hpp) of whoever owns it,
//    who stops the way it must (the run: the two-stage stop, core::run_scheduler::on_signal).
// SIGHUP is a stop like SIGTERM; it also stops writes to the terminal that hung up (forget_terminal).

#include <string_view>

namespace keyrevoke::app {

// Installs the handlers for SIGINT, SIGTERM and SIGHUP (SA_RESTART) and ignores SIGPIPE. Once, from
// main, after open_stderr_output() (app/stderr_output.hpp); later calls do nothing.
void install_stop_handlers() noexcept;

// Stop signals received since install_stop_handlers() (0: none).
unsigned stop_requests() noexcept;
inline bool stop_requested() noexcept { return stop_requests() != 0; }

// The number of the last stop signal received (SIGINT, SIGTERM, SIGHUP), 0 before any.
int last_stop_signal() noexcept;

// The word for a stop signal in messages: "interrupted" (SIGINT), "terminated" (SIGTERM), "hung up"
// (SIGHUP).
std::string_view stop_word(int signal_number) noexcept;

// The read end of the handlers' self-pipe (non-blocking, close-on-exec): readable after a stop signal
// (one byte each; read them to wait again). -1 before install_stop_handlers() (unit tests): no stop
// ever comes.
int stop_notify_fd() noexcept;

// While one is alive, a stop signal is left to a stop_watch instead of ending the process at once.
// Scopes nest. The owner checks stop_requested() when its scope ends: a signal may have arrived after
// its watch last looked.
class stop_deferral {
 public:
  stop_deferral() noexcept;
  ~stop_deferral();
  stop_deferral(const stop_deferral&) = delete;
  stop_deferral& operator=(const stop_deferral&) = delete;
};

// From now on a stop signal never ends the process at once (a run opened its report: its rows, its
// summary and its exit code must be written whatever comes later).
void defer_stops_until_exit() noexcept;

}  // namespace keyrevoke::app
