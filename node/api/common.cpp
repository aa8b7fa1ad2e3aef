#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "node/api/internal.hpp"
#include "node/api/rate_limiter.hpp"
#include "node/net/log.hpp"
#include "node/pki/pki.hpp"
#include "store/model/record.hpp"
#include "store/model/uscc.hpp"
#include "store/reader.hpp"

namespace node::api {
namespace {

// Client certificate first (its fingerprint registered with `admin bank
// add --cert`), then a bearer token (stored only as its SHA-256).
// `revoked`: the client certificate is on the revocation list. The TLS
// handshake refuses it on a new connection; a connection made before the
// revocation is refused here, at its next request.
std::optional<store::principal> authenticate(api_context& ctx, const net::http_request& req, bool* revoked = nullptr) {
  store::reader rd(ctx.env);
  if (req.peer && revoked) *revoked = rd.is_revoked(req.peer->serial_hex);
  if (req.peer)
    if (auto p = rd.principal_by_cert(req.peer->sha256_fingerprint_hex)) return p;
  const auto* auth = req.header("Authorization");
  // The scheme's name is case-insensitive (RFC 7235): "bearer" is "Bearer".
  auto bearer = [](std::string_view a) {
    return a.size() > 7 && a[6] == ' ' && std::equal(a.begin(), a.begin() + 6, "bearer", [](char x, char y) {
             return (x | 0x20) == y;
           });
  };
  if (!auth || !bearer(*auth) || auth->size() > 512) return std::nullopt;
  auto token = std::string_view(*auth).substr(7);
  token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));  // RFC 7235 allows more than one space
  return rd.principal_by_token(pki::sha256_hex(token));
}

// What the audit entry needs of the request, kept instead of the request.
struct request_line {
  std::string method, target;
};

store::access_op audit_op(const request_line& req, const api_call& call, int status) {
  store::access_op op;
  op.entry.principal = call.who.id.empty() ? "-" : call.who.id;
  op.entry.method = req.method;
  op.entry.path = req.target;
  op.entry.subject = call.subject;
  op.entry.consent = call.consent;
  op.entry.status = status;
  op.entry.decision = status < 400 ? "allowed" : "refused";
  op.entry.detail = call.detail;
  return op;
}

// The request's changes, its audit entry and its consent's use: one batch.
store::write_batch audit_batch(const request_line& req, api_call& call, int status) {
  store::write_batch b = std::move(call.changes);
  if (status >= 400) b = {};  // a refused request changes nothing
  b.access.push_back(audit_op(req, call, status));
  if (status < 400 && call.used && !call.consent.empty()) {
    store::access_op use;
    use.what = store::access_op::kind::use_consent;
    use.grant.id = call.consent;
    b.access.push_back(std::move(use));
  }
  return b;
}

// Filled on the writer thread, read by /metrics.
std::mutex latency_mu;
audit_latency latency;

void record_latency(std::chrono::steady_clock::time_point since) {
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
  std::lock_guard lk(latency_mu);
  ++latency.count;
  latency.sum_seconds += s;
  latency.max_seconds = std::max(latency.max_seconds, s);
  if (s > 0.010) ++latency.over_10ms;
}

net::http_response unavailable(const std::string& why) {
  net::log::error("audit_failed").kv("reason", why);
  return net::http_response::error(503, "audit_unavailable", "the access could not be recorded, so it is not answered; try again");
}

// Committed: the answer, with a body that needed the commit's result.
net::http_response committed_answer(net::http_response resp, api_call& call, const store::batch_result& r) {
  if (!call.body_after_commit) return resp;
  try {
    resp.body = call.body_after_commit(r);
  } catch (const std::exception& e) {  // committed and audited as allowed: say so, plainly
    resp.body = std::string("{\"result\":\"committed\",\"note\":\"the answer body failed: ") + "see the node log\"}";
    net::log::error("api_answer_failed").kv("reason", e.what());
  }
  return resp;
}

