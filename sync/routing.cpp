#include "sync/routing.hpp"

#include "store/model/uscc.hpp"

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

std::string outside_jurisdiction(std::string_view jurisdiction, std::string_view subject) {
  auto division = subject.size() == 18 ? store::model::uscc_division(subject) : std::string_view{};
  if (covers(jurisdiction, division)) return {};
  return "registered in division " + std::string(division) + " (characters 3-8 of the code), outside this node's jurisdiction " +
         std::string(jurisdiction) + ": its records belong at the platform that serves that division";
}

}  // namespace replication
