// What wire.cpp (encoding, the DOM-based schema check of a stored record)
// and wire_decode.cpp (the streaming batch decoder) share. Private to sync/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/model/record.hpp"
#include "store/model/validate.hpp"

namespace replication::detail {

// Beyond 2^53 a version is no longer exact in every JSON reader, and one
// near 2^64 would leave its owner no newer version to send.
constexpr std::uint64_t max_version = std::uint64_t{1} << 53;

// The category's schema over fields already read (`row.fields` in input
// order; subject and the rest are taken from `r`). `unsupported` names the
// first field whose value is not a string, number or boolean, if any.
// Empty when valid, with `canonical` the fields as the store keeps them.
std::string check_row(const store::model::record& r, store::model::raw_row& row, std::string_view unsupported,
                      std::string& canonical, bool utf8_checked);

}  // namespace replication::detail
