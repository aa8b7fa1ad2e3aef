#include <doctest/doctest.h>

#include <algorithm>
#include <string>

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
  CHECK(mask_personal("something_else", "abc") == "***");  // four hidden, at least
  CHECK(mask_personal("something_else", "abcdefgh") == "a*******");
}

// A value a little longer than what a mask keeps: at least four characters,
// and a third, stay hidden (the ends shrink), never all but one.
TEST_CASE("mask: a value just over a mask's kept length still hides four characters and a third") {
  CHECK(mask_phone("88886666") == "88****66");       // an 8-digit landline, not 888*6666
  CHECK(mask_phone("059212345678") == "059*****5678");  // 12 digits: 3 + 4 kept, 5 hidden
  CHECK(mask_id_number("32010219900") == "3201****900");  // 11 characters, not 320102*9900
  CHECK(mask_account("62220202001") == "6222****001");
  CHECK(mask_account("6222020200112233") == "622202******2233");  // a 16-digit card: the standard mask
  for (std::string v = "1234567890"; v.size() < 40; v += "x") {
    auto m = mask_personal("legal_rep_id", v);
    auto hidden = static_cast<std::size_t>(std::count(m.begin(), m.end(), '*'));
    CHECK_MESSAGE(hidden >= std::max<std::size_t>(4, (v.size() + 2) / 3), v << " -> " << m);
    CHECK(m.size() == v.size());
  }
}
