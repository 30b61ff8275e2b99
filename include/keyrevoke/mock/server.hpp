#pragma once
// The mock server: builds the store, limits and faults from the options, then serves HTTPS (or
// HTTP) on loopback with N io threads until SIGINT/SIGTERM. Asio/Beast stay in server.cpp.

#include "keyrevoke/mock/options.hpp"

namespace keyrevoke::mock {

// Returns the process exit code: 0 after a signal-driven shutdown, 1 on a startup failure.
int run_server(const mock_options& options);

// Writes `contents` to `path` via `path.tmp` + rename, so readers never see a partial file.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace keyrevoke::mock
