// The bound on a bank's wrong verification claims per field (node/api).
#include <doctest/doctest.h>

#include "node/api/guess_budget.hpp"

using node::api::guess_budget;
using namespace std::chrono_literals;

TEST_CASE("guess budget: five mismatches per field, then refused until the window ends, per bank and per field") {
  guess_budget g;
  auto t0 = guess_budget::clock::now();
  for (int i = 0; i < 5; ++i) {
    CHECK_FALSE(g.spent("bank-a", "f1", t0 + i * 1s));
    g.mismatch("bank-a", "f1", t0 + i * 1s);
  }
  auto until = g.spent("bank-a", "f1", t0 + 10s);
  REQUIRE(until);
  CHECK(*until == t0 + 24h);                       // from the first miss
  CHECK_FALSE(g.spent("bank-b", "f1", t0 + 10s));  // another bank's budget is its own
  CHECK_FALSE(g.spent("bank-a", "f2", t0 + 10s));  // and another field's
  CHECK(g.spent("bank-a", "f1", t0 + 24h - 1s));
  CHECK_FALSE(g.spent("bank-a", "f1", t0 + 24h));  // a new window
  g.mismatch("bank-a", "f1", t0 + 24h);
  CHECK_FALSE(g.spent("bank-a", "f1", t0 + 24h + 1s));
}

TEST_CASE("guess budget: a bank's table is bounded, and a full one refuses new fields until its oldest miss ages out") {
  guess_budget g({2, std::chrono::hours(1), 3});
  auto t0 = guess_budget::clock::now();
  for (int i = 0; i < 3; ++i) g.mismatch("bank-a", "f" + std::to_string(i), t0 + i * 1min);
  CHECK_FALSE(g.spent("bank-a", "f0", t0 + 5min));  // a field it holds: one miss of two
  auto full = g.spent("bank-a", "f9", t0 + 5min);
  REQUIRE(full);
  CHECK(*full == t0 + 1h);
  CHECK_FALSE(g.spent("bank-b", "f9", t0 + 5min));
  CHECK_FALSE(g.spent("bank-a", "f9", t0 + 1h));  // f0's window ended: room again
}
