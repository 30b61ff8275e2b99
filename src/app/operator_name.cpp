#include "keyrevoke/app/operator_name.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "keyrevoke/core/redact.hpp"

namespace keyrevoke::app {

std::string choose_operator_name(const char* env_user, const char* env_logname, const std::string& account,
                                 uid_t uid) {
  for (const char* name : {env_user, env_logname, account.c_str()}) {
    if (name == nullptr || *name == '\0') continue;
    // An operator name that looks like a key is not one: never write it.
    if (core::looks_like_secret(name)) continue;
    return name;
  }
  return "uid " + std::to_string(uid);
}

std::string account_name(uid_t uid) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<std::size_t>(hint) : 1024);
  for (int tries = 0; tries < 8; ++tries) {
    passwd entry{};
    passwd* found = nullptr;
    const int error = ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
    if (error == ERANGE) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (error != 0 || found == nullptr || found->pw_name == nullptr) return {};
    return found->pw_name;
  }
  return {};
}

std::string current_operator_name() {
  // Read before any thread starts: nothing sets the environment concurrently.
  const char* user = std::getenv("USER");        // NOLINT(concurrency-mt-unsafe)
  const char* logname = std::getenv("LOGNAME");  // NOLINT(concurrency-mt-unsafe)
  const uid_t uid = ::getuid();
  return choose_operator_name(user, logname, account_name(uid), uid);
}

}  // namespace keyrevoke::app
