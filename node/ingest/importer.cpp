#include "node/ingest/importer.hpp"

#include <algorithm>
#include <deque>
#include <future>
#include <stdexcept>

#include "node/ingest/csv_reader.hpp"
#include "node/ingest/jsonl_reader.hpp"
#include "store/model/category.hpp"
#include "store/model/validate.hpp"
#include "sync/routing.hpp"

namespace node::ingest {
namespace {

using store::model::raw_row;
using store::model::raw_value;

// Collects rows into batches and keeps at most two in the writer's hands.
class pipeline {
public:
  pipeline(store::environment& env, const import_options& opt, import_report& rep)
      : env_(env), w_(env), opt_(opt), rep_(rep) {
    start_batch();
  }

  // A row slot to fill, reusing the strings of a batch the writer returned:
  // a bulk import then allocates (and frees) almost nothing per row.
  store::import_row& slot() {
    if (spare_.empty()) return cur_.rows.emplace_back();
    cur_.rows.push_back(std::move(spare_.back()));
    spare_.pop_back();
    return cur_.rows.back();
  }

  void filled() {
    cur_.rows.back().make_key();  // a recycled slot still holds its old key
    if (cur_.rows.size() >= opt_.batch_rows) submit();
  }

  void bad(std::uint64_t line, std::string field, std::string reason, std::string excerpt) {
    note_bad(line, std::move(field), std::move(reason), std::move(excerpt));
    if (cur_.quarantine.size() >= opt_.batch_rows) submit();
  }

  // Every batch committed (each flushed but for the page naming the last
  // commit); `sync` then makes them all durable.
  void finish() {
    if (!cur_.rows.empty() || !cur_.quarantine.empty()) submit();
    while (!inflight_.empty()) collect();
  }
  void sync() { env_.sync(); }  // durable once, at the end

  // On a fatal error mid-file: what was submitted still lands, and what
  // landed is made durable (the last commit's meta page is not yet). Every batch is
  // waited for, even after one failed: the report must count them all.
  // `keep_current`: the rows of the batch being filled go in too (the file
  // failed, not the store). Returns the first store failure met, empty when none.
  std::string drain(bool keep_current = false) noexcept {
    std::string failure;
    auto note = [&](const std::exception& e) {
      if (failure.empty()) failure = e.what();
    };
    if (keep_current && (!cur_.rows.empty() || !cur_.quarantine.empty())) {
      try {
        enqueue();
      } catch (const std::exception& e) {
        note(e);
      }
    }
    while (!inflight_.empty()) {
      try {
        collect();
      } catch (const std::exception& e) {
        note(e);
      }
    }
    try {
      env_.sync();
    } catch (const std::exception& e) {
      note(e);
    }
    return failure;
  }

private:
  void start_batch() {
    cur_ = {};
    cur_.origin = opt_.origin;
    cur_.durable = false;  // one flush per commit, not two; the last at the end
    cur_.rows.reserve(opt_.batch_rows);
  }

  void submit() {
    enqueue();
    while (inflight_.size() > 1) collect();
  }

  // The batch being filled goes to the writer; a new one starts.
  void enqueue() {
    // Sorting here, not in the writer, balances the two cores.
    cur_.order = store::key_order(cur_.rows);
    drop_repeats();
    inflight_.push_back(w_.submit(std::move(cur_)));
    start_batch();
  }

  // The same record twice in a batch: applying both would make a new
  // version on every re-import of the file. The later row is used; the
  // earlier one is quarantined so nothing disappears silently. (Repeats
  // further apart than a batch become successive versions.)
  void drop_repeats() {
    auto& o = cur_.order;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < o.size(); ++i) {
      bool repeated = i + 1 < o.size() && cur_.rows[o[i]].key == cur_.rows[o[i + 1]].key;
      if (!repeated) { o[kept++] = o[i]; continue; }
      const auto& r = cur_.rows[o[i]];
      note_bad(r.line, "record_id", "record '" + r.record_id + "' of " + r.subject + " appears again at line " +
          std::to_string(cur_.rows[o[i + 1]].line) + " of this file; the later row is used", r.record_id);
    }
    o.resize(kept);
  }

  void note_bad(std::uint64_t line, std::string field, std::string reason, std::string excerpt) {
    store::quarantine_entry q{opt_.path, line, opt_.category, std::move(field), std::move(reason),
                              std::move(excerpt), 0};
    ++rep_.quarantined;
    if (opt_.on_bad) opt_.on_bad(q);
    cur_.quarantine.push_back(std::move(q));
  }

