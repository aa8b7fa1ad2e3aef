#include <doctest/doctest.h>

#include "store/model/uscc.hpp"

using namespace store::model;

TEST_CASE("uscc: the published valid examples pass") {
  CHECK(uscc_error("91350200776049653A") == "");
  CHECK(uscc_error("91440101MA5CJQ4N59") == "");
  CHECK(uscc_error("9135021359498494XQ") == "");  // position 17 is X (GB 11714's 10)
  CHECK(std::string(uscc_division("91350200776049653A")) == "350200");
}

TEST_CASE("uscc: a wrong position-18 check character names both characters") {
  auto e = uscc_error("91350200776049653B");
  CHECK(e.find("position 18") != std::string::npos);
  CHECK(e.find("'B'") != std::string::npos);
  CHECK(e.find("expected 'A'") != std::string::npos);
}

TEST_CASE("uscc: a wrong position-17 check character is caught on its own") {
  // Change position 17 and recompute 18 so only the GB 11714 check fails.
  std::string code = "9135020077604965";
  code += '4';
  code += uscc_full_check(code);
  auto e = uscc_error(code);
  CHECK(e.find("position 17") != std::string::npos);
  CHECK(e.find("expected '3'") != std::string::npos);
}

TEST_CASE("uscc: forbidden letters I O S V Z are refused with their position") {
  for (char bad : {'I', 'O', 'S', 'V', 'Z'}) {
    std::string code = "91350200776049653A";
    code[10] = bad;
    auto e = uscc_error(code);
    CAPTURE(code);
    CHECK(e.find("character 11") != std::string::npos);
    CHECK(e.find(std::string("'") + bad + "'") != std::string::npos);
  }
  CHECK(uscc_error("91350200776049653a").find("character 18") != std::string::npos);
}

TEST_CASE("uscc: 17 and 19 characters are refused by length") {
  CHECK(uscc_error("91350200776049653").find("18 characters, got 17") != std::string::npos);
  CHECK(uscc_error("91350200776049653AA").find("18 characters, got 19") != std::string::npos);
  CHECK(uscc_error("").find("got 0") != std::string::npos);
}

TEST_CASE("uscc: the division must be digits") {
  // Letters are in the alphabet but not valid in positions 3-8.
  CHECK(uscc_error("91A50200776049653A").find("division") != std::string::npos);
}

TEST_CASE("uscc: legacy allowlist accepts exactly the listed codes") {
  uscc_policy none;
  uscc_policy with({"91350200776049653B"});
  CHECK(none.check("91350200776049653B") != "");
  CHECK(with.check("91350200776049653B") == "");
  CHECK(with.check("91350200776049653C") != "");  // not listed: still refused
  CHECK(with.check("91350200776049653A") == "");  // valid codes unaffected
}

TEST_CASE("uscc: generated codes round-trip through both checks") {
  const char* bodies[] = {"91320100", "92320500", "93110000"};
  for (auto* b : bodies) {
    std::string code = b;
    code += "MA1B2C3D";
    code += uscc_org_check(code.substr(8, 8));
    code += uscc_full_check(code);
    CAPTURE(code);
    CHECK(uscc_error(code) == "");
  }
}
