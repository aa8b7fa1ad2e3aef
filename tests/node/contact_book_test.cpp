// The parent's book of when each child was last heard from hands the store
// one batch of contacts at most once an interval: hundreds of children
// long-polling every few seconds must not each make a commit.
#include <doctest/doctest.h>

#include <algorithm>

#include "node/service/contact_book.hpp"

using node::service::contact_book;
using batch = std::vector<std::pair<std::string, std::int64_t>>;

namespace {
batch sorted(batch b) {
  std::sort(b.begin(), b.end());
  return b;
}
}  // namespace

TEST_CASE("contact_book: the first contact is stored at once, then every child heard meanwhile once an interval") {
  contact_book book(60'000);
  CHECK(book.heard("js.nanjing", 1'000) == batch{{"js.nanjing", 1'000}});
  CHECK(book.heard("js.nanjing", 5'000).empty());
  CHECK(book.heard("js.suzhou", 30'000).empty());
  CHECK(book.heard("js.nanjing", 40'000).empty());
  // A minute after the last batch: both, each with its latest time.
  CHECK(sorted(book.heard("js.wuxi", 61'000)) == batch{{"js.nanjing", 40'000}, {"js.suzhou", 30'000}, {"js.wuxi", 61'000}});
  CHECK(book.heard("js.suzhou", 62'000).empty());
  // Only those heard since: Suzhou, not Nanjing again.
  CHECK(book.heard("js.suzhou", 121'000) == batch{{"js.suzhou", 121'000}});
}

TEST_CASE("contact_book: a clock stepped back makes a batch due at once") {
  contact_book book(60'000);
  CHECK_FALSE(book.heard("js.nanjing", 1'000'000).empty());
  CHECK(book.heard("js.nanjing", 400'000) == batch{{"js.nanjing", 400'000}});
  CHECK(book.heard("js.nanjing", 410'000).empty());
}
