// POST /api/v1/consents (portal): an enterprise's authorization, recorded.
// DELETE /api/v1/consents/{id} (portal): withdrawn, effective at once.
#include <algorithm>

#include "node/api/internal.hpp"
#include "node/pki/pki.hpp"
#include "store/model/category.hpp"
#include "store/model/record.hpp"
#include "store/model/uscc.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"
#include "sync/routing.hpp"

namespace node::api {
namespace {

constexpr std::int64_t day_ms = 86'400'000;

std::string text_field(const json::object& o, const char* key, std::string& why) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string() || v->get_string().empty() || v->get_string().size() > 256) {
    if (why.empty()) why = "\"" + std::string(key) + "\" must be a non-empty string (at most 256 bytes)";
    return {};
  }
  return std::string(v->get_string());
}

// The same day of the next year in China, as YYYY-MM-DD (ISO dates
// compare as text); 29 February becomes the 28th.
std::string one_year_from(std::int64_t ms) {
  auto day = store::model::format_utc_ms(ms + china_offset_ms).substr(0, 10);
  auto next = std::to_string(std::stoi(day.substr(0, 4)) + 1) + day.substr(4);
  if (next.ends_with("-02-29")) next.replace(8, 2, "28");
  return next;
}

// valid_from (optional: from now; a past day also means from now, as the
// consent is recorded now) and valid_until, days in China. A consent lasts
// at most until the same day a year after it starts, and starts within a year.
bool validity(const json::object& o, const std::string& until, store::consent& c, std::string& why) {
  if (auto e = store::model::check_date(until); !e.empty()) return why = "valid_until: " + e, false;
  auto now = now_ms();
  c.valid_from_ms = now;
  if (auto* f = o.if_contains("valid_from")) {
    if (!f->is_string()) return why = "valid_from: must be a date, YYYY-MM-DD", false;
    std::string from(f->get_string());
    if (auto e = store::model::check_date(from); !e.empty()) return why = "valid_from: " + e, false;
    if (auto last = one_year_from(now); from > last) return why = "valid_from: at most one year ahead (" + last + "), not " + from, false;
    if (from > until) return why = "valid_from: " + from + " is after valid_until " + until, false;
    c.valid_from_ms = std::max(now, store::model::utc_midnight_ms(from) - china_offset_ms);  // that day's start, in China
  }
  c.valid_until_ms = store::model::utc_midnight_ms(until) + day_ms - china_offset_ms;  // through that day, in China
  if (c.valid_until_ms <= now) return why = "valid_until: " + until + " has passed (in China Standard Time)", false;
  if (auto last = one_year_from(c.valid_from_ms); until > last)
    return why = "valid_until: at most one year after the consent starts (" + last + "), not " + until, false;
  return true;
}

