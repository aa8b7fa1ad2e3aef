#include "node/demo/sample_data.hpp"

#include <cstdio>
#include <map>
#include <set>

#include "store/model/uscc.hpp"

namespace node::demo {
namespace {

constexpr std::string_view alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";

template <class T>
const T& pick(const std::vector<T>& v, std::mt19937_64& rng) {
  return v[rng() % v.size()];
}

std::string money(std::mt19937_64& rng, int max_yuan) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d.%02d", static_cast<int>(rng() % max_yuan), static_cast<int>(rng() % 100));
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string period(std::size_t i) {  // walks back month by month from 2026-10
  int m = 10 - static_cast<int>(i % 120), y = 2026;
  while (m < 1) m += 12, --y;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
  return buf;
}

const std::vector<std::string> departments{
    "国家税务总局南京市税务局", "南京市生态环境局", "南京市不动产登记中心",
    "南京市市场监督管理局", "南京水务集团有限公司", "国网南京供电公司", "南京市科学技术局"};

// One row's cells after subject and record_id: event_date, source, fields.
std::vector<std::string> row_cells(const std::string& cat, std::size_t i, std::mt19937_64& rng,
                                   std::string& record_id) {
  std::string p = period(i), day = p + "-" + std::to_string(10 + rng() % 18);
  if (cat == "tax") {
    static const std::vector<std::string> types{"增值税", "企业所得税", "城市维护建设税", "印花税"};
    static const std::vector<std::string> ratings{"A", "B", "M", "C", "D"};
    std::string t = pick(types, rng);
    record_id = p + "-" + std::to_string(i % 4);
    return {day, departments[0], p, t, money(rng, 500000), rng() % 5 ? "" : money(rng, 20000), pick(ratings, rng)};
  }
  if (cat == "environment") {
    static const std::vector<std::string> kinds{"permit", "penalty", "rating"};
    record_id = "宁环罚〔" + p.substr(0, 4) + "〕" + std::to_string(1000 + i) + "号";
    return {day, departments[1], pick(kinds, rng), departments[1], rng() % 3 ? "合格" : "整改完成"};
  }
  if (cat == "real_estate") {
    record_id = "苏(" + p.substr(0, 4) + ")宁不动产权第" + std::to_string(100000 + i) + "号";
    return {day, departments[2], "国有建设用地使用权/房屋所有权", money(rng, 20000), "320106",
            rng() % 2 ? "true" : "false"};
  }
  if (cat == "admin_enforcement") {
    static const std::vector<std::string> measures{"查封场所、设施或者财物", "扣押财物", "冻结存款、汇款"};
    static const std::vector<std::string> states{"执行中", "已解除", "已履行"};
    record_id = "宁市监强字〔" + p.substr(0, 4) + "〕第" + std::to_string(10000 + i) + "号";
    return {day, departments[3], pick(measures, rng),
            "《中华人民共和国行政强制法》第二十二条、第二十三条；《中华人民共和国产品质量法》第十八条",
            departments[3], pick(states, rng)};
  }
  if (cat == "utility_payment") {
    static const std::vector<std::string> utils{"water", "power", "gas"};
    std::string u = pick(utils, rng);
    record_id = u + "-" + p + "-" + std::to_string(i % 3);
    std::string due = money(rng, 80000);
    return {day, u == "water" ? departments[4] : departments[5], u, p, due,
            rng() % 10 ? due : money(rng, 100), rng() % 10 ? "0" : std::to_string(rng() % 90)};
  }
  // rnd
  static const std::vector<std::string> kinds{"high_tech", "project", "patent"};
  record_id = "GR" + p.substr(0, 4) + "3200" + std::to_string(10000 + i);
  return {day, departments[6], pick(kinds, rng), "江苏省科学技术厅", rng() % 2 ? "2028-12-31" : ""};
}

const std::map<std::string, std::string> headers{
    {"tax", "period,tax_type,amount_paid,arrears,credit_rating"},
    {"environment", "kind,issuer,result"},
    {"real_estate", "right_type,area_m2,location_division,mortgage_registered"},
    {"admin_enforcement", "measure,legal_basis,authority,status"},
    {"utility_payment", "utility,period,amount_due,amount_paid,days_overdue"},
    {"rnd", "kind,issuer,valid_until"},
};

}  // namespace

std::vector<std::string> make_enterprises(std::size_t n, const std::vector<std::string>& divisions,
                                          std::mt19937_64& rng) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  while (out.size() < n) {
    std::string code = rng() % 8 ? "91" : "92";  // enterprises, some individual businesses
    code += pick(divisions, rng);
    for (int i = 0; i < 8; ++i) code += alphabet[rng() % alphabet.size()];
    code += store::model::uscc_org_check(code.substr(8, 8));
    code += store::model::uscc_full_check(code);
    if (seen.insert(code).second) out.push_back(code);
  }
  return out;
}

const std::vector<std::string>& local_categories() {
  static const std::vector<std::string> c{"tax", "environment", "real_estate",
                                          "admin_enforcement", "utility_payment", "rnd"};
  return c;
}

void write_csv(std::ostream& out, const std::string& category,
               const std::vector<std::string>& subjects, std::size_t rows, std::mt19937_64& rng,
               row_order order, const std::string& id_prefix) {
  out << "subject,record_id,event_date,source," << headers.at(category) << "\n";
  std::string line, record_id;
  const std::size_t n = subjects.size(), per_subject = (rows + n - 1) / n;
  for (std::size_t i = 0; i < rows; ++i) {
    bool grouped = order == row_order::grouped;
    const auto& subject = subjects[grouped ? i / per_subject : i % n];
    auto cells = row_cells(category, grouped ? i % per_subject : i / n, rng, record_id);
    line = subject + "," + csv_field(id_prefix + record_id);
    for (const auto& c : cells) line += "," + csv_field(c);
    out << line << "\n";
  }
}

}  // namespace node::demo
