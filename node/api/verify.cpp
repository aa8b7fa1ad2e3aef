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

std::string budget_key(const std::string& subject, const claim& c) {
  return subject + '\x1f' + c.category + '\x1f' + c.record_id + '\x1f' + c.field;
}

net::http_response budget_spent(api_call& call, const guess_budget::refusal& no, guess_budget::clock::time_point now) {
  auto secs = std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(no.until - now).count());
  const auto& b = guesses.bounds();
  auto r = refuse(call, 429, "verify_budget",
                  no.table_full ? "this bank holds charged claims on " + std::to_string(b.fields_per_bank) +
                                      " fields within 24 hours: claims about other fields are refused for " + std::to_string(secs) + " s"
                                : "a claim in this request is about a field with " + std::to_string(b.charges) +
                                      " charged claims within 24 hours (a mismatched eq, or any ge / le: a bound on guessing "
                                      "values the consent does not show): claims about it are refused for " +
                                      std::to_string(secs) + " s");
  r.headers.push_back({"Retry-After", std::to_string(secs)});
  return r;
}

// A claim about a personal field needs the separate personal-data consent;
// one about a commercial secret a detail consent: below it, ge / le would
// bisect a secret amount in a few requests. "" when every claim may be made.
std::string not_covered(const std::vector<claim>& claims, const store::consent& c) {
  for (const auto& cl : claims) {
    const auto* f = store::model::category_registry::builtin().find(cl.category)->find(cl.field);
    if (f && f->klass == store::model::sensitivity::personal && !c.personal_data)
      return "field " + cl.field + " is personal data, which consent " + c.id + " does not cover";
    if (f && f->klass == store::model::sensitivity::commercial_secret && c.level != store::consent_level::detail)
      return "field " + cl.field + " is a commercial secret: claims about it need a detail consent (consent " + c.id + " is " +
             std::string(store::to_string(c.level)) + ")";
  }
  return {};
}

// Judged, and below detail charged (guess_budget.hpp): at detail the bank
// could read the fields. A reservation first, so requests at once cannot
// overdraw a field's budget.
std::optional<json::array> judged(store::reader& rd, const std::string& bank, const std::string& subject,
                                  const std::vector<claim>& claims, bool budgeted, std::optional<guess_budget::refusal>& no) {
  auto now = guess_budget::clock::now();
  std::vector<std::string> keys;
  for (const auto& c : claims) keys.push_back(budget_key(subject, c));
  if (budgeted && (no = guesses.reserve(bank, keys, now))) return std::nullopt;
  json::array results;
  for (std::size_t i = 0; i < claims.size(); ++i) {
    auto verdict = judge(rd, subject, claims[i]);
    if (budgeted) guesses.settle(bank, keys[i], verdict == "mismatch" || (claims[i].op != "eq" && verdict != "unknown"), now);
    results.push_back(json::object{{"result", std::move(verdict)}});
  }
  return results;
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
  auto m = find_consent(rd, call.who.id, subject, purpose, cats, store::consent_level::verify, now_ms(),
                        [&](const store::consent& c) { return not_covered(*claims, c).empty(); });
  if (!m.granted) return refuse(call, 403, "no_consent", m.why);
  call.consent = m.granted->id;
  call.used = true;
  if (auto no = not_covered(*claims, *m.granted); !no.empty()) return refuse(call, 403, "no_consent", no);
  std::optional<guess_budget::refusal> spent;
  auto results = judged(rd, call.who.id, subject, *claims, m.granted->level != store::consent_level::detail, spent);
  if (!results) return budget_spent(call, *spent, guess_budget::clock::now());
  return net::http_response::json(200, json::serialize(json::object{{"subject", subject}, {"consent", m.granted->id},
                                                                   {"results", std::move(*results)}}));
}

}  // namespace node::api
