// A small router: method + exact path, or method + path prefix (for
// `/api/v1/subjects/{uscc}/...`, whose handler parses the rest itself).
// Plain C++: routing is tested without sockets.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "node/net/http_message.hpp"

namespace node::net {

// Handlers run on an I/O thread (see node/net/README.md): they must be
// quick. Anything that scans or exports must move off-thread. A handler may
// throw: the server answers 500 and logs it. The request is the handler's to
// take the body from (a sync batch is megabytes: the worker pool moves it
// rather than copy it); the rest must stay, the server logs it.
using http_handler = std::function<http_response(http_request&)>;

class http_router {
public:
  // Exact path, e.g. add("GET", "/healthz", h).
  void add(const std::string& method, const std::string& path, http_handler h);
  // Every path starting with `prefix`; the longest matching prefix wins.
  // Exact routes are tried first. `suffixes` name the endpoints under it for
  // metrics: PREFIX{id}/SUFFIX; any other path is PREFIX{id} or PREFIX{id}/*.
  void add_prefix(const std::string& method, const std::string& prefix, http_handler h,
                  const std::vector<std::string>& suffixes = {});

  // The handler's answer; 404 {"error":"not_found"} for an unknown path, 405
  // {"error":"method_not_allowed"} with Allow when the path exists under
  // other methods. HEAD falls back to GET (the server drops the body).
  http_response dispatch(http_request& req) const;
  // The endpoint dispatch names in its answers, for a path (metrics).
  std::string endpoint_for(const std::string& path) const;
  // Called with dispatch's own 404 / 405 answer, when set: the API audits
  // and rate-limits those requests like any other.
  std::function<http_response(http_request&, http_response)> on_unrouted;

private:
  struct route {
    std::string prefix;
    std::map<std::string, http_handler> by_method;
    std::vector<std::string> suffixes;
  };
  static std::string endpoint_of(const route& r, const std::string& path);
  http_response on_route(const std::map<std::string, http_handler>& by_method, http_request& req) const;

  std::map<std::string, std::map<std::string, http_handler>> exact_;  // path → method → handler
  std::vector<route> prefixes_;                                       // longest first
};

}  // namespace node::net
