// keyrevoke-mock: parse the command line, run the mock server (src/mock/server.cpp).
#include <cstdlib>
#include <iostream>
#include <variant>

#include "keyrevoke/mock/options.hpp"
#include "keyrevoke/mock/server.hpp"

int main(int argc, char** argv) {
  auto parsed = keyrevoke::mock::parse_options(argc, argv, std::getenv("MODELGATES_MANAGEMENT_KEY"),
                                               std::cout, std::cerr);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  return keyrevoke::mock::run_server(std::get<keyrevoke::mock::mock_options>(parsed));
}
