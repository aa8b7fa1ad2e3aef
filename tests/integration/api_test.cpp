// The bank-facing API end to end: a real node, banks and the portal with
// bearer tokens over TLS, consents in every state, the audit chain after.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <set>

#include "node/net/client.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "store/model/record.hpp"
#include "api_node.hpp"
#include "tree.hpp"

using namespace itest;
using namespace api_fixture;
namespace json = boost::json;

TEST_CASE("api: every endpoint × principal × consent state answers as the consent allows, masked, and all of it audited") {
  api_node a;
  // The most the node logs: every request at debug level.
  auto text = test::read_file(a.n.cfg);
  auto lvl = text.find("\nlevel = ");
  REQUIRE(lvl != std::string::npos);
  text.replace(lvl + 1, text.find('\n', lvl + 1) - lvl - 1, "level = \"debug\"");
  test::write_file(a.n.cfg, text);
  child proc({"run", "-c", a.n.cfg});
  wait_ready(a.n, proc);
  auto& f = a.firms;
  // f[0] none, f[1] verify, f[2] summary, f[3] detail, f[4] detail + personal data,
  // f[5] withdrawn, f[6] expired, f[7] another purpose, f[8] another category.
  a.consent(f[1], "verify");
  a.consent(f[2], "summary");
  a.consent(f[3], "detail");
  a.consent(f[4], "detail", true);
  auto to_withdraw = a.consent(f[5], "detail");
  a.consent(f[7], "detail", false, "loan_approval");
  a.consent(f[8], "detail", false, "credit_assessment", R"(["environment"])");
  put_expired_consent(a.n, f[6]);
  // Withdrawal takes effect between two requests.
  CHECK(a.call("bank-a", "GET", a.records_target(f[5])).status == 200);
  CHECK(a.call("portal", "DELETE", "/api/v1/consents/" + to_withdraw).status == 200);
  CHECK(a.call("bank-a", "GET", a.records_target(f[5])).status == 403);

  const int records_ok[9] = {403, 403, 200, 200, 200, 403, 403, 403, 403};
  const int verify_ok[9] = {403, 200, 200, 200, 200, 403, 403, 403, 403};
  for (int i = 0; i < 9; ++i) {
    for (std::string who : {"bank-a", "bank-b", "portal", ""}) {
      int want_records = who == "" ? 401 : (who == "bank-a" ? records_ok[i] : 403);
      int want_verify = who == "" ? 401 : (who == "bank-a" ? verify_ok[i] : 403);
      auto r = a.call(who, "GET", a.records_target(f[static_cast<std::size_t>(i)]));
      CHECK_MESSAGE(r.status == want_records, "records, firm " << i << ", " << (who.empty() ? "nobody" : who) << ": " << r.body);
      bool unmasked = r.body.find(raw_id) != std::string::npos;
      CHECK_MESSAGE((!unmasked || i == 4), "unmasked ID number for firm " << i);
      if (r.status == 200 && i == 2) {
        CHECK(r.body.find("\"summary\"") != std::string::npos);
        CHECK(r.body.find("12000") == std::string::npos);  // no amounts below the detail level
      }
      if (r.status == 200 && i == 3) CHECK(r.body.find(masked_id) != std::string::npos);
      if (r.status == 200 && i == 4) CHECK(r.body.find(raw_id) != std::string::npos);
      auto v = a.call(who, "POST", "/api/v1/verify", a.verify_body(f[static_cast<std::size_t>(i)], "VAT", "tax_type"));
      CHECK_MESSAGE(v.status == want_verify, "verify, firm " << i << ", " << (who.empty() ? "nobody" : who) << ": " << v.body);
      if (v.status == 200) CHECK(v.body.find("\"match\"") != std::string::npos);
    }
  }
  // A secret amount is not checked below the detail level — neither
  // bisected with ge / le nor guessed with up to 100 eq claims a request —
  // and nan is no number.
  auto ge = a.verify_body(f[1]);
  ge.replace(ge.find("\"eq\""), 4, "\"ge\"");
  for (const auto& [firm, body] : {std::pair{f[1], ge}, {f[1], a.verify_body(f[1])}, {f[2], a.verify_body(f[2])}}) {
    auto secret = a.call("bank-a", "POST", "/api/v1/verify", body);
    CHECK(secret.status == 403);
    CHECK_MESSAGE(secret.body.find("field amount_paid is a commercial secret: claims about it need a detail consent") != std::string::npos, secret.body);
  }
  CHECK(a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(f[3])).body.find("\"match\"") != std::string::npos);
  CHECK(a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(f[3], "nan")).body.find("\"match\"") == std::string::npos);
  // An enterprise this node holds nothing of is 404 to a bank it authorized
  // (an empty list read as "no tax records"), at either level; a bank
  // without its consent still learns nothing but 403.
  auto stranger = codes("320102", 1, 4242)[0];
  REQUIRE(std::find(f.begin(), f.end(), stranger) == f.end());
  CHECK(a.call("bank-a", "GET", a.records_target(stranger)).status == 403);
  a.consent(stranger, "detail");
  auto unknown = a.call("bank-a", "GET", a.records_target(stranger));
  CHECK(unknown.status == 404);
  CHECK_MESSAGE(unknown.body.find("\"unknown_subject\"") != std::string::npos, unknown.body);
  CHECK(unknown.body.find("this node holds no live records of " + stranger) != std::string::npos);
  CHECK(a.call("bank-b", "GET", a.records_target(stranger)).status == 403);
  // A subject with records, none in the categories asked, is known: 200.
  auto other_cat = a.call("bank-a", "GET", "/api/v1/subjects/" + f[8] + "/records?purpose=credit_assessment&categories=environment");
  CHECK_MESSAGE(other_cat.status == 200, other_cat.body);
  CHECK(other_cat.body.find("\"records\":[]") != std::string::npos);
  // A category named twice is counted once.
  auto twice = a.call("bank-a", "GET", "/api/v1/subjects/" + f[2] + "/records?purpose=credit_assessment&categories=tax,tax");
  CHECK(twice.body.find("\"count\":1") != std::string::npos);
  // Only the portal that recorded a consent withdraws it.
  REQUIRE(test::run_cli({"admin", "portal", "add", "--id", "portal-2", "--token-out", a.net.d / "p2.token", "-c", a.n.cfg}).exit_code == 0);
  auto t2 = test::read_file(a.net.d / "p2.token");
  a.token["portal-2"] = t2.substr(0, t2.find('\n'));
  auto other = a.call("portal-2", "DELETE", "/api/v1/consents/" + a.consent(f[0], "verify"));
  CHECK(other.status == 403);
  CHECK(other.body.find("not_yours") != std::string::npos);
  // Below detail, a bank's wrong claims about one field are bounded: five
  // mismatches in a day, then 429 with when to come back — whether the next
  // guess is right or not. Another field, and a detail consent, are unbounded.
  auto tax_type = [&](const std::string& firm, const std::string& v) {
    return a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(firm, v, "tax_type"));
  };
  for (int i = 0; i < 5; ++i) CHECK(tax_type(f[1], "VAT" + std::to_string(i)).body.find("\"mismatch\"") != std::string::npos);
  auto spent = tax_type(f[1], "VAT");
  CHECK(spent.status == 429);
  CHECK_MESSAGE(spent.body.find("\"verify_budget\"") != std::string::npos, spent.body);
  REQUIRE(spent.header("Retry-After"));
  CHECK(std::stol(*spent.header("Retry-After")) > 86000);
  CHECK(a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(f[1], "2026-09", "period")).body.find("\"match\"") != std::string::npos);
  for (int i = 0; i < 7; ++i) CHECK(tax_type(f[3], "VAT" + std::to_string(i)).status == 200);
  // ge / le are charged whatever they answer: each is a bit of a bisection.
  for (int i = 0; i < 5; ++i)
    CHECK(a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(f[2], "2026-0" + std::to_string(i + 1), "period", "ge")).body.find("\"match\"") != std::string::npos);
  CHECK(a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(f[2], "2026-09", "period", "le")).status == 429);
  // Claims answer only match / mismatch / unknown.
  CHECK(a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(f[3], "999")).body.find("\"mismatch\"") != std::string::npos);
  // Judged by the field's type: an ID number a digit off, or spelt as a
  // number, is no match (compared as doubles, all of these matched).
  auto id_claim = [&](const std::string& value, const std::string& op = "eq") {
    return a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(f[4], value, "legal_rep_id", op, "registration", "reg"));
  };
  CHECK(id_claim(raw_id).body.find("\"match\"") != std::string::npos);
  for (auto near : {"320102199001011235", "0320102199001011234", "3.20102199001011234e17"})
    CHECK_MESSAGE(id_claim(near).body.find("\"mismatch\"") != std::string::npos, near);
  auto bisect = id_claim("3201", "ge");
  CHECK(bisect.status == 400);
  CHECK(bisect.body.find("claims[0].op: ge compares numbers and dates; field legal_rep_id is text: use eq") != std::string::npos);
  auto guesses = a.verify_body(f[4], "320102199001011230", "legal_rep_id", "eq", "registration", "reg");
  guesses.insert(guesses.size() - 2, R"(,{"category":"registration","record_id":"reg","field":"legal_rep_id","op":"eq","value":"320102199001011231"})");
  auto claimed_twice = a.call("bank-a", "POST", "/api/v1/verify", guesses);
  CHECK(claimed_twice.status == 400);
  CHECK_MESSAGE(claimed_twice.body.find("claims[1]: registration reg legal_rep_id eq is claimed twice in one request") != std::string::npos, claimed_twice.body);
  auto field_typo = a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(f[3], "1", "amount_payed"));
  CHECK(field_typo.status == 400);
  CHECK(field_typo.body.find("claims[0].field: category tax has no field 'amount_payed'") != std::string::npos);
  auto not_a_number = a.call("bank-a", "POST", "/api/v1/verify", a.verify_body(f[3], "12000.0000000000001"));
  CHECK(not_a_number.status == 400);
  CHECK(not_a_number.body.find("claims[0].value: expected a decimal number") != std::string::npos);
  auto reasons = a.call("bank-a", "GET", a.records_target(f[7])).body;
  CHECK(reasons.find("is for purpose loan_approval") != std::string::npos);
  // With a consent for this purpose too, the refusal names what that one
  // lacks, not the other purpose's.
  auto closer = a.consent(f[7], "verify");
  auto closest = a.call("bank-a", "GET", a.records_target(f[7])).body;
  CHECK_MESSAGE(closest.find("consent " + closer + " is at level verify, this needs summary") != std::string::npos, closest);
  auto marketing = a.call("bank-a", "GET", "/api/v1/subjects/" + f[3] + "/records?purpose=marketing");
  CHECK(marketing.status == 403);
  CHECK(marketing.body.find("wrong_purpose") != std::string::npos);
  // Consents: the portal only, every field checked.
  CHECK(a.call("bank-a", "POST", "/api/v1/consents", "{}").status == 403);
  auto bad = a.call("portal", "POST", "/api/v1/consents", R"({"subject":")" + f[0] + R"(","grantee":"bank-a","purpose":"credit_assessment","categories":["tax"],"level":"detail","personal_data":false,"valid_until":")" + days_ahead(180) + R"(","evidence":"sha256:xyz"})");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("evidence") != std::string::npos);
  auto consent_until = [&](const std::string& until, const std::string& cats) {
    return a.call("portal", "POST", "/api/v1/consents", R"({"subject":")" + f[0] + R"(","grantee":"bank-a","purpose":"credit_assessment","categories":)" + cats +
                                                             R"(,"level":"verify","personal_data":false,"valid_until":")" + until + R"(","evidence":")" + evidence + "\"}");
  };
  auto listed_twice = consent_until(days_ahead(30), R"(["tax","registration","tax"])");
  CHECK(listed_twice.status == 400);
  CHECK_MESSAGE(listed_twice.body.find("categories: \\\"tax\\\" is listed twice") != std::string::npos, listed_twice.body);
  CHECK_MESSAGE(consent_until(a_year_ahead(0), R"(["tax"])").status == 201, a_year_ahead(0));
  // Dates are China's (UTC+8): "until today" ends at 16:00 UTC today in
  // China, and yesterday there has passed, whatever the hour in UTC.
  auto china_today = a_year_ahead(-365), china_yesterday = a_year_ahead(-366);
  if (china_today.substr(5) == a_year_ahead(0).substr(5)) {  // not across a 29 February
    auto today = consent_until(china_today, R"(["tax"])");
    CHECK_MESSAGE(today.status == 201, today.body);
    CHECK_MESSAGE(today.body.find("\"valid_until\":\"" + china_today + "T16:00:00.000Z\"") != std::string::npos, today.body);
    auto gone = consent_until(china_yesterday, R"(["tax"])");
    CHECK(gone.status == 400);
    CHECK(gone.body.find("has passed (in China Standard Time)") != std::string::npos);
  }
  auto too_long = consent_until(a_year_ahead(1), R"(["tax"])");
  CHECK(too_long.status == 400);
  CHECK_MESSAGE(too_long.body.find("valid_until: at most one year after the consent starts (" + a_year_ahead(0) + "), not " + a_year_ahead(1)) != std::string::npos, too_long.body);
  // valid_from: a consent that starts later is "scheduled", and refused
  // until then with the moment it starts; its year counts from that day.
  auto starting = [&](const std::string& from, const std::string& until) {
    return a.call("portal", "POST", "/api/v1/consents", R"({"subject":")" + f[3] + R"(","grantee":"bank-b","purpose":"credit_assessment","categories":["tax"],)" +
                                                             R"("level":"detail","personal_data":false,"valid_from":")" + from + R"(","valid_until":")" + until +
                                                             R"(","evidence":")" + evidence + "\"}");
  };
  auto later = starting(days_ahead(3), days_ahead(30));
  CHECK_MESSAGE(later.status == 201, later.body);
  CHECK(later.body.find("\"status\":\"scheduled\"") != std::string::npos);
  auto not_yet = a.call("bank-b", "GET", "/api/v1/subjects/" + f[3] + "/records?purpose=credit_assessment&categories=tax");
  CHECK(not_yet.status == 403);
  CHECK_MESSAGE(not_yet.body.find("takes effect on " + days_ahead(3) + " (China Standard Time)") != std::string::npos, not_yet.body);
  CHECK(starting(days_ahead(30), days_ahead(3)).body.find("valid_from: " + days_ahead(30) + " is after valid_until") != std::string::npos);
  CHECK(starting(a_year_ahead(1), a_year_ahead(2)).body.find("valid_from: at most one year ahead") != std::string::npos);
  CHECK(starting(days_ahead(30), a_year_ahead(20)).status == 201);  // more than a year from today, within one from its start
  CHECK(starting(days_ahead(30), a_year_ahead(40)).status == 400);
  CHECK(starting("2026-13-01", days_ahead(30)).body.find("valid_from: ") != std::string::npos);
  auto extra = a.call("portal", "POST", "/api/v1/consents", R"({"subject":")" + f[0] + R"(","colour":"red"})");
  CHECK(extra.status == 400);
  CHECK(extra.body.find("unknown field \\\"colour\\\"") != std::string::npos);
  // A key named twice is refused, not read one way and stored the other.
  auto twice_named = a.call("portal", "POST", "/api/v1/consents",
                            R"({"subject":")" + f[0] + R"(","grantee":"bank-b","grantee":"bank-a","purpose":"credit_assessment","categories":["tax"],"level":"detail","personal_data":false,"personal_data":true,"valid_until":")" + days_ahead(180) + R"(","evidence":")" + evidence + "\"}");
  CHECK(twice_named.status == 400);
  CHECK_MESSAGE(twice_named.body.find("the key \\\"grantee\\\" is named twice in one object") != std::string::npos, twice_named.body);
  // Registration (portal) and loan feedback (bank) become records of this node.
  auto reg = a.call("portal", "POST", "/api/v1/registrations", R"({"subject":")" + f[0] +
                    R"(","event_date":"2026-11-01","name":"新公司","legal_rep_name":"李四","legal_rep_id":"320102198001011111","division":"320102"})");
  CHECK_MESSAGE(reg.status == 200, reg.body);
  CHECK(reg.body.find("\"result\":\"created\"") != std::string::npos);
  auto loan = a.call("bank-a", "POST", "/api/v1/loans", R"({"subject":")" + f[3] +
                     R"(","loan_id":"L-1","amount":"500000.00","credit_loan":true,"first_loan":true,"granted_on":"2026-11-20"})");
  CHECK_MESSAGE(loan.status == 200, loan.body);
  CHECK(loan.body.find("\"result\":\"created\"") != std::string::npos);
  auto held = exported(a.n, f[3]);
  bool has_loan = false;
  for (const auto& r : held) has_loan |= r.at("category").as_string() == "loan" && r.at("fields").at("bank").as_string() == "bank-a";
  CHECK(has_loan);
  auto bad_loan = a.call("bank-a", "POST", "/api/v1/loans", R"({"subject":")" + f[3] +
                         R"(","loan_id":"L-2","amount":"lots","credit_loan":true,"first_loan":true,"granted_on":"2026-11-20"})");
  CHECK(bad_loan.status == 400);
  CHECK(bad_loan.body.find("amount") != std::string::npos);
  CHECK(a.call("portal", "POST", "/api/v1/loans", "{}").status == 403);
  {  // a registration of f[2] that came down from the province: this node does not own it
    auto env = store::environment::open({a.n.dir + "/data"});
    store::write_batch b;
    b.origin = "js.province";
    b.rows.push_back({"registration", f[2], "registration", "2026-10-01", "province", R"({"name":"省里的公司"})", 0, {}});
    REQUIRE(store::writer(*env).submit(std::move(b)).get().inserted == 1);
  }
  auto not_ours = a.call("portal", "POST", "/api/v1/registrations", R"({"subject":")" + f[2] +
                         R"(","event_date":"2026-11-01","name":"新公司","legal_rep_name":"李四","legal_rep_id":"320102198001011111","division":"320102"})");
  CHECK(not_ours.status == 409);
  CHECK_MESSAGE(not_ours.body.find("\"error\":\"not_owner\"") != std::string::npos, not_ours.body);
  CHECK_MESSAGE(not_ours.body.find("'registration' is owned by node 'js.province'; only its owner changes it") != std::string::npos,
                not_ours.body);
  for (const auto& r : exported(a.n, f[2]))
    if (r.at("category").as_string() == "registration" && r.at("record_id").as_string() == "registration")
      CHECK(r.at("fields").at("name").as_string() == "省里的公司");  // untouched
  {  // the access log says refused, 409 (the writer's own refusal, for a record arriving after the look: store_test)
    auto log = json::parse(a.call("portal", "GET", "/api/v1/subjects/" + f[2] + "/access-log").body).at("accesses").as_array();
    bool refused_409 = false;
    for (const auto& e : log)
      refused_409 |= e.at("path").as_string() == "/api/v1/registrations" && e.at("status").to_number<int>() == 409 &&
                     e.at("decision").as_string() == "refused";
    CHECK(refused_409);
  }
  // A firm registered outside the node's jurisdiction (Guangzhou at a Nanjing
  // node) is refused here, not taken and then refused by the parent as this
  // node's violation.
  const std::string canton = "91440101MA5CJQ4N59";
  for (auto [who, path, body] : {std::tuple{"bank-a", "/api/v1/loans", R"({"subject":")" + canton +
                                     R"(","loan_id":"L-3","amount":"1.00","credit_loan":true,"first_loan":true,"granted_on":"2026-11-20"})"},
                                 {"portal", "/api/v1/registrations", R"({"subject":")" + canton +
                                     R"(","event_date":"2026-11-01","name":"广州公司","legal_rep_name":"李四","legal_rep_id":"320102198001011111","division":"440101"})"},
                                 {"portal", "/api/v1/consents", R"({"subject":")" + canton + R"(","grantee":"bank-a","purpose":"credit_assessment","categories":["tax"],"level":"detail","personal_data":false,"valid_until":")" +
                                     days_ahead(30) + R"(","evidence":")" + evidence + "\"}"}}) {
    auto r = a.call(who, "POST", path, body);
    CHECK_MESSAGE(r.status == 400, path);
    CHECK_MESSAGE(r.body.find("subject: registered in division 440101 (characters 3-8 of the code), outside this node's jurisdiction 320100") != std::string::npos, r.body);
  }
  CHECK(exported(a.n, canton).empty());
  auto elsewhere = a.call("portal", "POST", "/api/v1/registrations", R"({"subject":")" + f[1] +
                          R"(","event_date":"2026-11-01","name":"某公司","legal_rep_name":"李四","legal_rep_id":"320102198001011111","division":"440101"})");
  CHECK(elsewhere.status == 400);
  CHECK_MESSAGE(elsewhere.body.find("division: 440101 is not the division in the credit code (320102)") != std::string::npos, elsewhere.body);
  // A body over the listener's limit is refused by the HTTP layer, and audited all the same.
  // What the schema cannot say about a loan, each named as the bank sent it.
  auto loan_with = [&](const std::string& loan_id, const std::string& amount, const std::string& granted) {
    return a.call("bank-a", "POST", "/api/v1/loans", R"({"subject":")" + f[3] + R"(","loan_id":")" + loan_id + R"(","amount":)" + amount +
                                                         R"(,"credit_loan":true,"first_loan":true,"granted_on":")" + granted + "\"}");
  };
  for (auto [id, amount, granted, says] : {std::tuple{"L-9", "12000.50", "2026-11-20", "amount: send a decimal as a string, e.g. \\\"12000.50\\\""},
                                           {"L-9", "\"-5\"", "2026-11-20", "amount: must not be negative"},
                                           {"", "\"5.00\"", "2026-11-20", "loan_id: must be 1 to 64 bytes of text"},
                                           {"L-9", "\"5.00\"", "2026-02-30", "granted_on: day 30 does not exist in 2026-02"}}) {
    auto r = loan_with(id, amount, granted);
    CHECK(r.status == 400);
    CHECK_MESSAGE(r.body.find(says) != std::string::npos, r.body);
  }
  CHECK(loan_with("L-9", "500000", "2026-11-20").status == 200);  // a whole number is exact
  // The scheme name is case-insensitive; a query parameter no endpoint knows is refused, not ignored.
  {
    auto tls = node::net::tls_context::make(node::net::tls_side::client, {a.net.ca + "/ca.pem", "", ""});
    auto c = node::net::http_client::make({a.net.api_addr(a.n), "js.nanjing", tls, 10s, 16u << 20});
    ++a.requests;
    auto lower = c->request({"GET", a.records_target(f[2]), "", "", {{"Authorization", "bearer " + a.token["bank-a"]}}});
    CHECK(lower.status == 200);
    REQUIRE(lower.header("Cache-Control"));
    CHECK(*lower.header("Cache-Control") == "no-store");  // credit data: no cache on the way keeps a copy
    ++a.requests;
    CHECK(c->request({"GET", a.records_target(f[2]), "", "", {{"Authorization", "Bearer   " + a.token["bank-a"]}}}).status == 200);
    ++a.requests;
    auto nobody = c->request({"GET", a.records_target(f[2]), "", "", {}});
    CHECK(nobody.status == 401);
    REQUIRE(nobody.header("WWW-Authenticate"));
    CHECK(nobody.header("WWW-Authenticate")->rfind("Bearer", 0) == 0);
  }
  auto typo = a.call("bank-a", "GET", "/api/v1/subjects/" + f[2] + "/records?purpose=credit_assessment&category=tax");
  CHECK(typo.status == 400);
  CHECK(typo.body.find("unknown query parameter 'category' (purpose, categories)") != std::string::npos);
  // As Python's urlencode or Java's URLEncoder send it: the comma and the
  // underscore encoded, the code in the path too.
  auto encoded = a.call("bank-a", "GET", "/api/v1/subjects/%3" + f[4].substr(0, 1) + f[4].substr(1) +  // %39 is "9"
                                           "/records?purpose=credit%5Fassessment&categories=tax%2Cregistration");
  CHECK_MESSAGE(encoded.status == 200, encoded.body);
  CHECK(encoded.body.find("\"category\":\"registration\"") != std::string::npos);
  auto huge = a.call("bank-a", "POST", "/api/v1/loans", std::string(3u << 20, ' '));
  CHECK(huge.status == 413);
  CHECK(huge.body.find("body_too_large") != std::string::npos);
  {  // on the chain as who asked what, refused with 413
    auto env = store::environment::open({a.n.dir + "/data"});
    bool found = false;
    store::reader(*env).for_each_audit(1, [&](const store::audit_entry& e) {
      found |= e.status == 413 && e.principal == "bank-a" && e.path == "/api/v1/loans" && e.decision == "refused";
      return true;
    });
    CHECK(found);
  }
  // The enterprise sees who looked.
  auto log = a.call("portal", "GET", "/api/v1/subjects/" + f[3] + "/access-log");
  REQUIRE(log.status == 200);
  CHECK(log.body.find("\"principal\":\"bank-a\"") != std::string::npos);
  CHECK(log.body.find("\"principal\":\"bank-b\"") != std::string::npos);
  auto entries = json::parse(log.body).at("accesses").as_array();
  REQUIRE(!entries.empty());
  CHECK(entries[0].at("path").as_string() == "/api/v1/loans");  // newest first: the loan feedback came last
  CHECK(json::parse(log.body).at("total").to_number<std::size_t>() == entries.size());
  // Pages of it: the newest two, then the two before (the reads above are
  // on the log themselves, so the second page starts one entry later).
  auto page = [&](const std::string& q) { return a.call("portal", "GET", "/api/v1/subjects/" + f[3] + "/access-log?" + q); };
  auto first = json::parse(page("limit=2").body).at("accesses").as_array();
  REQUIRE(first.size() == 2);
  auto second = json::parse(page("limit=2&offset=3").body).at("accesses").as_array();
  REQUIRE(second.size() == 2);
  CHECK(second[0].at("at").as_string() <= first[1].at("at").as_string());
  // `before` pages without that shift: each page continues exactly where
  // the last ended, however many reads came between, down to the first entry.
  std::vector<std::uint64_t> walked;
  std::string q = "limit=3";
  for (int pages = 0; pages < 100; ++pages) {
    auto p = json::parse(page(q).body).as_object();
    for (const auto& e : p.at("accesses").as_array()) walked.push_back(e.at("seq").to_number<std::uint64_t>());
    if (p.at("next_before").is_null()) break;
    CHECK(p.at("next_before").to_number<std::uint64_t>() == walked.back());
    q = "limit=3&before=" + std::to_string(walked.back());
  }
  auto whole = json::parse(page("limit=1000").body).at("accesses").as_array();
  REQUIRE(!walked.empty());
  for (std::size_t i = 1; i < walked.size(); ++i) CHECK(walked[i] < walked[i - 1]);  // newest first, none twice
  CHECK(walked.back() == whole.back().at("seq").to_number<std::uint64_t>());         // down to the oldest
  std::set<std::uint64_t> in_whole;
  for (const auto& e : whole) in_whole.insert(e.at("seq").to_number<std::uint64_t>());
  for (auto s : walked) CHECK(in_whole.count(s) == 1);
  CHECK(whole.size() == walked.size() + (walked.size() + 2) / 3);  // and, since, one read of it per page
  for (auto bad : {"limit=0", "limit=1001", "offset=-1", "before=x", "since=2026-01-01", "limit=2&limit=3"}) {
    auto r = page(bad);
    CHECK_MESSAGE(r.status == 400, bad << ": " << r.body);
  }
  // A stranger's request full of bytes that are not UTF-8 is refused and
  // audited, and leaves the chain intact (such a path once broke it).
  auto junk = a.call("", "GET", "/api/v1/subjects/" + f[4] + "/records?x=" + std::string(1500, '\xff'));
  CHECK(junk.status == 401);
  // A path or method no endpoint has is audited too (the count below).
  CHECK(a.call("bank-a", "GET", "/api/v1/nothing").status == 404);
  CHECK(a.call("bank-a", "PUT", "/api/v1/verify", "{}").status == 405);
  CHECK(a.call("", "GET", "/api/v1/nothing").status == 404);
  // Every request, allowed or refused, is on an intact chain.
  auto audit = a.audit_verified();
  CHECK(audit.at("ok").as_bool());
  CHECK(audit.at("entries").to_number<std::size_t>() == a.requests);
  // Its head, kept elsewhere, is what a later verify holds the log to.
  auto head = std::to_string(audit.at("head").at("seq").to_number<std::uint64_t>()) + ":" +
              std::string(audit.at("head").at("hash").as_string());
  auto anchored = test::run_cli({"audit", "verify", "--head", head, "-c", a.n.cfg});
  CHECK(anchored.exit_code == 0);
  CHECK_MESSAGE(anchored.out.find("the hash chain is intact and holds entry ") != std::string::npos, anchored.out);
  auto bad_head = test::run_cli({"audit", "verify", "--head", "12", "-c", a.n.cfg});
  CHECK(bad_head.exit_code == 2);
  CHECK(bad_head.err.find("--head takes SEQ:HASH") != std::string::npos);
  // Metrics: the log's size, and how long answers waited for their entry.
  auto metrics = http_get(a.n.admin, "/metrics", 2s).body;
  CHECK(metrics.find("\ncredit_node_audit_entries " + std::to_string(a.requests) + "\n") != std::string::npos);
  CHECK(metrics.find("\ncredit_node_audit_commit_seconds_count " + std::to_string(a.requests) + "\n") != std::string::npos);
  // Requests by endpoint: the enterprise's code is not a label.
  CHECK(metrics.find("credit_node_http_requests_total{listener=\"api\",endpoint=\"/api/v1/subjects/{id}/records\",code=\"200\"} ") != std::string::npos);
  CHECK(metrics.find("credit_node_http_requests_total{listener=\"api\",endpoint=\"/api/v1/subjects/{id}/records\",code=\"403\"} ") != std::string::npos);
  CHECK(metrics.find("endpoint=\"/api/v1/subjects/" + a.firms[0]) == std::string::npos);
  // The log never carries a secret or a person's data: no token, no ID number, name or phone.
  auto logged = proc.err();
  CHECK(logged.find("event=request") != std::string::npos);  // it did log the requests
  for (const auto& [who, token] : a.token) CHECK_MESSAGE(logged.find(token) == std::string::npos, who << "'s token is in the log");
  CHECK(logged.find(raw_id) == std::string::npos);
  CHECK(logged.find("13812345678") == std::string::npos);
  CHECK(logged.find("张三丰") == std::string::npos);
}

