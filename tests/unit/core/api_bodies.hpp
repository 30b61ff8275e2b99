#pragma once
// Answer bodies the verdict and verification tests share: the API's key object in each state, its own
// "no such key", and what a wrong route answers instead (../shared/API.md).

#include <string>

namespace keyrevoke::test {

inline const std::string disabled_key = R"({"data":{"hash":"ab","name":"ci","disabled":true,"usage":0}})";
inline const std::string enabled_key = R"({"data":{"hash":"ab","name":"ci","disabled":false,"usage":0}})";
inline const std::string api_not_found =
    R"({"error":{"code":404,"message":"Key not found","metadata":null},"modelgates_metadata":null,"user_id":null})";
inline const std::string route_not_found = "<html><head><title>404 Not Found</title></head><body>nginx</body></html>";

}  // namespace keyrevoke::test
