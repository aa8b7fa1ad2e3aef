// Why `text` is not strict JSON — a syntax error and the byte it is at, or
// a key named twice in one object (which json::parse takes silently, the
// last one winning); empty when it is. For API bodies and imported JSONL
// lines alike (strict_json.cpp).
#pragma once

#include <string>
#include <string_view>

namespace node::api {

std::string strict_json_problem(std::string_view text);

}  // namespace node::api
