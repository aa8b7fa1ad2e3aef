// API bodies: a key named twice is refused (json::parse keeps the last one
// silently), and a syntax error says at which byte.
#include <doctest/doctest.h>

#include "node/api/internal.hpp"

using node::api::strict_json_problem;

TEST_CASE("strict json: a key named twice in one object is refused, naming it, and the same key in two objects is fine") {
  CHECK(strict_json_problem(R"({"personal_data":false,"personal_data":true})") ==
        "the key \"personal_data\" is named twice in one object");
  CHECK(strict_json_problem(R"({"claims":[{"op":"ge","value":"1","op":"eq"}]})") == "the key \"op\" is named twice in one object");
  // Escapes are compared as the parser reads them: \u0061 is "a".
  CHECK(strict_json_problem(R"({"a":1,"\u0061":2})") == "the key \"a\" is named twice in one object");
  CHECK(strict_json_problem(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})").empty());
  CHECK(strict_json_problem(R"({"subject":"x","grantee":"bank-a","categories":["tax","tax"]})").empty());
  CHECK(strict_json_problem(R"([1,2,{}])").empty());
}

TEST_CASE("strict json: a syntax error names the byte it is at") {
  CHECK(strict_json_problem(R"({"a":1,})") == "syntax error at byte 8");
  CHECK(strict_json_problem(R"({"a":1} x)") == "text after the JSON value at byte 9");
  CHECK(strict_json_problem("{\"a\":1} \n").empty());
  CHECK(strict_json_problem("").find(" at byte 1") != std::string::npos);
  CHECK(strict_json_problem(R"({"a":tru})") == "syntax error at byte 6");  // where the literal starts
}

// Keys are kept in a set per object: a body of 90,000 keys (under the 1 MiB
// limit) took 25 s of CPU when they were compared pairwise.
TEST_CASE("strict json: an object of 90,000 keys is checked, and a duplicate at its end is found") {
  std::string body = "{";
  for (int i = 0; i < 90000; ++i) body += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  CHECK(strict_json_problem(body + "}").empty());
  CHECK(strict_json_problem(body + ",\"k7\":2}") == "the key \"k7\" is named twice in one object");
}
