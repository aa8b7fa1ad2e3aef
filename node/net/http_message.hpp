// HTTP requests and responses as plain structs: what handlers see and
// return. No Beast or Asio here, so node/api and node/cli include this
// without paying for them (ARCHITECTURE.md, compile time).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/pki/pki.hpp"

namespace node::net {

using http_headers = std::vector<std::pair<std::string, std::string>>;

// The first value of a header, compared case-insensitively; nullptr if absent.
const std::string* find_header(const http_headers& h, std::string_view name);

struct http_request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // as sent: path and query
  std::string path;    // target up to '?', not percent-decoded
  std::string query;   // after '?', raw
  http_headers headers;
  std::string body;
  std::string remote;    // "ip:port" of the peer
  std::string listener;  // "sync", "api", "admin": which listener took it
  // Who the client certificate names, extracted once after the TLS
  // handshake, only when the certificate chained to our CA. Absent on plain
  // listeners and for clients without a certificate (api, bearer tokens).
  std::optional<pki::identity> peer;

  const std::string* header(std::string_view name) const { return find_header(headers, name); }
};

struct http_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  http_headers headers;  // extra headers (Allow, Retry-After, ...)
  // A response that is not ready yet: when set, the server calls it with a
  // function to hand the real response to — once, from any thread — and
  // frees the I/O thread meanwhile (an audited API answer waits for its
  // group commit this way). The other members are then ignored.
  std::function<void(std::function<void(http_response)>)> later;
  // The route that answered, for /metrics ("/api/v1/subjects/{id}/records"):
  // set by the router, bounded by the routes there are.
  std::string endpoint;

  static http_response text(int status, std::string body);
  static http_response json(int status, std::string body);
  // The project's error shape (PRODUCT.md §8): {"error": CODE, "detail": TEXT}.
  static http_response error(int status, std::string_view code, std::string_view detail);

  const std::string* header(std::string_view name) const { return find_header(headers, name); }
};

// A JSON string literal for `s`, quotes included (UTF-8 passed through,
// control characters escaped).
std::string json_quote(std::string_view s);

// The value of `name` in a query string "a=1&b=2", the first if repeated;
// nothing when absent. Names and values are percent-decoded ("+" is a
// space), as client libraries encode them (a comma is often sent as %2C);
// a value that is not valid percent-encoding is given as it came, so the
// caller's check names it.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// `s` with %XX sequences decoded (and "+" as a space when `plus_is_space`);
// nothing when a "%" is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

// `s` as a whole number 0..2^64-1; nothing for anything else ("", "-1",
// "12abc", "+1", one past 2^64).
std::optional<std::uint64_t> whole_number(std::string_view s);

// "Not Found" for 404, "" when unknown.
std::string_view reason_phrase(int status);

}  // namespace node::net
