// What a connection counts against for max_per_address.
#include <doctest/doctest.h>

#include "node/net/client_address.hpp"

using boost::asio::ip::make_address;
using node::net::client_of;

TEST_CASE("client address: IPv4 as itself, IPv6 by its /64, a mapped IPv4 as the IPv4 it is") {
  CHECK(client_of(make_address("192.0.2.7")) == "192.0.2.7");
  CHECK(client_of(make_address("2001:db8:1:2::7")) == "2001:db8:1:2::/64");
  // Every address of one /64 is one client; another /64 another.
  CHECK(client_of(make_address("2001:db8:1:2:ffff:ffff:ffff:1")) == "2001:db8:1:2::/64");
  CHECK(client_of(make_address("2001:db8:1:3::7")) == "2001:db8:1:3::/64");
  CHECK(client_of(make_address("::ffff:192.0.2.7")) == "192.0.2.7");
  CHECK(client_of(make_address("::1")) == "::/64");
}
