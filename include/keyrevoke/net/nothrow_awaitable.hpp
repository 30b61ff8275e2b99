#pragma once
// The project's one completion token for the client's coroutines: as_tuple(use_awaitable) hands back
// (error_code, result...) instead of throwing, so a failure is a value the caller turns into a core::errc
// (core/errc.hpp) and then a verdict, never an exception through a coroutine. Include only from .cpp
// files that already pay for Asio.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace keyrevoke::net {

inline constexpr auto nothrow_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace keyrevoke::net
