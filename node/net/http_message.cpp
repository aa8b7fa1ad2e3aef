#include "node/net/http_message.hpp"

#include "store/model/validate.hpp"

#include <charconv>
#include <cstdio>

namespace node::net {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

const std::string* find_header(const http_headers& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (iequal(k, name)) return &v;
  return nullptr;
}

http_response http_response::text(int status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http_response http_response::json(int status, std::string body) {
  http_response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

http_response http_response::error(int status, std::string_view code, std::string_view detail) {
  return json(status, "{\"error\":" + json_quote(code) + ",\"detail\":" + json_quote(detail) + "}");
}

// The one JSON string writer of the project; bytes that are not UTF-8
// (from a client's request, say) become U+FFFD so the answer stays JSON.
std::string json_quote(std::string_view s) {
  std::string out;
  store::model::append_json_string(out, store::model::printable(s));
  return out;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

std::optional<std::uint64_t> whole_number(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i] == '+' && plus_is_space ? ' ' : s[i];
    }
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto part = query.substr(0, query.find('&'));
    auto eq = part.find('=');
    if (eq != std::string_view::npos && percent_decode(part.substr(0, eq), true) == name) {
      auto raw = part.substr(eq + 1);
      return percent_decode(raw, true).value_or(std::string(raw));
    }
    query = part.size() == query.size() ? std::string_view{} : query.substr(part.size() + 1);
  }
  return std::nullopt;
}

}  // namespace node::net
