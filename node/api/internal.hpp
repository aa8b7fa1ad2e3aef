// Private to node/api: what one request did (for its audit entry), the
// principal behind it, consents, JSON helpers.
#pragma once

#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "node/api/api.hpp"
#include "node/api/strict_json.hpp"
#include "node/net/http_message.hpp"
#include "store/access.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"

namespace node::api {

namespace json = boost::json;

// Filled by a handler: the audit entry names these.
struct api_call {
  store::principal who;
  std::string subject, consent, detail;
  bool used = false;  // the consent was used: its use count and last use move with the audit entry
  // What the request changes (a consent, a record) commits in the same
  // transaction as its audit entry: an access and its effect never part.
  store::write_batch changes;
  // When set, the answer's body is made from the commit's result.
  std::function<std::string(const store::batch_result&)> body_after_commit;
};

using api_handler = std::function<net::http_response(api_context&, const net::http_request&, api_call&)>;

// Authenticates, rate-limits, runs `h` and appends the audit entry (with
// the consent's use, when one was used) durably before answering.
net::http_handler audited(api_context& ctx, api_handler h);

// {"error": code, "detail": text}, and the same detail on the audit entry.
net::http_response refuse(api_call& call, int status, std::string_view code, const std::string& detail);

// The request body as a JSON object with only `allowed` keys, or a 400.
std::optional<json::object> body_object(const net::http_request& req, std::initializer_list<std::string_view> allowed,
                                        std::string& why);

// Dates in consents are China's (China Standard Time, UTC+8, no daylight
// saving): "valid until 2026-11-28" ends at midnight there, not in UTC.
constexpr std::int64_t china_offset_ms = 8 * 3'600'000;

bool financing_purpose(std::string_view p);

// The live consent covering (bank, subject, purpose, categories, level), or
// why there is none — the most specific reason, for the bank to act on.
struct consent_match {
  std::optional<store::consent> granted;
  std::string why;
};
// Whether a matching consent covers all a request needs (verify: claims on
// personal fields or commercial secrets); empty: any does.
using consent_fit = std::function<bool(const store::consent&)>;
consent_match find_consent(store::reader& rd, const std::string& bank, const std::string& subject,
                           const std::string& purpose, const std::vector<std::string>& categories,
                           store::consent_level at_least, std::int64_t now_ms, const consent_fit& fits = {});

json::object consent_json(const store::consent& c, std::int64_t now_ms);
std::int64_t now_ms();

void add_consent_routes(net::http_router& r, api_context& ctx);
void add_query_routes(net::http_router& r, api_context& ctx);
void add_feedback_routes(net::http_router& r, api_context& ctx);

}  // namespace node::api
