#include "node/ingest/csv_reader.hpp"

namespace node::ingest {
namespace {

constexpr std::size_t excerpt_bytes = 120;
constexpr std::size_t max_fields = 1024;

// Length of the run of bytes needing no special handling in an unquoted field.
std::size_t plain_run(std::string_view w) {
  std::size_t i = 0;
  while (i < w.size()) {
    char c = w[i];
    if (c == ',' || c == '\n' || c == '\r' || c == '"') break;
    ++i;
  }
  return i;
}

}  // namespace

csv_reader::csv_reader(byte_source& src, std::size_t max_record_bytes)
    : src_(src), max_(max_record_bytes) {}

int csv_reader::take() {
  int c = src_.get();
  if (c == '\n') ++line_;
  if (c >= 0) ++record_bytes_;
  return c;
}

// To the end of the line, as parse_record ends one: LF, CRLF or a lone CR
// (an old Mac file: skipping to an LF that never comes took the rest of
// the file, rows and all, with the one bad row).
void csv_reader::skip_line() {
  for (auto w = src_.window(); !w.empty(); w = src_.window()) {
    auto end = cr_ends_line() ? w.find_first_of("\r\n") : w.find('\n');
    if (end == std::string_view::npos) {
      src_.advance(w.size());
      continue;
    }
    bool cr = w[end] == '\r';
    src_.advance(end + 1);
    if (cr && src_.peek() == '\n') src_.advance(1);
    ++line_;
    return;
  }
}

// "line 3", or "lines 3-7" for a record that ran over several.
std::string csv_reader::span_of(std::uint64_t last) const {
  if (last <= record_line_) return "line " + std::to_string(record_line_);
  return "lines " + std::to_string(record_line_) + "-" + std::to_string(last);
}

csv_reader::status csv_reader::fail(std::string why) {
  error_ = std::move(why);
  // The start of what was read, for the quarantine entry: its fields with
  // the commas between them (the arena holds them end to end).
  excerpt_.clear();
  std::size_t begin = 0;
  for (std::size_t i = 0; i < ends_.size() && excerpt_.size() < excerpt_bytes; begin = ends_[i++])
    excerpt_.append(i ? "," : "").append(arena_, begin, ends_[i] - begin);
  if (begin < arena_.size() && excerpt_.size() < excerpt_bytes)  // the field it stopped in
    excerpt_.append(ends_.empty() ? "" : ",").append(arena_, begin, excerpt_bytes);
  excerpt_.resize(std::min(excerpt_.size(), excerpt_bytes));
  return status::error;
}

csv_reader::status csv_reader::next() {
  if (first_) {  // Excel and friends start UTF-8 files with a BOM
    first_ = false;
    if (src_.peek() == 0xEF) {
      src_.get();
      if (src_.get() != 0xBB || src_.get() != 0xBF) {
        record_line_ = 1;
        skip_line();
        return fail("file starts with a broken byte-order mark (not UTF-8?)");
      }
    }
  }
  for (;;) {
    auto s = parse_record();
    if (s != status::ok) return s;
    // A blank line carries no data; skip it rather than call it a row.
    if (fields_.size() == 1 && fields_[0].empty()) continue;
    return s;
  }
}

// Appends a quoted field's content up to its closing quote. Returns false at
// end of file or when the record grows past the limit.
bool csv_reader::scan_quoted() {
  for (;;) {
    auto w = src_.window();
    if (w.empty() || record_bytes_ > max_) return false;
    w = w.substr(0, room());  // stop just past the limit, not a buffer later
    auto q = w.find('"');
    auto span = w.substr(0, q == std::string_view::npos ? w.size() : q);
    for (char c : span) line_ += c == '\n';
    arena_.append(span);
    record_bytes_ += span.size();
    src_.advance(span.size());
    if (q == std::string_view::npos) continue;
    take();  // the quote
    if (src_.peek() != '"') return true;
    take();
    arena_ += '"';
  }
}

// Past the limit, the rest of the record is read without keeping it, to
// its true end: resuming at the next line inside a quoted field made each
// of its lines a row of its own (90,000 quarantined rows from one field).
// The lines it spanned are named, so rows an unclosed quote swallowed are
// not lost unseen.
csv_reader::status csv_reader::too_long(bool in_quotes, const std::string& why) {
  // As parse_record reads: a quote opens a field only at its start; a lone
  // CR ends a line as LF and CRLF do.
  bool quoted = in_quotes, field_start = false, ended = false, after_newline = false;
  for (int c; !ended && (c = src_.get()) >= 0;) {
    bool newline = c == '\n' || (c == '\r' && src_.peek() != '\n' && cr_ends_line());
    if (newline) ++line_;
    after_newline = newline;
    if (quoted) {
      if (c == '"' && src_.peek() == '"') src_.get();
      else if (c == '"') quoted = false;
    } else if (c == '"' && field_start) {
      quoted = true;
    } else {
      ended = newline;
      field_start = c == ',';
    }
  }
  auto last = after_newline ? line_ - 1 : line_;
  auto lines = "lines " + std::to_string(record_line_) + "-" + std::to_string(last);
  if (!why.empty()) return fail(lines + ": " + why);
  if (quoted)
    return fail(lines + ": a quoted field is not closed before the end of the file; the record grew past " + std::to_string(max_) +
                " bytes (limit [import] max_record_bytes) and everything from line " + std::to_string(record_line_) +
                " on was skipped: close the quote");
  return fail(lines + ": the record is longer than " + std::to_string(max_) +
              " bytes (limit [import] max_record_bytes) and was skipped whole; an unclosed quote can cause this");
}

// A lone CR in a file whose lines end in LF: read as a line end, it cut
// the row in two and set every later line number one off.
csv_reader::status csv_reader::stray_cr() {
  auto lines = span_of(line_);
  skip_line();
  return fail(lines + ": a carriage return (CR) alone inside the row, in a file whose lines end in LF; the row was "
                      "skipped whole: remove the CR (or quote the field that holds it)");
}

// A field in quotes, up to and past its closing quote; a status when the
// record is refused.
std::optional<csv_reader::status> csv_reader::quoted_field() {
  take();
  if (!scan_quoted()) {
    if (record_bytes_ > max_) return too_long(true);
    // Every line after the quote was read into the field: say which,
    // or rows the quote swallowed go unseen behind one quarantine entry.
    bool ended_line = !arena_.empty() && arena_.back() == '\n';
    return fail(span_of(ended_line ? line_ - 1 : line_) + ": a quoted field opened on line " +
                std::to_string(record_line_) + " is not closed before the end of the file, so the rest of "
                "the file was read as one field and skipped: close the quote (a quote inside a field must be doubled: \"\")");
  }
  int c = src_.peek();
  if (c >= 0 && c != ',' && c != '\n' && c != '\r') {
    auto lines = span_of(line_);  // the field may have run over several lines
    skip_line();
    return fail(lines + ": text after a closing quote (a quote inside a field must be doubled: \"\"); "
                        "the record was skipped whole");
  }
  return std::nullopt;
}

// A field without quotes, up to the comma or line end after it.
std::optional<csv_reader::status> csv_reader::plain_field() {
  for (auto w = src_.window(); !w.empty(); w = src_.window()) {
    w = w.substr(0, room());
    auto n = plain_run(w);
    arena_.append(w.data(), n);
    record_bytes_ += n;
    src_.advance(n);
    if (n < w.size() || record_bytes_ > max_) break;
  }
  if (record_bytes_ > max_) return too_long(false);
  if (src_.peek() == '"') {
    skip_line();
    return fail("quote inside an unquoted field (quote the whole field and double the quote)");
  }
  return std::nullopt;
}

csv_reader::status csv_reader::parse_record() {
  arena_.clear();
  ends_.clear();
  fields_.clear();
  excerpt_.clear();
  error_.clear();
  record_bytes_ = 0;
  record_line_ = line_;
  if (src_.peek() < 0) return status::eof;
  for (;;) {  // one field per turn
    if (auto bad = src_.peek() == '"' ? quoted_field() : plain_field()) return *bad;
    ends_.push_back(arena_.size());
    // No category has more than 64 fields; a record of only commas, kept
    // field by field (24 bytes each), grew to gigabytes at the largest limit.
    if (ends_.size() > max_fields)
      return too_long(false, "more than " + std::to_string(max_fields) + " fields, more than any category has; the record was skipped whole");
    int c = take();
    if (c == '\r' && src_.peek() == '\n') c = take();
    else if (c == '\r' && !cr_ends_line()) return stray_cr();
    else if (c == '\r') ++line_;  // old Mac line end: still a line
    if (c == ',') continue;
    if (c == '\r' || c < 0 || c == '\n') {
      if (style_ == line_end::unknown) style_ = c == '\r' ? line_end::cr : line_end::lf;  // the header's
      break;
    }
  }
  std::size_t begin = 0;
  for (auto end : ends_) {
    fields_.emplace_back(arena_.data() + begin, end - begin);
    begin = end;
  }
  return status::ok;
}

const std::string& csv_reader::excerpt() {
  if (excerpt_.empty() && !fields_.empty()) {  // built only when asked: bad rows are rare
    for (auto f : fields_) {
      if (!excerpt_.empty()) excerpt_ += ',';
      excerpt_.append(f.substr(0, excerpt_bytes));
      if (excerpt_.size() >= excerpt_bytes) break;
    }
    excerpt_.resize(std::min(excerpt_.size(), excerpt_bytes));
  }
  return excerpt_;
}

}  // namespace node::ingest
