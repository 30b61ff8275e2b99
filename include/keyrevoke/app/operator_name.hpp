#pragma once
// Who ran keyrevoke, for the report's header row: $USER, else $LOGNAME, else the account name of the
// real uid (getpwuid_r: a cron job or a container often has neither variable), else "uid N".

#include <sys/types.h>

#include <string>

namespace keyrevoke::app {

// env_user / env_logname: the variables' values, or null when unset. account: the uid's account name
// as the password database gives it, "" when it has none. The first non-empty one wins; a name that
// looks like a secret (core::looks_like_secret) is skipped, never written.
std::string choose_operator_name(const char* env_user, const char* env_logname, const std::string& account,
                                 uid_t uid);

// The account name of `uid` (getpwuid_r), or "" when the database has no entry or cannot be read.
std::string account_name(uid_t uid);

// choose_operator_name with this process's environment and real uid.
std::string current_operator_name();

}  // namespace keyrevoke::app
