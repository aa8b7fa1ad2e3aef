#include <doctest/doctest.h>

#include "store/model/mask.hpp"

using namespace store::model;

TEST_CASE("mask: ID numbers, phones, names and accounts as DOMAIN.md shows them, never revealing a short value") {
  CHECK(mask_id_number("320102199001011234") == "320102********1234");
  CHECK(mask_phone("13812345678") == "138****5678");
  CHECK(mask_name("张三丰") == "张*丰");
  CHECK(mask_name("张三") == "张*");
  CHECK(mask_name("欧阳娜娜") == "欧**娜");
  CHECK(mask_account("6222020200112233445") == "622202*********3445");
  CHECK(mask_id_number("12345") == "*****");  // too short to keep 6 + 4: hidden whole
  CHECK(mask_personal("legal_rep_id", "320102199001011234") == "320102********1234");
  CHECK(mask_personal("phone", "13812345678") == "138****5678");
  CHECK(mask_personal("legal_rep_name", "李四") == "李*");
  CHECK(mask_personal("something_else", "abc") == "a**");
}
