// Records that come in through the API, owned by this node and synced up
// like any import: POST /api/v1/registrations (the portal's real-name
// registration of an enterprise) and POST /api/v1/loans (a bank's loan
// feedback). Validated by the same category schemas as an import.
#include "node/api/internal.hpp"
#include "node/service/parent_link.hpp"
#include "store/model/category.hpp"
#include "store/model/record.hpp"
#include "store/model/uscc.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "sync/routing.hpp"

namespace node::api {
namespace {

using store::model::raw_value;

raw_value raw_of(const json::value& v, std::string& scratch) {
  if (v.is_string()) return {raw_value::kind::string, v.get_string()};
  if (v.is_bool()) return {raw_value::kind::boolean, v.get_bool() ? "true" : "false"};
  if (v.is_number()) return scratch = json::serialize(v), raw_value{raw_value::kind::number, scratch};
  return {v.is_null() ? raw_value::kind::null : raw_value::kind::other, {}};
}

// Checks `fields` against the category and commits the record; the answer
// names the field that is wrong, as an import's quarantine line would.
net::http_response put_record(api_context& ctx, api_call& call, const std::string& category, const std::string& subject,
                              const std::string& record_id, const std::string& event_date, const json::object& fields) {
  const auto* cat = store::model::category_registry::builtin().find(category);
  std::string source = "api:" + call.who.id;
  store::model::raw_row row{subject, record_id, event_date, source, {}};
  std::vector<std::string> scratch(fields.size());
  std::size_t i = 0;
  for (const auto& [k, v] : fields) row.fields.emplace_back(k, raw_of(v, scratch[i++]));
  std::string canonical;
  if (auto e = store::model::validate_row(*cat, store::model::uscc_policy(ctx.live.current()->import.legacy_codes), row, canonical))
    return refuse(call, 400, "bad_request", e->field + ": " + e->reason);
  if (auto why = replication::outside_jurisdiction(ctx.cfg.node.jurisdiction, subject); !why.empty())
    return refuse(call, 400, "bad_request", "subject: " + why);
  // As `import` does: a record written now could reuse a version number
  // the network has seen (the node's newer records are still at its parent).
  if (service::recovery_pending(ctx.cfg))
    return refuse(call, 503, "recovering", "this node was restored from a backup (or went back to an earlier state) and is getting back its newer records "
                                           "from its parent; retry in a minute");
  // Only the owner changes a record: 409 `not_owner`, audited as refused.
  // Looked at here, so a refusal costs no failed commit (which would send
  // every request of its group commit to be retried alone, each with its
  // own flush); and said again by the writer in the commit itself
  // (owner_only), for a record that came down the tree since this look.
  if (auto held = store::reader(ctx.env).get(category, subject, record_id); held && held->origin != ctx.cfg.node.id)
    return refuse(call, 409, "not_owner", "record_id: " + subject + "'s " + category + " record '" + record_id +
                                              "' is owned by node '" + held->origin + "'; only its owner changes it: send this there");
  call.changes.origin = ctx.cfg.node.id;
  call.changes.owner_only = true;
  call.changes.rows.push_back({category, subject, record_id, event_date, source, canonical, 0, {}});
  call.body_after_commit = [category, subject, record_id](const store::batch_result& r) {
    json::object o{{"category", category}, {"subject", subject}, {"record_id", record_id},
                   {"result", r.inserted ? "created" : (r.updated ? "updated" : "unchanged")}};
    return json::serialize(o);
  };
  return net::http_response::json(200, "{}");
}

std::string take_string(json::object& o, const char* key, std::string& why) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) {
    if (why.empty()) why = std::string(key) + ": must be a string";
    return {};
  }
  std::string v(it->value().get_string());
  o.erase(it);
  return v;
}

// What the loan schema cannot say: an id to tell loans apart, an amount
// not below zero, a date named as the bank sent it, and no amount as a
// JSON number with a fraction (1.20005E4 is what 12000.50 becomes).
std::string loan_problem(const json::object& o, const std::string& loan_id) {
  if (loan_id.empty() || loan_id.size() > 64 || store::model::printable(loan_id) != loan_id)
    return "loan_id: must be 1 to 64 bytes of text";
  auto* amount = o.if_contains("amount");
  if (amount && amount->is_double())
    return "amount: send a decimal as a string, e.g. \"12000.50\" (a JSON number with a fraction can lose digits)";
  if (amount && ((amount->is_string() && amount->get_string().starts_with("-")) || (amount->is_int64() && amount->get_int64() < 0)))
    return "amount: must not be negative";
  auto* granted = o.if_contains("granted_on");
  if (!granted || !granted->is_string()) return "granted_on: must be a date as a string, YYYY-MM-DD";
  if (auto e = store::model::check_date(granted->get_string()); !e.empty()) return "granted_on: " + e;
  return {};
}

net::http_response registrations(api_context& ctx, const net::http_request& req, api_call& call) {
  if (call.who.kind != "portal") return refuse(call, 403, "portal_only", "registrations come from the enterprise portal");
  std::string why;
  auto o = body_object(req, {"subject", "event_date", "name", "legal_rep_name", "legal_rep_id", "phone", "division"}, why);
  if (!o) return refuse(call, 400, "bad_request", why);
  auto subject = take_string(*o, "subject", why);
  auto date = take_string(*o, "event_date", why);
  if (!why.empty()) return refuse(call, 400, "bad_request", why);
  call.subject = subject;
  // The code names where the firm is registered (characters 3-8).
  if (auto* d = o->if_contains("division"); d && d->is_string() && subject.size() == 18 &&
                                            d->get_string() != store::model::uscc_division(subject))
    return refuse(call, 400, "bad_request", "division: " + store::model::printable_prefix(d->get_string(), 16) +
                                                " is not the division in the credit code (" +
                                                std::string(store::model::uscc_division(subject)) + ")");
  return put_record(ctx, call, "registration", subject, "registration", date, *o);
}

net::http_response loans(api_context& ctx, const net::http_request& req, api_call& call) {
  if (call.who.kind != "bank") return refuse(call, 403, "bank_only", "loan feedback comes from the bank that made the loan");
  std::string why;
  auto o = body_object(req, {"subject", "loan_id", "amount", "credit_loan", "first_loan", "granted_on"}, why);
  if (!o) return refuse(call, 400, "bad_request", why);
  auto subject = take_string(*o, "subject", why);
  auto loan_id = take_string(*o, "loan_id", why);
  if (!why.empty()) return refuse(call, 400, "bad_request", why);
  call.subject = subject;
  if (auto problem = loan_problem(*o, loan_id); !problem.empty()) return refuse(call, 400, "bad_request", problem);
  std::string date(o->at("granted_on").get_string());
  (*o)["bank"] = call.who.id;  // the bank is who says it, not what the body says
  return put_record(ctx, call, "loan", subject, call.who.id + "/" + loan_id, date, *o);
}

}  // namespace

void add_feedback_routes(net::http_router& r, api_context& ctx) {
  r.add("POST", "/api/v1/registrations", audited(ctx, registrations));
  r.add("POST", "/api/v1/loans", audited(ctx, loans));
}

}  // namespace node::api