// A leaked token or a bank that breaks the rules: the operator suspends it
// or gives it a new token, on the running node, effective on the next request.
TEST_CASE("api: a suspended bank is refused until resumed, and a new token retires the old one at once") {
  api_node a;
  child proc({"run", "-c", a.n.cfg});
  wait_ready(a.n, proc);
  auto loan = [&](const std::string& who, const std::string& id) {
    return a.call(who, "POST", "/api/v1/loans", R"({"subject":")" + a.firms[0] + R"(","loan_id":")" + id +
                                                    R"(","amount":"1.00","credit_loan":true,"first_loan":true,"granted_on":"2026-11-20"})");
  };
  auto admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "admin");
    args.insert(args.end(), {"-c", a.n.cfg});
    return test::run_cli(args);
  };
  REQUIRE(loan("bank-b", "L-1").status == 200);
  auto s = admin({"bank", "suspend", "--id", "bank-b", "--reason", "token seen in a public repository"});
  REQUIRE_MESSAGE(s.exit_code == 0, s.err);
  CHECK(s.out.find("bank bank-b suspended") != std::string::npos);
  auto refused = loan("bank-b", "L-2");
  CHECK(refused.status == 403);
  CHECK(refused.body.find("\"error\":\"suspended\"") != std::string::npos);
  CHECK(refused.body.find("token seen in a public repository") != std::string::npos);
  CHECK(loan("bank-a", "L-3").status == 200);  // another bank is not affected
  REQUIRE(admin({"bank", "resume", "--id", "bank-b"}).exit_code == 0);
  CHECK(loan("bank-b", "L-4").status == 200);
  // A new token: the old one is refused on the next request, the new one works.
  auto old_token = a.token["bank-b"];
  auto t = admin({"bank", "token", "--id", "bank-b", "--token-out", a.net.d / "b2.token"});
  REQUIRE_MESSAGE(t.exit_code == 0, t.err);
  CHECK(loan("bank-b", "L-5").status == 401);
  auto fresh = test::read_file(a.net.d / "b2.token");
  a.token["bank-b"] = fresh.substr(0, fresh.find('\n'));
  CHECK(a.token["bank-b"] != old_token);
  CHECK(loan("bank-b", "L-6").status == 200);
  // The portal too; and the refusals name what is wrong.
  REQUIRE(admin({"portal", "suspend", "--id", "portal", "--reason", "audit"}).exit_code == 0);
  CHECK(a.call("portal", "GET", "/api/v1/subjects/" + a.firms[0] + "/access-log").status == 403);
  CHECK(admin({"bank", "suspend", "--id", "portal", "--reason", "x"}).err.find("no bank 'portal' is registered") != std::string::npos);
  CHECK(admin({"bank", "suspend", "--id", "nobody", "--reason", "x"}).exit_code == 2);
  CHECK(admin({"bank", "suspend", "--id", "bank-a"}).err.find("--reason") != std::string::npos);
  CHECK(admin({"bank", "token", "--id", "bank-a", "--token-out", a.net.d / "b2.token"}).err.find("must not exist yet") != std::string::npos);
  // Every one of those requests is on the chain, the refused ones too.
  auto audit = a.audit_verified();
  CHECK(audit.at("ok").as_bool());
  CHECK(audit.at("entries").to_number<std::size_t>() == a.requests);
}

