// The demo's last act: a bank asks js.nanjing about an enterprise through
// the API, as PRODUCT.md §8 describes — the portal registers the firm and
// records its consent, the bank queries (personal fields masked) and
// verifies a claim, a bank without consent is refused, and the audit chain
// holds. Printed so a first-time reader sees the whole flow.
#include <boost/json.hpp>

#include <chrono>
#include <iostream>

#include "node/api/api.hpp"
#include "node/cli/commands.hpp"
#include "node/net/client.hpp"
#include "node/pki/pki.hpp"
#include "store/model/record.hpp"
#include "store/model/uscc.hpp"
#include "store/writer.hpp"

namespace node::cli {
namespace {

// A consent's last day: the API takes at most a year ahead, so a fixed
// date would stop the demo working one day.
std::string half_a_year_ahead() {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>((system_clock::now() + days(182)).time_since_epoch()).count();
  return store::model::format_utc_ms(ms).substr(0, 10);
}

namespace json = boost::json;

// Registered straight in the store, as `admin bank add --token-out` does.
std::string add_principal_token(store::environment& env, const std::string& id, const std::string& kind) {
  auto token = pki::random_hex(32);
  store::access_op op;
  op.what = store::access_op::kind::put_principal;
  op.who = {id, kind, id, "", pki::sha256_hex(token), 0, false, "", 0};
  store::writer w(env);
  store::commit_one(w, std::move(op));
  return token;
}

struct api_caller {
  const config::node_config& cfg;
  net::http_response operator()(const std::string& token, const std::string& method, const std::string& target,
                                const std::string& body = "") const {
    auto tls = net::tls_context::make(net::tls_side::client, {cfg.tls.ca, "", ""});
    auto c = net::http_client::make({cfg.listen.api, cfg.node.id, tls, std::chrono::seconds(10), 16u << 20});
    return c->request({method, target, body, body.empty() ? "" : "application/json", {{"Authorization", "Bearer " + token}}});
  }
};

std::string field_of(const std::string& body, const char* category, const char* field) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("records")) return "?";
  for (const auto& r : v.at("records").as_array())
    if (r.at("category").as_string() == category) return json::serialize(r.at("fields").at(field));
  return "?";
}

}  // namespace

bool demo_bank_api(const config::node_config& cfg, const std::string& firm) {
  std::string bank, other, portal;
  {
    auto env = open_store(cfg);
    bank = add_principal_token(*env, "demo-bank", "bank");
    other = add_principal_token(*env, "other-bank", "bank");
    portal = add_principal_token(*env, "demo-portal", "portal");
  }
  api_caller call{cfg};
  std::cout << "the bank API at " << cfg.node.id << " (https://" << cfg.listen.api << "), banks and portal with tokens:\n";
  const std::string division(store::model::uscc_division(firm));  // where the firm is registered
  auto reg = call(portal, "POST", "/api/v1/registrations",
                  R"({"subject":")" + firm + R"(","event_date":"2026-11-01","name":"南京示范科技有限公司","legal_rep_name":"张三丰","legal_rep_id":"320102199001011234","phone":"13812345678","division":")" + division + "\"}");
  std::cout << "  portal registers " << firm << ": " << reg.status << " " << reg.body << "\n";
  auto consent = call(portal, "POST", "/api/v1/consents",
                      R"({"subject":")" + firm + R"(","grantee":"demo-bank","purpose":"credit_assessment","categories":["registration","tax"],"level":"detail","personal_data":false,"valid_until":")" + half_a_year_ahead() + R"(","evidence":"sha256:)" +
                          pki::sha256_hex("signed authorization letter") + "\"}");
  std::cout << "  portal records the enterprise's consent (detail, no personal data): " << consent.status << "\n";
  auto target = "/api/v1/subjects/" + firm + "/records?purpose=credit_assessment";
  auto got = call(bank, "GET", target);
  std::cout << "  demo-bank GET " << target << ": " << got.status << "; legal_rep_id reads "
            << field_of(got.body, "registration", "legal_rep_id") << ", phone " << field_of(got.body, "registration", "phone") << "\n";
  auto v = call(bank, "POST", "/api/v1/verify", R"({"subject":")" + firm +
                R"(","purpose":"credit_assessment","claims":[{"category":"registration","record_id":"registration","field":"division","op":"eq","value":")" + division + "\"}]}");
  std::cout << "  demo-bank POST /api/v1/verify (division eq " << division << "): " << v.status << " " << v.body << "\n";
  auto no = call(other, "GET", target);
  std::cout << "  other-bank, without consent: " << no.status << " " << no.body << "\n";
  std::uint64_t n = 0;
  auto env = open_store(cfg);
  auto problem = api::verify_audit_chain(*env, n);
  std::cout << "  audit: " << n << " entries, " << (problem.empty() ? "hash chain intact (credit-node audit verify)" : "BROKEN: " + problem) << "\n";
  return got.status == 200 && v.status == 200 && no.status == 403 && problem.empty() &&
         field_of(got.body, "registration", "legal_rep_id") == "\"320102********1234\"";
}

}  // namespace node::cli
