// keyrevoke: bulk revocation of ModelGates API keys. Thin: options in, exit code out.
#include "keyrevoke/app/list_command.hpp"
#include "keyrevoke/app/options.hpp"
#include "keyrevoke/app/report_command.hpp"
#include "keyrevoke/app/revoke.hpp"
#include "keyrevoke/app/stderr_output.hpp"
#include "keyrevoke/app/stop_signals.hpp"
#include "keyrevoke/core/redact.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <variant>

#include <fcntl.h>
#include <unistd.h>

namespace {

// A process started with stdin, stdout or stderr closed would hand that number to the next file it
// opens: the report would receive the summary. Point any closed one at /dev/null first.
void ensure_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1) {
      const int null_fd = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (null_fd >= 0 && null_fd != fd) ::close(null_fd);  // it took the lowest free number: fd
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace keyrevoke::app;
  ensure_standard_descriptors();
  // Before anything that can take time: a signal must never find the default action (exit 143, or
  // nothing at all as PID 1 in a container) nor a write to a paused terminal on the way.
  open_stderr_output();
  install_stop_handlers();
  // The key, wherever it is pasted by mistake (a file name, an option's value), is never echoed.
  if (const char* env_key = std::getenv("MODELGATES_MANAGEMENT_KEY"); env_key != nullptr)
    keyrevoke::core::set_known_secret(env_key);
  try {
    // `keyrevoke list ...` selects keys; anything else is a revocation run (a file named "list" is ./list).
    if (argc > 1 && std::strcmp(argv[1], "list") == 0) {
      return run_list_command(argc - 1, argv + 1, std::getenv("MODELGATES_BASE_URL"),
                              std::getenv("MODELGATES_MANAGEMENT_KEY"));
    }
    // `keyrevoke report FILE...` reads reports, sends nothing (a hash file named "report" is ./report).
    if (argc > 1 && std::strcmp(argv[1], "report") == 0) return run_report_command(argc - 1, argv + 1);
    auto parsed = parse_command_line(argc, argv, std::getenv("MODELGATES_BASE_URL"));
    if (auto* done = std::get_if<early_exit>(&parsed)) return show_early_exit(*done, "keyrevoke");
    const options& opts = std::get<options>(parsed);
    if (opts.dry_run) return run_dry_run(opts);
    if (opts.plan) return run_plan(opts);

    auto key = load_management_key(opts, std::getenv("MODELGATES_MANAGEMENT_KEY"));
    if (auto* failed = std::get_if<early_exit>(&key)) {
      std::fputs(failed->text.c_str(), stderr);
      report_outputs_before_run(opts, failed->code);
      return failed->code;
    }
    keyrevoke::core::set_known_secret(std::get<std::string>(key));
    return run_revocation(opts, std::get<std::string>(key));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "keyrevoke: internal error: %s\n", e.what());
    return exit_incomplete;
  }
}
