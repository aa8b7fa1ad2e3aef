// POST /api/v1/verify (核验比对): the bank's claims about an enterprise are
// compared with the records; only match / mismatch / unknown goes back.
#include <algorithm>

#include "node/api/claims.hpp"
#include "node/api/guess_budget.hpp"
#include "node/api/internal.hpp"
#include "store/model/category.hpp"
#include "store/model/uscc.hpp"
#include "store/reader.hpp"

namespace node::api {
namespace {

struct claim {
  std::string category, record_id, field, op, value;
};

std::string field_names(const store::model::category_def& cat) {
  std::string out = "its fields:";
  for (const auto& f : cat.fields) out += " " + f.name;
  return out;
}

std::optional<std::vector<claim>> claims_of(const json::object& o, std::string& why) {
  auto* cs = o.if_contains("claims");
  if (!cs || !cs->is_array() || cs->get_array().empty() || cs->get_array().size() > 100)
    return why = "claims: must be an array of 1 to 100 claims", std::nullopt;
  std::vector<claim> out;
  std::size_t i = 0;
  for (const auto& v : cs->get_array()) {
    std::string at = "claims[" + std::to_string(i++) + "]";
    if (!v.is_object()) return why = at + ": must be an object", std::nullopt;
    claim c;
    for (auto [key, dst] : {std::pair<const char*, std::string*>{"category", &c.category}, {"record_id", &c.record_id},
                            {"field", &c.field}, {"op", &c.op}, {"value", &c.value}}) {
      auto* f = v.get_object().if_contains(key);
      if (!f || !f->is_string() || f->get_string().size() > 128)
        return why = at + "." + key + ": must be a string of at most 128 bytes", std::nullopt;
      *dst = f->get_string();
    }
    if (v.get_object().size() != 5) return why = at + ": only category, record_id, field, op and value", std::nullopt;
    const auto* cat = store::model::category_registry::builtin().find(c.category);
    if (!cat) return why = at + ".category: unknown '" + c.category + "'", std::nullopt;
    const auto* f = cat->find(c.field);
    if (!f) return why = at + ".field: category " + c.category + " has no field '" + c.field + "' (" + field_names(*cat) + ")", std::nullopt;
    if (auto e = check_claim(*f, c.op, c.value); !e.empty()) return why = at + "." + e, std::nullopt;
    // One claim per field and operator: 100 eq guesses in one request
    // would find a phone number's 4 masked digits in 100 requests.
    for (const auto& o : out)
      if (o.category == c.category && o.record_id == c.record_id && o.field == c.field && o.op == c.op)
        return why = at + ": " + c.category + " " + c.record_id + " " + c.field + " " + c.op + " is claimed twice in one request", std::nullopt;
    out.push_back(std::move(c));
  }
  return out;
}

std::string judge(store::reader& rd, const std::string& subject, const claim& c) {
  auto r = rd.get(c.category, subject, c.record_id);
  if (!r || r->deleted) return "unknown";
  json::error_code ec;
  auto fields = json::parse(r->fields_json, ec);
  const auto* v = !ec && fields.is_object() ? fields.get_object().if_contains(c.field) : nullptr;
  if (!v || v->is_null()) return "unknown";
  std::string held = v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
  const auto* f = store::model::category_registry::builtin().find(c.category)->find(c.field);
  return claim_holds(*f, held, c.op, c.value) ? "match" : "mismatch";
}

guess_budget guesses;  // per process: a restart forgets it

net::http_response budget_spent(api_call& call, const claim& c, guess_budget::clock::time_point until,
                                guess_budget::clock::time_point now) {
  auto secs = std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(until - now).count());
  auto r = refuse(call, 429, "verify_budget",
                  "claims about " + c.category + " " + c.record_id + " " + c.field + " of this enterprise are refused for " +
                      std::to_string(secs) + " s: at most " + std::to_string(guesses.bounds().mismatches) +
                      " of a bank's claims about one field may mismatch in 24 hours, on at most " +
                      std::to_string(guesses.bounds().fields_per_bank) +
                      " fields (a bound on guessing values the consent does not show)");
  r.headers.push_back({"Retry-After", std::to_string(secs)});
  return r;
}

}  // namespace

