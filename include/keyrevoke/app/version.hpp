#pragma once
// What `--version` prints: the program's version and the libraries it was built with and runs with.

#include <string>

namespace keyrevoke::app {

// The --version text, several lines ending in '\n':
//   keyrevoke 0.1.0 (git <describe>)          the project version, and `git describe` at build time
//                                              when the source was a git checkout
//   built with Boost 1.81.0, OpenSSL 3.0.x    BOOST_LIB_VERSION and OPENSSL_VERSION_TEXT at compile time
//   running with OpenSSL 3.0.y                OpenSSL_version(OPENSSL_VERSION) of the loaded libcrypto
// A bug report should carry all three lines: a Debian security update changes the third, not the second.
std::string version_text();

}  // namespace keyrevoke::app
