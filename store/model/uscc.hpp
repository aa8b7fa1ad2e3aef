// Unified Social Credit Code (统一社会信用代码, GB 32100-2015).
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace store::model {

// Why a code was refused; empty when valid.
std::string uscc_error(std::string_view code);

// Codes issued before the rules were enforced: accepted as they are, so that
// the check itself never has to be weakened.
class uscc_policy {
public:
  uscc_policy() = default;
  explicit uscc_policy(const std::vector<std::string>& legacy_codes);
  // Empty when `code` is valid or allowlisted, otherwise the reason.
  std::string check(std::string_view code) const;

private:
  std::unordered_set<std::string> legacy_;
};

// The check characters for the first 17 characters (for generators and tests).
char uscc_org_check(std::string_view pos9_to_16);    // position 17
char uscc_full_check(std::string_view first17);      // position 18

// Characters 3-8: the administrative division of the registering authority.
inline std::string_view uscc_division(std::string_view code) { return code.substr(2, 6); }

}  // namespace store::model