net::http_response verify(api_context& ctx, const net::http_request& req, api_call& call) {
  if (call.who.kind != "bank") return refuse(call, 403, "bank_only", "verification is for banks, with the enterprise's consent");
  std::string why;
  auto o = body_object(req, {"subject", "purpose", "claims"}, why);
  if (!o) return refuse(call, 400, "bad_request", why);
  auto* s = o->if_contains("subject");
  auto* p = o->if_contains("purpose");
  if (!s || !s->is_string()) return refuse(call, 400, "bad_request", "subject: must be a string");
  if (!p || !p->is_string()) return refuse(call, 400, "bad_request", "purpose: must be a string");
  std::string subject(s->get_string()), purpose(p->get_string());
  call.subject = subject;
  if (auto e = store::model::uscc_policy(ctx.live.current()->import.legacy_codes).check(subject); !e.empty())
    return refuse(call, 400, "bad_subject", "subject: " + e);
  auto claims = claims_of(*o, why);
  if (!claims) return refuse(call, 400, "bad_request", why);
  if (!financing_purpose(purpose))
    return refuse(call, 403, "wrong_purpose", "purpose must be credit_assessment, loan_approval or post_loan_monitoring, not '" + purpose + "'");
  std::vector<std::string> cats;
  for (const auto& c : *claims) cats.push_back(c.category);
  store::reader rd(ctx.env);
  auto m = find_consent(rd, call.who.id, subject, purpose, cats, store::consent_level::verify, now_ms());
  if (!m.granted) return refuse(call, 403, "no_consent", m.why);
  call.consent = m.granted->id;
  call.used = true;
  // A claim about a personal field needs the separate personal-data consent.
  for (const auto& c : *claims) {
    const auto* f = store::model::category_registry::builtin().find(c.category)->find(c.field);
    if (f && f->klass == store::model::sensitivity::personal && !m.granted->personal_data)
      return refuse(call, 403, "no_consent", "field " + c.field + " is personal data, which consent " + m.granted->id + " does not cover");
    // Commercial secrets are for detail consents only: below it, ge / le
    // would bisect a secret amount in a few requests, and eq claims (100 a
    // request) would guess it.
    if (f && f->klass == store::model::sensitivity::commercial_secret && m.granted->level != store::consent_level::detail)
      return refuse(call, 403, "no_consent", "field " + c.field + " is a commercial secret: claims about it need a detail consent (consent " +
                                                 m.granted->id + " is " + std::string(store::to_string(m.granted->level)) + ")");
  }
  // Below detail the bank may not read these fields: its wrong guesses at
  // one of them are bounded (guess_budget.hpp). At detail it could read them.
  bool budgeted = m.granted->level != store::consent_level::detail;
  auto now = guess_budget::clock::now();
  auto key = [&](const claim& c) { return subject + '\x1f' + c.category + '\x1f' + c.record_id + '\x1f' + c.field; };
  for (const auto& c : *claims)
    if (auto until = budgeted ? guesses.spent(call.who.id, key(c), now) : std::nullopt)
      return budget_spent(call, c, *until, now);
  json::array results;
  for (const auto& c : *claims) {
    auto verdict = judge(rd, subject, c);
    if (budgeted && verdict == "mismatch") guesses.mismatch(call.who.id, key(c), now);
    results.push_back(json::object{{"result", std::move(verdict)}});
  }
  return net::http_response::json(200, json::serialize(json::object{{"subject", subject}, {"consent", m.granted->id},
                                                                   {"results", std::move(results)}}));
}

}  // namespace node::api
