#include "sync/routing.hpp"

namespace replication {

std::string_view division_prefix(std::string_view j) {
  if (j == "100000") return {};  // 中华人民共和国: the whole country
  while (j.size() >= 2 && j.substr(j.size() - 2) == "00") j.remove_suffix(2);
  return j;
}

bool covers(std::string_view jurisdiction, std::string_view division) {
  if (jurisdiction.size() != 6 || division.size() != 6) return false;
  return division.starts_with(division_prefix(jurisdiction));
}

}  // namespace replication