  void collect() {
    auto f = std::move(inflight_.front());
    inflight_.pop_front();  // before get(): a batch that failed is settled too
    auto r = f.get();
    rep_.inserted += r.inserted;
    rep_.updated += r.updated;
    rep_.unchanged += r.unchanged;
    if (spare_.empty()) spare_ = std::move(r.recycled);
    for (auto& q : r.rejected) {
      q.file = opt_.path;
      ++rep_.quarantined;
      if (opt_.on_bad) opt_.on_bad(q);
    }
  }

  store::environment& env_;
  store::writer w_;
  const import_options& opt_;
  import_report& rep_;
  store::write_batch cur_;
  std::deque<std::future<store::batch_result>> inflight_;
  std::vector<store::import_row> spare_;
};

void fill(store::import_row& o, const std::string& category, const raw_row& r,
          const std::string& fields, std::uint64_t line) {
  o.category.assign(category);
  o.subject.assign(r.subject);
  o.record_id.assign(r.record_id);
  o.event_date.assign(r.event_date);
  o.source.assign(r.source);
  o.fields_json.assign(fields);
  o.line = line;
}

// Where each CSV column goes.
struct column_map {
  enum role : std::uint8_t { subject, record_id, event_date, source, field };
  std::vector<role> roles;
  std::vector<std::string> names;
};

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// Header problems make the whole file unreadable: nothing goes in.
std::string map_header(const std::vector<std::string_view>& header,
                       const store::model::category_def& cat, column_map& m) {
  static const char* fixed[] = {"subject", "record_id", "event_date", "source"};
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string name = trim(header[i]);
    if (auto e = store::model::check_utf8(name); !e.empty()) return "header column " + std::to_string(i + 1) + ": " + e;
    for (const auto& n : m.names)
      if (n == name) return "header names column '" + name + "' twice";
    auto role = column_map::field;
    for (int r = 0; r < 4; ++r)
      if (name == fixed[r]) role = static_cast<column_map::role>(r);
    if (role == column_map::field && !cat.find(name)) {
      std::string allowed = "subject, record_id, event_date, source";
      for (const auto& f : cat.fields) allowed += ", " + f.name;
      return "unknown column '" + name + "' for category '" + cat.name + "'; expected columns: " + allowed;
    }
    m.roles.push_back(role);
    m.names.push_back(std::move(name));
  }
  auto has = [&](const std::string& n) { for (auto& x : m.names) if (x == n) return true; return false; };
  for (auto* f : fixed)
    if (!has(f)) return std::string("header lacks the required column '") + f + "'";
  for (const auto& f : cat.fields)
    if (f.required && !has(f.name)) return "header lacks the required column '" + f.name + "'";
  return {};
}

void fill_row(const column_map& m, const std::vector<std::string_view>& cells, raw_row& r) {
  r.fields.clear();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    switch (m.roles[i]) {
      case column_map::subject: r.subject = cells[i]; break;
      case column_map::record_id: r.record_id = cells[i]; break;
      case column_map::event_date: r.event_date = cells[i]; break;
      case column_map::source: r.source = cells[i]; break;
      case column_map::field: r.fields.emplace_back(m.names[i], raw_value{raw_value::kind::string, cells[i]});
    }
  }
}

struct context {
  const import_options& opt;
  const store::model::category_def& cat;
  const store::model::uscc_policy& codes;
  import_report& rep;
  pipeline& pipe;
  byte_source& src;

  void progress() {
    if (opt.on_progress && rep.rows % 65536 == 0) opt.on_progress(rep.rows, src.consumed(), src.size());
  }
  // `excerpt` is a callable: the text is only built for a bad row.
  template <class Excerpt>
  void handle(const raw_row& row, std::uint64_t line, Excerpt&& excerpt, std::string& json) {
    ++rep.rows;
    if (auto e = store::model::validate_row(cat, codes, row, json))
      pipe.bad(line, e->field, e->reason, excerpt());
    else if (auto why = replication::outside_jurisdiction(opt.jurisdiction, row.subject); !why.empty())
      pipe.bad(line, "subject", why, excerpt());
    else {
      fill(pipe.slot(), cat.name, row, json, line);
      pipe.filled();
    }
    progress();
  }
};