// The batch failed, so nothing of it (its audit entry included) is
// written: the refusal is audited on its own before it is answered. Its
// wait, both commits, counts in the audit latency as any answer's does.
void audit_then_refuse(api_context& ctx, const request_line& req, const api_call& call, net::http_response resp,
                       std::function<void(net::http_response)> done, std::chrono::steady_clock::time_point since) {
  store::write_batch alone;
  alone.access.push_back(audit_op(req, call, resp.status));
  ctx.writer.submit_then(std::move(alone), [resp = std::move(resp), done = std::move(done), since](store::settled_batch f) {
    try {
      std::move(f).get();
      record_latency(since);
      done(resp);
    } catch (const std::exception& e) {
      done(unavailable(e.what()));
    }
  });
}

// What a request whose batch failed in the writer is answered (and its
// audit entry says): the writer's refusal, or 503 when the store failed.
net::http_response refusal_after_commit(std::exception_ptr failed, api_call& call) {
  auto refused = [&](int status, const char* code, const std::exception& e) {
    call.detail = std::string(code) + ": " + e.what();
    return net::http_response::error(status, code, e.what());
  };
  try {
    std::rethrow_exception(failed);
  } catch (const store::consent_not_live_error& e) {
    return refused(403, "no_consent", e);  // withdrawn, or run out, since the handler read it
  } catch (const store::not_owner_error& e) {
    return refused(409, "not_owner", e);
  } catch (const store::access_error& e) {
    return refused(409, "conflict", e);
  } catch (const std::exception& e) {
    call.detail = std::string("failed: ") + e.what();
    return unavailable(e.what());
  } catch (...) {
    call.detail = "failed: an unknown error";
    return unavailable("an unknown error");
  }
}

// The answer goes out only once its audit entry is durable. The I/O thread
// is not held meanwhile: the writer groups the entries of every request in
// flight into one fsync and hands each answer back when it has committed.
// A batch whose change fails (a consent withdrawn meanwhile) is recorded
// as refused, on its own, before the refusal is answered.
net::http_response after_audit(api_context& ctx, const net::http_request& request, net::http_response resp, api_call call) {
  request_line req{request.method, request.target};
  auto b = audit_batch(req, call, resp.status);
  net::http_response deferred;
  deferred.later = [&ctx, b = std::move(b), resp = std::move(resp), call = std::move(call), req = std::move(req)](
                       std::function<void(net::http_response)> done) mutable {
    auto since = std::chrono::steady_clock::now();
    ctx.writer.submit_then(std::move(b), [&ctx, resp = std::move(resp), call = std::move(call), req = std::move(req),
                                          done = std::move(done), since](store::settled_batch f) mutable {
      std::optional<store::batch_result> r;
      try {
        r = std::move(f).get();  // only the commit is in the try: what follows it must never be audited as a failure
      } catch (...) {
        resp = refusal_after_commit(std::current_exception(), call);
      }
      if (!r) return audit_then_refuse(ctx, req, call, std::move(resp), std::move(done), since);
      record_latency(since);
      done(committed_answer(std::move(resp), call, *r));
    });
  };
  return deferred;
}

std::string client_ip(const std::string& remote) {
  auto colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

}  // namespace

