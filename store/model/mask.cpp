#include "store/model/mask.hpp"

#include <algorithm>
#include <vector>

namespace store::model {
namespace {

// Code points as byte ranges, so a Chinese name is masked per character.
std::vector<std::string_view> chars(std::string_view s) {
  std::vector<std::string_view> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    n = std::min(n, s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

// Keeps `head` characters and `tail` characters, one '*' for each hidden
// one; a value too short to keep both is hidden whole (never revealed).
std::string keep_ends(const std::vector<std::string_view>& cs, std::size_t head, std::size_t tail) {
  if (cs.size() <= head + tail) return std::string(cs.size(), '*');
  std::string out;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    if (i < head || i >= cs.size() - tail)
      out += cs[i];
    else
      out += '*';
  }
  return out;
}

// As keep_ends, and at least four characters, and a third, are hidden.
// The standard masks hide that much of a value of the usual length (6 + 4
// of an 18-character ID number, 3 + 4 of an 11-digit mobile); of a value
// only a little longer than what they keep they would show nearly all (an
// 8-digit landline as 888*6666), so both ends shrink until enough is hidden.
std::string keep(std::string_view v, std::size_t head, std::size_t tail) {
  auto cs = chars(v);
  std::size_t n = cs.size();
  if (n <= head + tail) return keep_ends(cs, head, tail);
  std::size_t hide = std::max<std::size_t>(4, (n + 2) / 3);
  std::size_t shown = n > hide ? std::min(head + tail, n - hide) : 0;
  if (shown < head + tail) {
    std::size_t t = std::min(tail, shown / 2);
    head = std::min(head, shown - t);
    tail = shown - head;
  }
  return keep_ends(cs, head, tail);
}

}  // namespace

std::string mask_id_number(std::string_view v) { return keep(v, 6, 4); }
std::string mask_phone(std::string_view v) { return keep(v, 3, 4); }
std::string mask_account(std::string_view v) { return keep(v, 6, 4); }

// The surname kept (DOMAIN.md): 张*丰, 张*, 欧**娜 — a name is short, and
// the rule of at least four hidden would leave nothing of it.
std::string mask_name(std::string_view v) {
  auto cs = chars(v);
  if (cs.size() <= 1) return std::string(cs.size(), '*');
  if (cs.size() == 2) return std::string(cs[0]) + "*";
  return keep_ends(cs, 1, 1);
}

std::string mask_personal(std::string_view field, std::string_view value) {
  if (field.ends_with("_id") || field.find("id_number") != std::string_view::npos) return mask_id_number(value);
  if (field == "phone" || field.ends_with("_phone") || field == "mobile") return mask_phone(value);
  if (field.ends_with("name")) return mask_name(value);
  if (field.find("account") != std::string_view::npos) return mask_account(value);
  return keep(value, 1, 0);
}

}  // namespace store::model