TEST_CASE("api: a bank by client certificate is known, a stranger's certificate is not, and a bank over its rate gets 429") {
  api_node a;
  test::write_file(a.n.cfg, test::read_file(a.n.cfg) + "\n[api]\nrequests_per_second = 2\n");
  // bank-c holds a certificate from the network's CA, role bank.
  std::string dir = a.bank_certificate("bank-c");
  auto wrong = test::run_cli({"admin", "bank", "add", "--id", "bank-x", "--name", "X", "--cert", dir + ".pem", "-c", a.n.cfg});
  CHECK(wrong.exit_code == 2);  // the certificate names bank-c
  CHECK(wrong.err.find("names bank-c") != std::string::npos);
  REQUIRE(test::run_cli({"admin", "bank", "add", "--id", "bank-c", "--name", "Bank C", "--cert", dir + ".pem", "-c", a.n.cfg}).exit_code == 0);
  // A token would be a second way in for a bank that signs in by certificate.
  auto second = test::run_cli({"admin", "bank", "token", "--id", "bank-c", "--token-out", a.net.d / "c.token", "-c", a.n.cfg});
  CHECK(second.exit_code == 2);
  CHECK(second.err.find("signs in with its client certificate: a token would be a second way in") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(a.net.d / "c.token"));
  child proc({"run", "-c", a.n.cfg});
  wait_ready(a.n, proc);
  auto client = [&](const std::string& cert, const std::string& key) {
    auto tls = node::net::tls_context::make(node::net::tls_side::client, {a.net.ca + "/ca.pem", cert, key});
    return node::net::http_client::make({a.net.api_addr(a.n), "js.nanjing", tls, 10s, 16u << 20});
  };
  auto c = client(dir + ".pem", dir + ".key");
  auto target = a.records_target(a.firms[0]);
  auto first = c->request({"GET", target, {}, {}, {}});
  CHECK_MESSAGE(first.status == 403, first.body);  // known (not 401), but no consent
  CHECK(first.body.find("no consent") != std::string::npos);
  // Four in the burst (two seconds at 2/s), then 429 with Retry-After.
  int limited = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = c->request({"GET", target, {}, {}, {}});
    if (r.status == 429) {
      ++limited;
      CHECK(r.header("Retry-After") != nullptr);
    }
  }
  CHECK(limited >= 2);
  // A certificate from another CA names nobody here.
  std::string other = a.net.d / "other-ca";
  REQUIRE(test::run_cli({"pki", "ca-init", "--dir", other, "--name", "Other CA"}).exit_code == 0);
  REQUIRE(test::run_cli({"pki", "sign", "--ca", other, "--csr", dir + ".csr", "--out", dir + "-other.pem", "--role", "bank",
                         "--node-id", "bank-c"}).exit_code == 0);
  // Refused at the handshake, and told why by a TLS alert (not a bare close).
  auto stranger = client(dir + "-other.pem", dir + ".key");
  try {
    auto r = stranger->request({"GET", target, {}, {}, {}});
    FAIL("answered " << r.status << " to a certificate from another CA");
  } catch (const node::net::client_error& e) {
    CHECK_MESSAGE(std::string(e.what()).find("the peer says: unknown CA") != std::string::npos, e.what());
  }
  // The node's log names whom the refused certificate belongs to.
  CHECK_MESSAGE(eventually([&] {
    auto err = proc.err();
    auto at = err.find("event=tls_handshake_failed listener=api");
    return at != std::string::npos && err.find("presented by CN=bank-c", at) != std::string::npos;
  }), proc.err());
  CHECK(a.audit_verified().at("ok").as_bool());
}

