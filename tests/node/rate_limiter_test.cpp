// The API's per-principal rate limit, on a clock the test moves.
#include <doctest/doctest.h>

#include "node/api/rate_limiter.hpp"

using node::api::rate_limiter;
using namespace std::chrono_literals;

TEST_CASE("rate limit: a burst of two seconds, then the rate, and strangers' idle buckets are dropped, a busy one is kept") {
  rate_limiter l;
  auto t0 = rate_limiter::clock::now();
  int allowed = 0;
  for (int i = 0; i < 30; ++i) allowed += l.allow("bank-a", 10, t0);
  CHECK(allowed == 20);                       // two seconds' worth at once
  CHECK_FALSE(l.allow("bank-a", 10, t0 + 50ms));  // half a token back: not yet
  CHECK(l.allow("bank-a", 10, t0 + 100ms));      // one token a tenth of a second later
  for (int i = 0; i < 1000; ++i) CHECK(l.allow("anon:10.0.0." + std::to_string(i), 10, t0));
  CHECK(l.size() == 1001);
  // 1.5 s later bank-a keeps asking (and stays limited); the strangers are quiet.
  for (int i = 0; i < 30; ++i) l.allow("bank-a", 10, t0 + 1500ms);
  CHECK_FALSE(l.allow("bank-a", 10, t0 + 1500ms));
  // Past two seconds of quiet a stranger's bucket is full again, like a new
  // one: dropped (the sweep runs at most once a second). bank-a's, used
  // 1.1 s ago, is kept with what it had used: 11 tokens back, not a new 20.
  CHECK(l.allow("anon:10.0.0.1", 10, t0 + 2600ms));
  CHECK(l.size() == 2);
  allowed = 0;
  for (int i = 0; i < 30; ++i) allowed += l.allow("bank-a", 10, t0 + 2600ms);
  CHECK(allowed == 11);
}
