// The bank-facing API on the `api` listener (PRODUCT.md §8): banks and the
// enterprise portal, authenticated by client certificate or bearer token;
// consents; authorized query; verification; the access log. Every request,
// allowed or refused, is on the hash-chained audit log before its answer.
#pragma once

#include <cstdint>

#include "config/config.hpp"
#include "config/live.hpp"
#include "node/net/http_router.hpp"
#include "store/environment.hpp"
#include "store/writer.hpp"

namespace node::api {

struct api_context {
  const config::node_config& cfg;  // as started; limits and codes are read from `live`
  const config::live_settings& live;
  store::environment& env;
  store::writer& writer;
};

// Sets the audit chain's hash (SHA-256) for this process, then adds
// /api/v1/consents, /api/v1/subjects/{uscc}/records, /api/v1/verify and
// /api/v1/subjects/{uscc}/access-log. `ctx` must outlive the router.
void add_api_routes(net::http_router& r, api_context& ctx);

// A request the HTTP layer refused once its header was read (413: a body
// over the listener's limit): audited like any other, answered after.
net::http_response audit_refusal(api_context& ctx, const net::http_request& req, net::http_response refusal);

// The audit chain's hash: hex SHA-256 of prev_hex || text.
std::string chain_hash(std::string_view prev_hex, std::string_view text);

// How long answers waited for their audit entry to be durable, since start.
struct audit_latency {
  std::uint64_t count = 0;
  double sum_seconds = 0, max_seconds = 0;
  std::uint64_t over_10ms = 0;  // answers that waited longer than 10 ms
};
audit_latency audit_commit_latency();

// Walks the audit log recomputing the chain; empty when intact, else the
// first break (which entry, and whether altered, missing or out of order).
// From `from_seq` (0: the whole log; later: the tail, its first link as found).
// `head`, when given: the last entry read (its seq and hash), the anchor a
// later `audit verify --head SEQ:HASH` holds the log to: a chain cannot show
// its own newest entries cut off, an anchor kept elsewhere can.
struct audit_head {
  std::uint64_t seq = 0;
  std::string hash;
};
std::string verify_audit_chain(store::environment& env, std::uint64_t& entries, std::uint64_t from_seq = 0,
                               audit_head* head = nullptr);
// Empty when entry `expected.seq` is in the log with `expected.hash`; else
// what is wrong (cut off, or another chain).
std::string check_audit_head(store::environment& env, const audit_head& expected);

inline constexpr std::size_t max_api_body = 1 << 20;  // 413 beyond

}  // namespace node::api
