// A bank's claim about one field (POST /api/v1/verify), checked against the
// field's type before anything is read, and judged exactly: decimals as
// decimals (never through a double, which would make an 18-digit ID number
// "match" a neighbour), text byte for byte. ge / le only where an order
// means something — numbers and dates — so free text and codes cannot be
// bisected one character at a time.
#pragma once

#include <string>
#include <string_view>

#include "store/model/category.hpp"

namespace node::api {

// Empty when `op` and `value` fit the field; else what is wrong.
std::string check_claim(const store::model::field_def& f, std::string_view op, std::string_view value);

// `held` is the stored value as text (a JSON number or bool serialized);
// the claim passed check_claim. True when the claim holds.
bool claim_holds(const store::model::field_def& f, std::string_view held, std::string_view op, std::string_view value);

}  // namespace node::api
