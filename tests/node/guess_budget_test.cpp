// The bound on a bank's informative verification claims per field (node/api).
#include <doctest/doctest.h>

#include "node/api/guess_budget.hpp"

using node::api::guess_budget;
using namespace std::chrono_literals;

namespace {
// Reserves and settles one claim; false when refused.
bool claim(guess_budget& g, const std::string& bank, const std::string& key, bool charged, guess_budget::clock::time_point at) {
  if (g.reserve(bank, {key}, at)) return false;
  g.settle(bank, key, charged, at);
  return true;
}
}  // namespace

TEST_CASE("guess budget: five charges per field in any 24 hours, per bank and per field, and matches cost nothing") {
  guess_budget g;
  auto t0 = guess_budget::clock::now();
  for (int i = 0; i < 20; ++i) CHECK(claim(g, "bank-a", "f1", false, t0));  // matches
  for (int i = 0; i < 5; ++i) CHECK(claim(g, "bank-a", "f1", true, t0 + i * 1h));
  auto no = g.reserve("bank-a", {"f1"}, t0 + 5h);
  REQUIRE(no);
  CHECK_FALSE(no->table_full);
  CHECK(no->until == t0 + 24h);                   // when the first charge ages out
  CHECK_FALSE(g.reserve("bank-b", {"f1"}, t0 + 5h));  // another bank's budget is its own
  CHECK_FALSE(g.reserve("bank-a", {"f2"}, t0 + 5h));  // and another field's
  // Rolling: one charge ages out at a time (a fixed window let 9 through within minutes).
  CHECK(claim(g, "bank-a", "f1", true, t0 + 24h));
  CHECK_FALSE(claim(g, "bank-a", "f1", true, t0 + 24h + 1s));
  CHECK(claim(g, "bank-a", "f1", true, t0 + 25h));
}

TEST_CASE("guess budget: reservations make requests at once unable to overdraw, and a refused request reserves nothing") {
  guess_budget g;
  auto t0 = guess_budget::clock::now();
  for (int i = 0; i < 4; ++i) CHECK(claim(g, "bank-a", "f", true, t0));
  // One charge left: eq, ge and le on the field in one request take three.
  CHECK(g.reserve("bank-a", {"f", "f", "f"}, t0));
  CHECK_FALSE(g.reserve("bank-a", {"f"}, t0));  // the refused one reserved nothing
  CHECK(g.reserve("bank-a", {"f"}, t0));         // two requests at once: the second waits on the first's settling
  g.settle("bank-a", "f", false, t0);            // the first matched: its reservation is freed
  CHECK_FALSE(g.reserve("bank-a", {"f"}, t0));
}

TEST_CASE("guess budget: a bank's table is bounded, says so, and makes room when charges age out") {
  guess_budget g({2, std::chrono::hours(1), 3});
  auto t0 = guess_budget::clock::now();
  for (int i = 0; i < 3; ++i) CHECK(claim(g, "bank-a", "f" + std::to_string(i), true, t0 + i * 1min));
  CHECK_FALSE(g.reserve("bank-a", {"f0"}, t0 + 5min));  // a field it holds: one charge of two
  g.settle("bank-a", "f0", false, t0 + 5min);
  auto full = g.reserve("bank-a", {"f9"}, t0 + 5min);
  REQUIRE(full);
  CHECK(full->table_full);
  CHECK(full->until == t0 + 1h);
  CHECK_FALSE(g.reserve("bank-b", {"f9"}, t0 + 5min));
  CHECK_FALSE(g.reserve("bank-a", {"f9"}, t0 + 1h));  // f0's charge aged out: room again
}
