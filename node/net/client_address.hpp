// The client a connection counts against for the per-address limit
// (max_per_address): an IPv4 address, or the /64 an IPv6 address is in —
// a host is given a whole /64, so counting single IPv6 addresses let one
// client open as many connections as it liked. An IPv4 address mapped
// into IPv6 (a dual-stack listener) counts as that IPv4 address.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <string>

namespace node::net {

inline std::string client_of(const boost::asio::ip::address& a) {
  namespace ip = boost::asio::ip;
  if (a.is_v4()) return a.to_string();
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace node::net