audit_latency audit_commit_latency() {
  std::lock_guard lk(latency_mu);
  return latency;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string chain_hash(std::string_view prev_hex, std::string_view text) {
  std::string both(prev_hex);
  both += text;
  return pki::sha256_hex(both);
}

net::http_response refuse(api_call& call, int status, std::string_view code, const std::string& detail) {
  call.detail = std::string(code) + ": " + detail;
  return net::http_response::error(status, code, detail);
}

// A handler that throws is a 500 that is still audited.
net::http_response run_guarded(api_context& ctx, const net::http_request& req, api_call& call, const api_handler& h) {
  try {
    return h(ctx, req, call);
  } catch (const std::exception& e) {
    net::log::error("api_handler_failed").kv("path", req.path).kv("reason", e.what());
    call.changes = {};
    call.body_after_commit = nullptr;
    return refuse(call, 500, "internal", "this request could not be answered; the node log has the details");
  }
}

namespace {

// One limiter for every API request, routed or not. Strangers share a
// bucket per address: their 401s (each audited) are bounded per address.
std::optional<net::http_response> over_rate(api_context& ctx, const net::http_request& req, api_call& call) {
  static rate_limiter limits;
  auto bucket = call.who.id.empty() ? "anon:" + client_ip(req.remote) : call.who.id;
  auto rps = ctx.live.requests_per_second();
  if (limits.allow(bucket, static_cast<double>(rps))) return std::nullopt;
  auto resp = refuse(call, 429, "rate_limited", "more than " + std::to_string(rps) +
                                                    " requests per second ([api] requests_per_second); retry after a second");
  resp.headers.push_back({"Retry-After", "1"});
  return resp;
}

}  // namespace

namespace {

// The enterprise a request is about, for the access log of a request
// refused before its handler read it (an unknown principal, a suspended
// bank, over its rate): the path's {uscc}, or a JSON body's "subject" —
// kept only when it is a valid credit code, as it indexes that log.
std::string subject_of(api_context& ctx, const net::http_request& req) {
  constexpr std::string_view prefix = "/api/v1/subjects/";
  std::string s;
  if (req.path.starts_with(prefix)) {
    s = req.path.substr(prefix.size(), req.path.find('/', prefix.size()) - prefix.size());
  } else if (!req.body.empty() && req.body.size() <= max_api_body) {
    json::error_code ec;
    auto v = json::parse(req.body, ec);
    if (const auto* o = ec ? nullptr : v.if_object())
      if (const auto* p = o->if_contains("subject"); p && p->is_string()) s = p->get_string();
  }
  if (s.empty() || !store::model::uscc_policy(ctx.live.current()->import.legacy_codes).check(s).empty()) return "";
  return s;
}

// Refusals before the handler: over the rate, a revoked certificate, an
// unknown principal, a suspended one, a body over the limit.
std::optional<net::http_response> refused_before_handler(api_context& ctx, const net::http_request& req, api_call& call,
                                                         bool revoked) {
  if (auto limited = over_rate(ctx, req, call)) return limited;
  if (revoked)
    return refuse(call, 403, "certificate_revoked", "this client certificate (serial " + req.peer->serial_hex +
                                                        ") is revoked on this network: get a new one from the CA");
  if (call.who.id.empty()) {
    auto resp = refuse(call, 401, "unknown_principal", "present a registered client certificate or `Authorization: Bearer TOKEN`");
    resp.headers.push_back({"WWW-Authenticate", "Bearer realm=\"credit-node\""});
    return resp;
  }
  if (call.who.suspended)
    return refuse(call, 403, "suspended", call.who.kind + " " + call.who.id + " is suspended by this platform's operator: " +
                                              call.who.suspended_reason + " (ask them to resume it)");
  if (req.body.size() > max_api_body) return refuse(call, 413, "body_too_large", "a request body is at most 1 MiB");
  return std::nullopt;
}

}  // namespace

net::http_handler audited(api_context& ctx, api_handler h) {
  return [&ctx, h = std::move(h)](const net::http_request& req) {
    api_call call;
    bool revoked = false;
    if (auto who = authenticate(ctx, req, &revoked)) call.who = *who;
    auto resp = refused_before_handler(ctx, req, call, revoked);
    if (resp) call.subject = subject_of(ctx, req);  // the enterprise sees refused attempts too
    else resp = run_guarded(ctx, req, call, h);
    return after_audit(ctx, req, std::move(*resp), std::move(call));
  };
}

net::http_response audit_refusal(api_context& ctx, const net::http_request& req, net::http_response refusal) {
  api_call call;
  if (auto who = authenticate(ctx, req)) call.who = *who;
  call.subject = subject_of(ctx, req);
  if (auto limited = over_rate(ctx, req, call)) return after_audit(ctx, req, std::move(*limited), std::move(call));
  call.detail = "http: the request was refused before any endpoint's handler (" + std::to_string(refusal.status) + ")";
  return after_audit(ctx, req, std::move(refusal), std::move(call));
}

std::optional<json::object> body_object(const net::http_request& req, std::initializer_list<std::string_view> allowed,
                                        std::string& why) {
  if (auto problem = strict_json_problem(req.body); !problem.empty()) {
    why = "the body must be a JSON object: " + problem;
    return std::nullopt;
  }
  json::error_code ec;
  auto v = json::parse(req.body, ec);
  if (ec || !v.is_object()) {
    why = "the body must be a JSON object" + (ec ? ": " + ec.message() : std::string());
    return std::nullopt;
  }
  for (const auto& [k, _] : v.get_object())
    if (std::find(allowed.begin(), allowed.end(), std::string_view(k)) == allowed.end()) {
      why = "unknown field \"" + std::string(k) + "\"";
      return std::nullopt;
    }
  return v.get_object();
}

bool financing_purpose(std::string_view p) {
  return p == "credit_assessment" || p == "loan_approval" || p == "post_loan_monitoring";
}

namespace {

// Of the consents that match a request, the one serving it best: one
// `fits` accepts (it covers every claim), then the highest level, then one
// with personal data, then the most categories, then the longest-lived —
// not the first in key order (ids are random), which could answer at
// summary a bank that also holds a detail consent.
const store::consent* best_fit(const std::vector<const store::consent*>& ok, const consent_fit& fits) {
  auto rank = [&](const store::consent* c) {
    return std::tuple(!fits || fits(*c), c->level, c->personal_data, c->categories.size(), c->valid_until_ms);
  };
  return *std::max_element(ok.begin(), ok.end(), [&](auto* a, auto* b) { return rank(a) < rank(b); });
}

}  // namespace

consent_match find_consent(store::reader& rd, const std::string& bank, const std::string& subject,
                           const std::string& purpose, const std::vector<std::string>& categories,
                           store::consent_level at_least, std::int64_t now, const consent_fit& fits) {
  auto all = rd.consents_for(subject, bank);
  if (all.empty()) return {std::nullopt, "no consent from " + subject + " for " + bank};
  // The refusal names what the closest consent lacks: one for this purpose
  // before one for another, a live one before a withdrawn or expired one.
  std::string why;
  int best = -1;
  std::vector<const store::consent*> ok;
  for (const auto& c : all) {
    auto st = c.status(now);
    std::string miss;
    if (st == "scheduled")
      miss = "consent " + c.id + " takes effect on " + store::model::format_utc_ms(c.valid_from_ms + china_offset_ms).substr(0, 10) +
             " (China Standard Time)";
    else if (st != "active") miss = "consent " + c.id + " is " + st;
    else if (c.purpose != purpose) miss = "consent " + c.id + " is for purpose " + c.purpose + ", not " + purpose;
    else if (c.level < at_least) miss = "consent " + c.id + " is at level " + std::string(store::to_string(c.level)) +
                                       ", this needs " + std::string(store::to_string(at_least));
    for (const auto& cat : categories)
      if (miss.empty() && std::find(c.categories.begin(), c.categories.end(), cat) == c.categories.end())
        miss = "consent " + c.id + " does not cover category " + cat;
    if (miss.empty()) {
      ok.push_back(&c);
      continue;
    }
    // purpose first, then live before scheduled before withdrawn or expired
    int score = (c.purpose == purpose ? 4 : 0) + (st == "active" ? 2 : st == "scheduled" ? 1 : 0);
    if (score > best) best = score, why = miss;
  }
  if (!ok.empty()) return {*best_fit(ok, fits), ""};
  return {std::nullopt, why};
}

json::object consent_json(const store::consent& c, std::int64_t now) {
  return {{"id", c.id}, {"subject", c.subject}, {"grantee", c.grantee}, {"purpose", c.purpose},
          {"categories", json::value_from(c.categories)}, {"level", std::string(store::to_string(c.level))},
          {"personal_data", c.personal_data}, {"valid_from", store::model::format_utc_ms(c.valid_from_ms)},
          {"valid_until", store::model::format_utc_ms(c.valid_until_ms)}, {"evidence", c.evidence},
          {"status", c.status(now)}, {"use_count", c.use_count},
          {"last_use", c.last_use_ms ? json::value(store::model::format_utc_ms(c.last_use_ms)) : json::value(nullptr)}};
}

void add_api_routes(net::http_router& r, api_context& ctx) {
  store::set_chain_hash(&chain_hash);
  add_consent_routes(r, ctx);
  add_query_routes(r, ctx);
  add_feedback_routes(r, ctx);
}

}  // namespace node::api
