#include "node/net/http_router.hpp"

#include <algorithm>

namespace node::net {

void http_router::add(const std::string& method, const std::string& path, http_handler h) {
  exact_[path][method] = std::move(h);
}

void http_router::add_prefix(const std::string& method, const std::string& prefix, http_handler h,
                             const std::vector<std::string>& suffixes) {
  auto it = std::find_if(prefixes_.begin(), prefixes_.end(), [&](const route& r) { return r.prefix == prefix; });
  if (it == prefixes_.end()) {
    prefixes_.push_back({prefix, {}, {}});
    // Longest first, so /api/v1/subjects/ beats /api/v1/.
    std::stable_sort(prefixes_.begin(), prefixes_.end(),
                     [](const route& a, const route& b) { return a.prefix.size() > b.prefix.size(); });
    it = std::find_if(prefixes_.begin(), prefixes_.end(), [&](const route& r) { return r.prefix == prefix; });
  }
  it->by_method[method] = std::move(h);
  it->suffixes.insert(it->suffixes.end(), suffixes.begin(), suffixes.end());
}

// The path with the caller's id replaced, so a metric has one series per
// endpoint and not one per enterprise.
std::string http_router::endpoint_of(const route& r, const std::string& path) {
  std::string_view rest = std::string_view(path).substr(r.prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return r.prefix + "{id}";
  auto suffix = rest.substr(slash + 1);
  for (const auto& s : r.suffixes)
    if (suffix == s) return r.prefix + "{id}/" + s;
  return r.prefix + "{id}/*";
}

http_response http_router::on_route(const std::map<std::string, http_handler>& by_method,
                                    http_request& req) const {
  auto h = by_method.find(req.method);
  if (h == by_method.end() && req.method == "HEAD") h = by_method.find("GET");
  if (h != by_method.end()) return h->second(req);
  std::string allow;
  for (const auto& [m, _] : by_method) allow += (allow.empty() ? "" : ", ") + m;
  if (by_method.count("GET") && !by_method.count("HEAD")) allow += ", HEAD";  // answered as GET, above
  auto r = http_response::error(405, "method_not_allowed",
                                req.method + " is not allowed on " + req.path + "; allowed: " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

http_response http_router::dispatch(http_request& req) const {
  auto named = [&](http_response r) {
    r.endpoint = endpoint_for(req.path);
    return r;
  };
  auto unrouted = [&](http_response r) {
    auto endpoint = r.endpoint;
    if (on_unrouted) r = on_unrouted(req, std::move(r));
    r.endpoint = endpoint;
    return r;
  };
  const std::map<std::string, http_handler>* by_method = nullptr;
  if (auto it = exact_.find(req.path); it != exact_.end()) by_method = &it->second;
  for (const auto& r : prefixes_)
    if (!by_method && req.path.starts_with(r.prefix)) by_method = &r.by_method;
  if (!by_method) return unrouted(named(http_response::error(404, "not_found", "no resource at " + req.path)));
  auto h = by_method->find(req.method);
  if (h == by_method->end() && req.method == "HEAD") h = by_method->find("GET");
  if (h == by_method->end()) return unrouted(named(on_route(*by_method, req)));
  return named(h->second(req));
}

std::string http_router::endpoint_for(const std::string& path) const {
  if (exact_.contains(path)) return path;
  for (const auto& r : prefixes_)
    if (path.starts_with(r.prefix)) return endpoint_of(r, path);
  return "(no route)";
}

}  // namespace node::net
