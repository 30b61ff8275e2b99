// An answer from the server, byte for byte: Beast's response parser with the limits the connection pool
// sets (src/net/connection_pool.cpp: body 64 KiB, header 16 KiB), fed in pieces as a socket delivers
// them (the first input byte chooses the piece size), interim 1xx answers read and dropped as the pool
// does. Never crashes, and a parsed answer never holds more than the limits allow.
// Seen while writing it: a status line "HTTP/1.1 000 ..." parses (status 0).

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"

namespace http = boost::beast::http;

namespace {

constexpr std::uint64_t body_limit = std::uint64_t{64} * 1024;     // connection_pool's default max_body
constexpr std::uint32_t header_limit = std::uint32_t{16} * 1024;  // connection_pool.cpp header_limit

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = std::size_t{data[0]} + 1;  // 1..256 bytes per read
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const std::size_t total = size - 1;
  std::size_t delivered = 0;
  std::string pending;  // received and not yet consumed (the pool's flat_buffer)

  for (int interim = 0; interim < 8; ++interim) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    parser.header_limit(header_limit);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      std::size_t used = 0;
      if (!pending.empty()) {
        used = parser.put(boost::asio::buffer(pending), ec);
        FUZZ_CHECK(used <= pending.size());
        pending.erase(0, used);
        if (ec == http::error::need_more) {
          ec = {};
        } else if (ec) {
          break;
        }
      }
      if (parser.is_done() || used > 0) continue;
      if (delivered == total) {  // the peer closed the connection
        parser.put_eof(ec);
        break;
      }
      const std::size_t n = std::min(piece, total - delivered);
      pending.append(bytes + delivered, n);
      delivered += n;
    }
    if (ec || !parser.is_done()) return 0;

    auto& res = parser.get();
    FUZZ_CHECK(res.body().size() <= body_limit);
    std::size_t header_bytes = 0;
    for (const auto& field : res) header_bytes += field.name_string().size() + field.value().size();
    FUZZ_CHECK(header_bytes <= header_limit);
    // Beast takes any three digits: "000"-"099" parse too, and the pool then treats them as a final
    // answer that the classifier must refuse (they are no HTTP status, RFC 9110 15).
    const unsigned status = res.result_int();
    FUZZ_CHECK(status <= 999);
    // What the pool reads from every answer.
    (void)res.keep_alive();
    (void)res.need_eof();
    (void)res[http::field::retry_after];
    (void)res["X-RateLimit-Reset"];
    if (status < 100 || status >= 200 || status == 101) return 0;  // the final answer
  }
  return 0;
}