// Every field checked; the first problem is the answer, naming the field.
std::optional<store::consent> consent_from(api_context& ctx, const json::object& o, std::string& why) {
  store::consent c;
  c.subject = text_field(o, "subject", why);
  c.grantee = text_field(o, "grantee", why);
  c.purpose = text_field(o, "purpose", why);
  auto level = text_field(o, "level", why);
  auto until = text_field(o, "valid_until", why);
  c.evidence = text_field(o, "evidence", why);
  if (!why.empty()) return std::nullopt;
  if (auto e = store::model::uscc_policy(ctx.live.current()->import.legacy_codes).check(c.subject); !e.empty()) why = "subject: " + e;
  else if (auto out = replication::outside_jurisdiction(ctx.cfg.node.jurisdiction, c.subject); !out.empty())
    why = "subject: " + out;
  else if (auto g = store::reader(ctx.env).principal_by_id(c.grantee); !g || g->kind != "bank")
    why = "grantee: no bank '" + c.grantee + "' is registered here (credit-node admin bank add)";
  else if (!financing_purpose(c.purpose))
    why = "purpose: must be credit_assessment, loan_approval or post_loan_monitoring (financing only), not '" + c.purpose + "'";
  else if (auto l = store::parse_consent_level(level)) c.level = *l;
  else why = "level: must be verify, summary or detail, not '" + level + "'";
  if (!why.empty()) return std::nullopt;
  if (!validity(o, until, c, why)) return std::nullopt;
  if (c.evidence.rfind("sha256:", 0) != 0 || c.evidence.size() != 71 ||
      c.evidence.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
    return why = "evidence: must be \"sha256:\" and 64 lower-case hex digits (the signed letter's hash)", std::nullopt;
  auto* pd = o.if_contains("personal_data");
  if (!pd || !pd->is_bool()) return why = "personal_data: must be true or false", std::nullopt;
  c.personal_data = pd->get_bool();
  auto* cats = o.if_contains("categories");
  if (!cats || !cats->is_array() || cats->get_array().empty() || cats->get_array().size() > 16)
    return why = "categories: must be a non-empty array of category names", std::nullopt;
  for (const auto& v : cats->get_array()) {
    if (!v.is_string() || !store::model::category_registry::builtin().find(std::string(v.get_string())))
      return why = "categories: unknown category " + json::serialize(v) + "; known: " + store::model::category_registry::builtin().names(), std::nullopt;
    if (std::find(c.categories.begin(), c.categories.end(), v.get_string()) != c.categories.end())
      return why = "categories: " + json::serialize(v) + " is listed twice", std::nullopt;
    c.categories.emplace_back(v.get_string());
  }
  return c;
}

net::http_response create(api_context& ctx, const net::http_request& req, api_call& call) {
  if (call.who.kind != "portal") return refuse(call, 403, "portal_only", "only the enterprise portal records consents");
  std::string why;
  auto o = body_object(req, {"subject", "grantee", "purpose", "categories", "level", "personal_data", "valid_from", "valid_until", "evidence"}, why);
  if (!o) return refuse(call, 400, "bad_request", why);
  auto c = consent_from(ctx, *o, why);
  if (!c) return refuse(call, 400, "bad_request", why);
  c->id = "c-" + pki::random_hex(12);
  c->created_by = call.who.id;
  call.subject = c->subject;
  call.consent = c->id;
  store::access_op op;
  op.what = store::access_op::kind::put_consent;
  op.grant = *c;
  call.changes.access.push_back(std::move(op));  // with the audit entry, in one transaction
  return net::http_response::json(201, json::serialize(consent_json(*c, now_ms())));
}

net::http_response withdraw(api_context& ctx, const net::http_request& req, api_call& call) {
  if (call.who.kind != "portal") return refuse(call, 403, "portal_only", "only the enterprise portal withdraws consents");
  auto id = req.path.substr(std::string("/api/v1/consents/").size());
  if (id.empty() || id.size() > 64) return refuse(call, 404, "unknown_consent", "DELETE /api/v1/consents/{id} names a consent id");
  auto c = store::reader(ctx.env).consent_by_id(id);
  if (!c) return refuse(call, 404, "unknown_consent", "no consent '" + id + "'");
  call.subject = c->subject;
  call.consent = id;
  if (c->created_by != call.who.id)
    return refuse(call, 403, "not_yours", "consent " + id + " was recorded by portal " + c->created_by + ", which alone withdraws it");
  if (c->withdrawn) return refuse(call, 409, "already_withdrawn", "consent " + id + " is already withdrawn");
  store::access_op op;
  op.what = store::access_op::kind::withdraw_consent;
  op.grant.id = id;
  call.changes.access.push_back(std::move(op));
  c->withdrawn = true;
  c->withdrawn_ms = now_ms();
  return net::http_response::json(200, json::serialize(consent_json(*c, now_ms())));
}

}  // namespace

void add_consent_routes(net::http_router& r, api_context& ctx) {
  r.add("POST", "/api/v1/consents", audited(ctx, create));
  r.add_prefix("DELETE", "/api/v1/consents/", audited(ctx, withdraw));
}

}  // namespace node::api