TEST_CASE("api: SIGHUP lowers the rate limit of a running node, and the refusals it makes are audited") {
  api_node a;
  child proc({"run", "-c", a.n.cfg});
  wait_ready(a.n, proc);
  auto statuses = [&](int n) {
    std::map<int, int> seen;
    for (int i = 0; i < n; ++i) ++seen[a.call("bank-b", "GET", a.records_target(a.firms[0])).status];
    return seen;
  };
  auto before = statuses(6);
  CHECK(before[403] == 6);  // no consent, but no limit at the default 200/s
  test::write_file(a.n.cfg, test::read_file(a.n.cfg) + "\n[api]\nrequests_per_second = 1\n");
  proc.signal(SIGHUP);
  auto reloaded = [&] { return proc.err().find("event=reloaded") != std::string::npos; };
  for (int i = 0; i < 50 && !reloaded(); ++i) std::this_thread::sleep_for(100ms);
  REQUIRE_MESSAGE(reloaded(), proc.err());
  CHECK_MESSAGE(proc.err().find("applied=api") != std::string::npos, proc.err());
  // The bucket refills at the new rate: at most the two-second burst and
  // what trickles in during the loop gets through.
  auto after = statuses(8);
  CHECK_MESSAGE(after[429] >= 4, "403: " << after[403] << ", 429: " << after[429]);
  auto audit = a.audit_verified();
  CHECK(audit.at("ok").as_bool());
  CHECK(audit.at("entries").as_int64() == static_cast<std::int64_t>(a.requests));
  proc.signal(SIGTERM);
  CHECK(proc.wait_exit(5s) == 0);
}
