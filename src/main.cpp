// keyrevoke: bulk revocation of ModelGates API keys. Thin: options in, exit code out.
#include "keyrevoke/app/options.hpp"
#include "keyrevoke/app/revoke.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <variant>

int main(int argc, char** argv) {
  using namespace keyrevoke::app;
  std::signal(SIGPIPE, SIG_IGN);
  try {
    auto parsed = parse_command_line(argc, argv, std::getenv("MODELGATES_BASE_URL"));
    if (auto* done = std::get_if<early_exit>(&parsed)) {
      std::fputs(done->text.c_str(), done->code == 0 ? stdout : stderr);
      return done->code;
    }
    const options& opts = std::get<options>(parsed);
    if (opts.dry_run) return run_dry_run(opts);

    auto key = load_management_key(opts, std::getenv("MODELGATES_MANAGEMENT_KEY"));
    if (auto* failed = std::get_if<early_exit>(&key)) {
      std::fputs(failed->text.c_str(), stderr);
      return failed->code;
    }
    return run_revocation(opts, std::get<std::string>(key));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "keyrevoke: internal error: %s\n", e.what());
    return exit_incomplete;
  }
}
