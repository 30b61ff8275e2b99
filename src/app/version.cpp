#include "keyrevoke/app/version.hpp"

// KEYREVOKE_GIT_DESCRIBE: `git describe --always --dirty` at build time, or "" outside a git checkout
// (the build directory's generated/, written by cmake/git-describe.cmake).
#include "keyrevoke/git_describe.hpp"

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <boost/version.hpp>
#include <string>

namespace keyrevoke::app {

std::string version_text() {
  std::string text = "keyrevoke " KEYREVOKE_VERSION;
  const std::string describe = KEYREVOKE_GIT_DESCRIBE;
  if (!describe.empty()) text += " (git " + describe + ")";
  // BOOST_LIB_VERSION is "1_81": the dotted form is what Debian's package names and Boost's notes use.
  text += "\nbuilt with Boost " + std::to_string(BOOST_VERSION / 100000) + "." +
          std::to_string(BOOST_VERSION / 100 % 1000) + "." + std::to_string(BOOST_VERSION % 100) + ", " +
          OPENSSL_VERSION_TEXT + "\nrunning with " + OpenSSL_version(OPENSSL_VERSION) + "\n";
  return text;
}

}  // namespace keyrevoke::app
