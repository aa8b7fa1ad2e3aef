#include <doctest/doctest.h>

#include "sync/routing.hpp"

TEST_CASE("routing: a jurisdiction covers the divisions under it, and only those") {
  CHECK(replication::division_prefix("320100") == "3201");
  CHECK(replication::division_prefix("320000") == "32");
  CHECK(replication::division_prefix("320106") == "320106");
  CHECK(replication::division_prefix("100000") == "");
  CHECK(replication::covers("320100", "320106"));      // Nanjing covers Gulou
  CHECK(replication::covers("320100", "320100"));
  CHECK_FALSE(replication::covers("320100", "320506"));  // not Suzhou's districts
  CHECK(replication::covers("320000", "320506"));      // Jiangsu covers both
  CHECK_FALSE(replication::covers("320000", "350200"));  // not Xiamen
  CHECK(replication::covers("100000", "350200"));      // national covers all
  CHECK_FALSE(replication::covers("320100", "3201"));    // malformed input covers nothing
  CHECK_FALSE(replication::covers("3201", "320106"));
}
