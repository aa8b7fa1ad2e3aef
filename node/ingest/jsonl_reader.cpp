#include "node/ingest/jsonl_reader.hpp"

#include <boost/json.hpp>

#include <deque>

#include "node/api/strict_json.hpp"

namespace node::ingest {

namespace json = boost::json;
using store::model::raw_value;

struct jsonl_reader::parsed {
  json::parser parser;
  json::value doc;
  std::deque<std::string> numbers;  // stable addresses for number spellings
};

jsonl_reader::jsonl_reader(byte_source& src, std::size_t max_line_bytes)
    : src_(src), max_(max_line_bytes), doc_(std::make_unique<parsed>()) {}
jsonl_reader::~jsonl_reader() = default;

std::string jsonl_reader::excerpt() const { return line_.substr(0, 120); }

jsonl_reader::status jsonl_reader::fail(std::string field, std::string why) {
  error_ = {std::move(field), std::move(why)};
  return status::error;
}

jsonl_reader::status jsonl_reader::read_line() {
  line_.clear();
  ++line_no_;
  int c = src_.get();
  if (c < 0) return status::eof;
  for (; c >= 0 && c != '\n'; c = src_.get()) {
    if (line_.size() >= max_) {
      for (c = src_.get(); c >= 0 && c != '\n'; c = src_.get()) {}
      return fail("line", "line is longer than " + std::to_string(max_) +
                              " bytes (limit [import] max_record_bytes)");
    }
    line_ += static_cast<char>(c);
  }
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_no_ == 1 && line_.starts_with("\xEF\xBB\xBF")) line_.erase(0, 3);  // a BOM, as CSV allows
  return status::ok;
}

namespace {

// An integer's own spelling. A number with a fraction or an exponent (or
// past 64 bits) is held as a double, which keeps ~15 digits: 9999999999999.9999
// would be stored as 10000000000000 without a word, so it is refused.
std::string number_text(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  return std::to_string(v.get_uint64());
}

}  // namespace

jsonl_reader::status jsonl_reader::convert() {
  if (!doc_->doc.is_object()) return fail("line", "expected a JSON object");
  row_ = {};
  auto& obj = doc_->doc.get_object();
  const json::object* fields = nullptr;
  for (auto& [key, val] : obj) {
    std::string_view* slot = key == "subject" ? &row_.subject
                           : key == "record_id" ? &row_.record_id
                           : key == "event_date" ? &row_.event_date
                           : key == "source" ? &row_.source : nullptr;
    if (slot) {
      if (!val.is_string()) return fail(std::string(key), "expected a string");
      *slot = val.get_string();
    } else if (key == "fields") {
      if (!val.is_object()) return fail("fields", "expected an object of the category's fields");
      fields = &val.get_object();
    } else {
      return fail(std::string(key), "unknown key; expected subject, record_id, event_date, source, fields");
    }
  }
  if (!fields) return fail("fields", "missing");
  for (auto& [key, val] : *fields) {
    raw_value rv;
    if (val.is_string()) rv = {raw_value::kind::string, val.get_string()};
    else if (val.is_double())
      return fail("fields." + std::string(key), "send a number with a fraction or an exponent (or past 64 bits) as a "
                                                 "string, e.g. \"12000.50\" (such a JSON number can lose digits)");
    else if (val.is_number()) rv = {raw_value::kind::number, doc_->numbers.emplace_back(number_text(val))};
    else if (val.is_bool()) rv = {raw_value::kind::boolean, val.get_bool() ? "true" : "false"};
    else if (val.is_null()) rv = {raw_value::kind::null, {}};
    else rv = {raw_value::kind::other, {}};
    row_.fields.emplace_back(std::string_view(key), rv);
  }
  return status::ok;
}

jsonl_reader::status jsonl_reader::next() {
  for (;;) {
    auto s = read_line();
    if (s != status::ok) return s;
    if (line_.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    // A key named twice would be taken silently (the last one) by the
    // parser below: a record under another firm, or another amount.
    if (auto problem = api::strict_json_problem(line_); !problem.empty()) return fail("line", "not valid JSON: " + problem);
    doc_->numbers.clear();
    doc_->parser.reset();
    json::error_code ec;
    doc_->parser.write(line_.data(), line_.size(), ec);
    if (!ec) doc_->doc = doc_->parser.release();
    if (ec) return fail("line", "not valid JSON: " + ec.message());
    return convert();
  }
}

}  // namespace node::ingest
