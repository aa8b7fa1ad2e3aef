// `credit-node quality`: each figure computed from rows whose answer is
// known by hand.
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "node/cli_support.hpp"
#include "node/quality/monitor.hpp"
#include "store/environment.hpp"
#include "store/writer.hpp"

using namespace cli_test;

namespace {

std::int64_t days_since(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  auto today = floor<days>(system_clock::now());
  return (today - sys_days{year{y} / month{m} / day{d}}).count();
}

}  // namespace

TEST_CASE("quality: completeness, accuracy, continuity and timeliness per category, from known rows") {
  cli_test::node n;
  // A's VAT series has 2024-01, -02 and -04 (March is missing); B's CIT has
  // one month. Optional fields of tax: arrears and credit_rating.
  auto f = n.file("tax.csv", tax_header + "\n" +
                                 A + ",v1,2024-01-15,tax bureau,2024-01,VAT,100.00,,A\n" +
                                 A + ",v2,2024-02-15,tax bureau,2024-02,VAT,100.00,5.00,A\n" +
                                 A + ",v4,2024-04-15,tax bureau,2024-04,VAT,100.00,,\n" +
                                 B + ",c1,2024-01-20,tax bureau,2024-01,CIT,300.00,,B\n" +
                                 B + ",bad,2024-01-20,tax bureau,2024-01,CIT,not-a-number,,B\n");
  auto imp = n.import("tax", f);
  CHECK(imp.exit_code == 1);  // one row refused
  auto r = n.run("quality", {"--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto all = json_lines(r.out).at(0).at("categories").as_object();
  auto tax = all.at("tax").as_object();
  CHECK(tax.at("records").to_number<int>() == 4);
  CHECK(tax.at("quarantined").to_number<int>() == 1);
  CHECK(tax.at("completeness").as_double() == doctest::Approx(4.0 / 8.0));  // 3 ratings + 1 arrears of 8
  CHECK(tax.at("accuracy").as_double() == doctest::Approx(4.0 / 5.0));
  CHECK(tax.at("continuity").as_double() == doctest::Approx(4.0 / 5.0));   // A: 3 of 4 months, B: 1 of 1
  CHECK(str(tax.at("newest_event")) == "2024-04-15");
  auto age = tax.at("newest_event_age_days").to_number<std::int64_t>();
  CHECK(age >= days_since(2024, 4, 15) - 1);
  CHECK(age <= days_since(2024, 4, 15));
  // Lags: every row arrived today; the median event is 2024-01-20 or -02-15.
  auto p50 = tax.at("lag_days_p50").to_number<std::int64_t>();
  CHECK(p50 >= days_since(2024, 2, 15) - 1);
  CHECK(p50 <= days_since(2024, 1, 20));
  CHECK(tax.at("lag_days_p90").to_number<std::int64_t>() >= p50);
  // A category without records has nothing to measure: nulls, not zeros.
  auto env = all.at("environment").as_object();
  CHECK(env.at("records").to_number<int>() == 0);
  CHECK(env.at("completeness").is_null());
  CHECK(env.at("accuracy").is_null());
  CHECK(env.at("continuity").is_null());
  CHECK(env.at("newest_event").is_null());
  // Not periodic: no continuity even with records.
  CHECK(all.at("registration").at("continuity").is_null());

  auto text = n.run("quality");
  REQUIRE(text.exit_code == 0);
  CHECK_MESSAGE(text.out.find("tax                        4           1     50.0%     80.0%      80.0%") != std::string::npos, text.out);
  CHECK(tax.at("unreadable").to_number<int>() == 0);
  CHECK(text.out.find("not valid JSON") == std::string::npos);
}

// A record stored before imports refused an integer with leading zeros
// ("007") holds fields that are not JSON: the parent refuses every batch
// carrying it. The report counts such records and names the first.
TEST_CASE("quality: records whose fields are not valid JSON are counted and the first named, to import again") {
  cli_test::node n;
  {
    auto env = store::environment::open({n.dir + "/data"});
    store::model::record r;
    r.category = "utility_payment";
    r.subject = A;
    r.record_id = "w-1";
    r.origin = "js.suzhou";
    r.version = 1;
    r.event_date = "2026-01-31";
    r.source = "water company";
    r.fields_json = R"({"utility":"water","period":"2026-01","amount_due":"1.00","amount_paid":"1.00","days_overdue":007})";
    store::write_batch b;
    b.via = "js.suzhou";
    b.replicas.push_back(r);
    store::writer(*env).submit(std::move(b)).get();
  }
  auto r = n.run("quality", {"--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto utility = json_lines(r.out).at(0).at("categories").at("utility_payment").as_object();
  CHECK(utility.at("unreadable").to_number<int>() == 1);
  CHECK(str(utility.at("first_unreadable")) == A + "/w-1");
  auto text = n.run("quality");
  CHECK_MESSAGE(text.out.find("utility_payment: 1 record(s) whose fields are not valid JSON (the first: " + A + "/w-1)") !=
                    std::string::npos, text.out);
}

TEST_CASE("quality: a scan in slices of short read transactions reports what one pass does") {
  cli_test::node n;
  std::string rows = tax_header + "\n";
  for (int i = 0; i < 7; ++i)
    rows += A + ",s" + std::to_string(i) + ",2024-0" + std::to_string(i + 1) + "-15,tax bureau,2024-0" +
            std::to_string(i + 1) + ",VAT,100.00," + (i % 2 ? "5.00" : "") + ",A\n";
  REQUIRE(n.import("tax", n.file("tax.csv", rows)).exit_code == 0);
  auto env = store::environment::open({n.dir + "/data"});
  auto text = [&](std::uint64_t slice) {
    auto r = ::node::quality::compute(*env, 1'750'000'000'000, {}, slice);
    r.took_ms = 0;
    return ::node::quality::to_json(r);
  };
  auto whole = text(1000);
  CHECK(whole.find("\"records\":7") != std::string::npos);
  for (std::uint64_t slice : {1, 2, 3, 7}) CHECK_MESSAGE(text(slice) == whole, "slice " << slice);
}

TEST_CASE("quality: the monitor's scan thread runs at the lowest nice level") {
  cli_test::node n;
  REQUIRE(n.import("tax", n.file("tax.csv", tax_header + "\n" + tax_row(A, "i1"))).exit_code == 0);
  auto env = store::environment::open({n.dir + "/data"});
  ::node::quality::monitor m(*env, std::chrono::seconds(3600));
  int nice = 0;
  for (int tries = 0; tries < 200 && nice != 19; ++tries) {  // the thread names itself when it starts
    for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(t.path() / "comm");
      std::string name;
      std::getline(comm, name);
      if (name == "cn-quality") nice = getpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(t.path().filename().string())));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(nice == 19);
}

// A restart usually brings a catch-up: a large store's first scan waits,
// a small one's does not (its scan is cheap), and stopping ends the wait.
TEST_CASE("quality: the monitor scans a small store at once and a large one only after its first delay") {
  cli_test::node n;
  REQUIRE(n.import("tax", n.file("tax.csv", tax_header + "\n" + tax_row(A, "i1") + "\n" + tax_row(A, "i2"))).exit_code == 0);
  auto env = store::environment::open({n.dir + "/data"});
  using std::chrono::seconds;
  auto reported = [](const ::node::quality::monitor& m, int tries = 500) {  // within tries x 10 ms
    for (; tries > 0 && !m.latest(); --tries) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return m.latest() != nullptr;
  };
  {
    ::node::quality::monitor small(*env, seconds(3600), seconds(3600), 2);  // 2 records: not over 2
    CHECK(reported(small));
  }
  ::node::quality::monitor large(*env, seconds(3600), seconds(3600), 1);  // 2 records: over 1
  CHECK_FALSE(reported(large, 150));  // 1.5 s without a report (the small store's came well within that)
  ::node::quality::monitor soon(*env, seconds(3600), seconds(1), 1);
  CHECK(reported(soon));  // after its one-second delay
}  // the destructors end the hour-long waits at once