void read_csv(context& ctx) {
  csv_reader rd(ctx.src, ctx.opt.max_record_bytes);
  auto s = rd.next();
  if (s == csv_reader::status::eof)
    throw std::invalid_argument("file is empty; expected a header row (subject,record_id,event_date,source,…)");
  if (s == csv_reader::status::error) throw std::invalid_argument("header: " + rd.error());
  column_map m;
  if (auto e = map_header(rd.fields(), ctx.cat, m); !e.empty()) throw std::invalid_argument(e);
  raw_row row;
  std::string json;
  while ((s = rd.next()) != csv_reader::status::eof) {
    if (s == csv_reader::status::error) {
      ++ctx.rep.rows;
      ctx.pipe.bad(rd.line(), "line", rd.error(), rd.excerpt());
      continue;
    }
    if (rd.fields().size() != m.roles.size()) {
      ++ctx.rep.rows;
      ctx.pipe.bad(rd.line(), "line", "has " + std::to_string(rd.fields().size()) +
                   " columns, the header has " + std::to_string(m.roles.size()), rd.excerpt());
      continue;
    }
    fill_row(m, rd.fields(), row);
    ctx.handle(row, rd.line(), [&] { return rd.excerpt(); }, json);
  }
}

void read_jsonl(context& ctx) {
  jsonl_reader rd(ctx.src, ctx.opt.max_record_bytes);
  std::string json;
  bool any = false;
  for (auto s = rd.next(); s != jsonl_reader::status::eof; s = rd.next()) {
    any = true;
    if (s == jsonl_reader::status::error) {
      ++ctx.rep.rows;
      ctx.pipe.bad(rd.line(), rd.error().field, rd.error().reason, rd.excerpt());
      continue;
    }
    ctx.handle(rd.row(), rd.line(), [&] { return rd.excerpt(); }, json);
  }
  if (!any) throw std::invalid_argument("file is empty; expected one JSON object per line");
}

file_format detect(const import_options& opt, byte_source& src) {
  if (opt.format != file_format::automatic) return opt.format;
  const auto& p = opt.path;
  auto ends = [&](std::string_view ext) { return p.size() >= ext.size() && p.compare(p.size() - ext.size(), ext.size(), ext) == 0; };
  if (ends(".csv")) return file_format::csv;
  if (ends(".jsonl") || ends(".ndjson") || ends(".json")) return file_format::jsonl;
  return src.peek() == '{' ? file_format::jsonl : file_format::csv;
}

// Disk full and the like: the operator must act. Said with what did land,
// since the batches before the failure committed.
import_report& store_failed(import_report& r, pipeline& pipe, const store::store_error& e) {
  pipe.drain();
  auto n = [](std::uint64_t v) { return std::to_string(v); };
  r.fatal = std::string(e.what()) + "; of the " + n(r.rows) + " rows read, " + n(r.inserted + r.updated + r.unchanged) +
            " are stored (" + n(r.inserted) + " new, " + n(r.updated) + " updated, " + n(r.unchanged) + " unchanged), "
            "the others not: once that is fixed, import the same file again (rows already stored count as unchanged)";
  return r;
}

// Whether every non-ASCII byte of `text` pairs as GBK does: a lead byte
// 81-FE and a trail byte 40-FE (not 7F).
bool reads_as_gbk(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) continue;
    if (c == 0x80 || c == 0xFF || i + 1 == text.size()) return false;
    auto t = static_cast<unsigned char>(text[++i]);
    if (t < 0x40 || t == 0x7F || t == 0xFF) return false;
  }
  return true;
}

