// A bank holding more than one live consent for an enterprise is served by
// the one that fits the request best — not the first in the store's key
// order (consent ids are random, so that was chance).
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "store/writer.hpp"
#include "api_node.hpp"
#include "tree.hpp"

using namespace itest;
using namespace api_fixture;
namespace json = boost::json;

namespace {

// Put in the store with chosen ids of one length, so the weaker one comes
// first in key order (an id is keyed after its length).
void put_consent(const tree_node& n, const std::string& id, const std::string& firm, std::vector<std::string> cats,
                 store::consent_level level, bool personal) {
  auto env = store::environment::open({n.dir + "/data"});
  store::access_op op;
  op.what = store::access_op::kind::put_consent;
  op.grant.id = id;
  op.grant.subject = firm;
  op.grant.grantee = "bank-a";
  op.grant.purpose = "credit_assessment";
  op.grant.categories = std::move(cats);
  op.grant.level = level;
  op.grant.personal_data = personal;
  op.grant.valid_until_ms = 4102444800000;  // 2100
  op.grant.evidence = evidence;
  op.grant.created_by = "portal";
  store::write_batch b;
  b.access.push_back(std::move(op));
  store::writer(*env).submit(std::move(b)).get();
}

}  // namespace

TEST_CASE("api: of a bank's live consents for one enterprise, the best fitting one answers") {
  api_node a;
  const auto& firm = a.firms[5];
  using store::consent_level;
  put_consent(a.n, "c-0-sum", firm, {"tax"}, consent_level::summary, false);
  put_consent(a.n, "c-1-det", firm, {"tax", "registration"}, consent_level::detail, false);
  put_consent(a.n, "c-2-ver", firm, {"registration"}, consent_level::verify, true);
  child proc({"run", "-c", a.n.cfg});
  wait_ready(a.n, proc);

  auto records = a.call("bank-a", "GET", "/api/v1/subjects/" + firm + "/records?purpose=credit_assessment&categories=tax");
  REQUIRE_MESSAGE(records.status == 200, records.body);
  CHECK_MESSAGE(records.body.find("\"level\":\"detail\"") != std::string::npos, records.body);
  CHECK(records.body.find("12000.00") != std::string::npos);  // rows, not a summary
  // A claim on a commercial secret: the detail consent, not the summary one first in key order.
  auto secret = a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(firm));
  CHECK_MESSAGE(secret.status == 200, secret.body);
  CHECK(secret.body.find("\"consent\":\"c-1-det\"") != std::string::npos);
  CHECK(secret.body.find("\"match\"") != std::string::npos);
  // A claim on a personal field: only the consent with personal data covers it, though it is the lowest level.
  auto personal = a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(firm, raw_id, "legal_rep_id", "eq", "registration", "reg"));
  CHECK_MESSAGE(personal.status == 200, personal.body);
  CHECK(personal.body.find("\"consent\":\"c-2-ver\"") != std::string::npos);
  CHECK(personal.body.find("\"match\"") != std::string::npos);
  // Claims no single consent covers (a secret and a personal field) are still refused.
  auto both = a.verify_body(firm);
  both.insert(both.size() - 2, R"(,{"category":"registration","record_id":"reg","field":"legal_rep_id","op":"eq","value":")" + raw_id + "\"}");
  auto refused = a.call("bank-a", "POST", "/api/v1/verify", both);
  CHECK_MESSAGE(refused.status == 403, refused.body);
}
