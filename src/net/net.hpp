#pragma once
// Namespace aliases for the network layer (chat-multi's net.hpp).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

namespace mediaspool::net {
namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
} // namespace mediaspool::net