// A whole file in another encoding (GBK / GB18030, as Excel saves CSV in
// China; UTF-16) would become one quarantined row per line of Chinese text,
// each saying only "invalid UTF-8 at byte N". Judged on the first buffer:
// a file is refused whole when at least three, and most, of its lines with
// non-ASCII bytes are not UTF-8 but read as GBK (a damaged line or two is
// those rows' problem, and stray bytes that are not GBK either are left to
// the rows).
std::string encoding_problem(byte_source& src, const std::string& path) {
  auto w = src.window();
  if (w.starts_with("\xFF\xFE") || w.starts_with("\xFE\xFF"))
    return path + " is UTF-16 (it starts with a UTF-16 byte-order mark), not UTF-8: save it as UTF-8 (Excel: \"CSV UTF-8\"), "
                  "or convert it: iconv -f UTF-16 -t UTF-8 " + path + " > " + path + ".utf8; nothing was imported";
  if (src.size() == 0 || w.size() < src.size()) w = w.substr(0, w.rfind('\n') + 1);  // whole lines only
  std::size_t non_ascii = 0, bad = 0, line = 0, first_bad = 0;
  std::string first_why;
  for (std::size_t at = 0; at < w.size();) {
    auto nl = w.find('\n', at);
    auto text = w.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    at = nl == std::string_view::npos ? w.size() : nl + 1;
    ++line;
    if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) continue;
    ++non_ascii;
    if (auto why = store::model::check_utf8(text); !why.empty() && reads_as_gbk(text) && !bad++) first_bad = line, first_why = why;
  }
  if (bad < 3 || bad * 2 < non_ascii) return {};  // a line or two: those rows' problem (cp1252 "Müller" pairs as GBK too)
  return path + " is not UTF-8: " + std::to_string(bad) + " of the " + std::to_string(non_ascii) +
         " lines with non-ASCII text at its start are not, and read as GBK (the first, line " + std::to_string(first_bad) + ": " + first_why +
         "). GBK / GB18030, as Excel saves CSV? Save it as UTF-8 (Excel: \"CSV UTF-8\"), or convert it: iconv -f GB18030 "
         "-t UTF-8 " + path + " > " + path + ".utf8; nothing was imported";
}

// The file failed mid-way (a disk or network error): the rows read before
// it are stored, and said so with their counts, so that importing the file
// again once it reads is safe (those rows count as unchanged).
import_report& read_failed(import_report& r, pipeline& pipe, const std::runtime_error& e) {
  auto failed = pipe.drain(true);
  auto n = [](std::uint64_t v) { return std::to_string(v); };
  r.fatal = std::string(e.what()) + "; the " + n(r.rows) + " rows read before it were handled (" + n(r.inserted) +
            " new, " + n(r.updated) + " updated, " + n(r.unchanged) + " unchanged, " + n(r.quarantined) +
            " quarantined): import the file again when it reads without error (rows already stored count as unchanged)";
  if (!failed.empty()) r.fatal += "; but then the store failed: " + failed + " — some of those rows may not be stored";
  return r;
}

// The last step failed: every row is committed and visible, but the flush
// to disk did not happen, so a power loss could still take some away.
// Not "the others not stored", which would send the operator after rows
// that are there.
import_report& unflushed(import_report& r, const store::store_error& e) {
  auto n = [](std::uint64_t v) { return std::to_string(v); };
  r.fatal = std::string(e.what()) + "; all " + n(r.rows) + " rows read were committed (" + n(r.inserted) + " new, " +
            n(r.updated) + " updated, " + n(r.unchanged) + " unchanged, " + n(r.quarantined) +
            " quarantined) and are visible, but writing them to disk failed, so a power loss could still lose some: "
            "check the disk (dmesg, df), then import the same file again (rows already stored count as unchanged)";
  return r;
}

}  // namespace

import_report run_import(store::environment& env, const import_options& opt) {
  import_report rep;
  const auto* cat = store::model::category_registry::builtin().find(opt.category);
  if (!cat) {
    rep.fatal = "unknown category '" + opt.category + "'; known: " + store::model::category_registry::builtin().names();
    return rep;
  }
  std::unique_ptr<byte_source> src;
  try {
    src = std::make_unique<byte_source>(opt.path);
  } catch (const std::exception& e) {
    rep.fatal = e.what();
    return rep;
  }
  if (auto e = encoding_problem(*src, opt.path); !e.empty()) {
    rep.fatal = e;
    return rep;
  }
  store::model::uscc_policy no_legacy;
  pipeline pipe(env, opt, rep);
  context ctx{opt, *cat, opt.codes ? *opt.codes : no_legacy, rep, pipe, *src};
  try {
    if (detect(opt, *src) == file_format::csv) read_csv(ctx);
    else read_jsonl(ctx);
  } catch (const std::invalid_argument& e) {  // the file as a whole is unusable
    rep = {};
    rep.fatal = opt.path + ": " + e.what();
    return rep;
  } catch (const store::store_error& e) {
    return store_failed(rep, pipe, e);
  } catch (const std::runtime_error& e) {  // read error mid-file
    return read_failed(rep, pipe, e);
  }
  try {
    pipe.finish();
  } catch (const store::store_error& e) {
    return store_failed(rep, pipe, e);
  }
  try {
    pipe.sync();
  } catch (const store::store_error& e) {
    return unflushed(rep, e);
  }
  return rep;
}

}  // namespace node::ingest
