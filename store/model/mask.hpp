// Masks for personal information (DOMAIN.md, desensitization defaults):
// what a bank sees of a personal field when the consent does not cover
// personal data. Pure functions on UTF-8 text. Besides a name, at least
// four characters and a third of a value are always hidden: a value only a
// little longer than what a mask keeps shows less at both ends (an 8-digit
// landline 88****66, not 888*6666); one no longer is hidden whole.
#pragma once

#include <string>
#include <string_view>

namespace store::model {

std::string mask_id_number(std::string_view v);  // first 6 + last 4: 320102********1234
std::string mask_phone(std::string_view v);      // first 3 + last 4: 138****5678
std::string mask_name(std::string_view v);       // surname kept: 张*丰, 张*
std::string mask_account(std::string_view v);    // first 6 + last 4

// The mask for a personal field of a built-in category, by field name
// (legal_rep_id, phone, legal_rep_name, ...); anything else personal keeps
// its first character only.
std::string mask_personal(std::string_view field, std::string_view value);

}  // namespace store::model
