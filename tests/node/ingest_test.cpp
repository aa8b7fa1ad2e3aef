#include <doctest/doctest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string_view>

#include "node/ingest/csv_reader.hpp"
#include "node/ingest/importer.hpp"
#include "node/ingest/jsonl_reader.hpp"
#include "store/reader.hpp"
#include "test_util.hpp"

using namespace node::ingest;

namespace {

struct csv_fixture {
  test::temp_dir dir;
  std::unique_ptr<byte_source> src;
  std::unique_ptr<csv_reader> rd;
  csv_fixture(const std::string& content, std::size_t max = 1 << 20) {
    test::write_file(dir / "f.csv", content);
    src = std::make_unique<byte_source>(dir / "f.csv");
    rd = std::make_unique<csv_reader>(*src, max);
  }
  std::vector<std::string> next_ok() {
    REQUIRE(rd->next() == csv_reader::status::ok);
    return {rd->fields().begin(), rd->fields().end()};
  }
};

using sv = std::vector<std::string>;

// An import of `path` into a node js.nanjing, `batch_rows` rows per commit.
import_options options_for(const std::string& path, const std::string& category, std::size_t batch_rows = 20000) {
  import_options o;
  o.path = path;
  o.category = category;
  o.origin = "js.nanjing";
  o.batch_rows = batch_rows;
  return o;
}

// Ten tax rows of one firm, r0..r9: three batches at four rows a batch.
void write_ten_rows(const std::string& path) {
  std::string csv = "subject,record_id,event_date,source,period,tax_type,amount_paid\n";
  for (int i = 0; i < 10; ++i) csv += "91350200776049653A,r" + std::to_string(i) + ",2026-10-01,tax,2026-09,VAT,1.00\n";
  test::write_file(path, csv);
}

// A disk that fails its flush, for this test binary only: this definition
// takes the place of the C library's for LMDB's sync (linked into the
// binary), and does what the library's does unless a test asks otherwise:
// with `flushes_before_failing` at N >= 0, the next N calls succeed and
// every later one fails (the writer retries a failed commit: a disk that
// failed once and then not would let the retry through). -1: none fails.
// `flushes` counts the calls.
std::atomic<int> flushes_before_failing{-1};
std::atomic<int> flushes{0};

}  // namespace

extern "C" int fdatasync(int fd) {
  ++flushes;
  int left = flushes_before_failing.load();
  while (left > 0 && !flushes_before_failing.compare_exchange_weak(left, left - 1)) {
  }
  if (left == 0) {
    errno = EIO;
    return -1;
  }
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}

TEST_CASE("csv: quoted fields hold commas, doubled quotes and newlines — lines are counted") {
  csv_fixture f("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\nlast,,\n");
  CHECK(f.next_ok() == sv{"a", "b", "c"});
  CHECK(f.rd->line() == 1);
  CHECK(f.next_ok() == sv{"x, y", "say \"hi\"", "two\nlines"});
  CHECK(f.rd->line() == 2);
  CHECK(f.next_ok() == sv{"last", "", ""});
  CHECK(f.rd->line() == 4);  // the record before spanned lines 2-3
  CHECK(f.rd->next() == csv_reader::status::eof);
}

TEST_CASE("csv: CRLF endings, a BOM, blank lines and a missing final newline") {
  csv_fixture f("\xEF\xBB\xBFh1,h2\r\n\r\n1,2\r\n3,4");
  CHECK(f.next_ok() == sv{"h1", "h2"});
  CHECK(f.next_ok() == sv{"1", "2"});
  CHECK(f.rd->line() == 3);
  CHECK(f.next_ok() == sv{"3", "4"});
  CHECK(f.rd->next() == csv_reader::status::eof);
}

TEST_CASE("csv: a record over the limit is an error for that record only") {
  std::string big(5000, 'x');
  csv_fixture f("h\nbefore\n" + big + "\nafter\n", 1024);
  f.next_ok();
  CHECK(f.next_ok() == sv{"before"});
  REQUIRE(f.rd->next() == csv_reader::status::error);
  CHECK(f.rd->line() == 3);
  CHECK(f.rd->error().find("longer than 1024 bytes") != std::string::npos);
  CHECK(f.rd->excerpt().size() <= 120);
  CHECK(f.next_ok() == sv{"after"});
  CHECK(f.rd->line() == 4);
}

TEST_CASE("csv: an unclosed quote runs into the limit or the end of file, never into memory") {
  SUBCASE("end of file") {
    csv_fixture f("h\n\"never closed\nmore\n");
    f.next_ok();
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK(f.rd->error().find("not closed") != std::string::npos);
    CHECK(f.rd->next() == csv_reader::status::eof);
  }
  SUBCASE("limit") {
    // "ok" is inside the open quote: the rest of the file is one record.
    csv_fixture f("h\n\"" + std::string(3000, 'q') + "\nok\n", 1024);
    f.next_ok();
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK(f.rd->error() == "lines 2-3: a quoted field is not closed before the end of the file; the record grew past 1024 bytes "
                           "(limit [import] max_record_bytes) and everything from line 2 on was skipped: close the quote");
    CHECK(f.rd->next() == csv_reader::status::eof);
  }
}

// One quoted field of many lines past the limit is one bad record, skipped
// to its closing quote: resuming at the next line made each of its lines a
// row of its own (90,000 quarantined from one field of 600,000 lines).
TEST_CASE("csv: a quoted field past the limit is skipped whole, to its end, naming the lines it spanned") {
  std::string lines;
  for (int i = 0; i < 2000; ++i) lines += "x\n";
  csv_fixture f("h,i\nbefore,1\n\"" + lines + "\"\"still\"\"\",2\nafter,3\n", 1024);
  f.next_ok();
  CHECK(f.next_ok() == sv{"before", "1"});
  REQUIRE(f.rd->next() == csv_reader::status::error);
  CHECK(f.rd->line() == 3);
  CHECK(f.rd->error() == "lines 3-2003: the record is longer than 1024 bytes (limit [import] max_record_bytes) and was skipped whole; "
                         "an unclosed quote can cause this");
  CHECK(f.next_ok() == sv{"after", "3"});
  CHECK(f.rd->line() == 2004);
  CHECK(f.rd->next() == csv_reader::status::eof);
}

// Past the limit in an unquoted field, a quote there is no field's start:
// it must not open a quoted field that swallows the good rows after it.
TEST_CASE("csv: an over-long unquoted line with a stray quote is skipped alone, with LF or lone CR line ends") {
  for (std::string nl : {"\n", "\r"}) {
    csv_fixture f("h,i" + nl + "before,1" + nl + std::string(2000, 'x') + "12\" pipe,2" + nl + "good,3" + nl + "\"" + nl + "after,4" + nl, 1024);
    f.next_ok();
    CHECK(f.next_ok() == sv{"before", "1"});
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK_MESSAGE(f.rd->error().rfind("lines 3-3: the record is longer than 1024 bytes", 0) == 0, f.rd->error());
    CHECK(f.next_ok() == sv{"good", "3"});
  }
}

// The rows a stray quote swallowed are named, not hidden behind the one
// quarantine entry of the record that holds them.
TEST_CASE("csv: a quote that runs over lines names every line it skipped") {
  SUBCASE("never closed: to the end of the file") {
    csv_fixture f("h\nok\n\"opened,1\nrow,4\nrow,5\nrow,6\n");
    f.next_ok();
    CHECK(f.next_ok() == sv{"ok"});
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK(f.rd->line() == 3);
    CHECK_MESSAGE(f.rd->error() == "lines 3-6: a quoted field opened on line 3 is not closed before the end of the file, so the "
                                   "rest of the file was read as one field and skipped: close the quote (a quote inside a "
                                   "field must be doubled: \"\")", f.rd->error());
    CHECK(f.rd->next() == csv_reader::status::eof);
  }
  SUBCASE("never closed, no newline at the end, on its own line") {
    csv_fixture f("h\n\"opened");
    f.next_ok();
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK(f.rd->error().rfind("line 2: a quoted field opened on line 2", 0) == 0);
  }
  SUBCASE("closed lines later, then text after it") {
    csv_fixture f("h\n\"a\nb\nc\"x,1\ngood,2\n");
    f.next_ok();
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK(f.rd->line() == 2);
    CHECK_MESSAGE(f.rd->error() == "lines 2-4: text after a closing quote (a quote inside a field must be doubled: \"\"); the "
                                   "record was skipped whole", f.rd->error());
    CHECK(f.next_ok() == sv{"good", "2"});
    CHECK(f.rd->line() == 5);
  }
}

// The quarantine's excerpt of a row the reader refused shows its fields as
// they were written, commas and all (they were run together: "16Mr2tax").
TEST_CASE("csv: the excerpt of a refused row keeps the commas between its fields") {
  csv_fixture f("a,b,c\n91350200776049653A,r1,12\" pipe\ngood,2,3\n");
  f.next_ok();
  REQUIRE(f.rd->next() == csv_reader::status::error);
  CHECK(f.rd->excerpt() == "91350200776049653A,r1,12");
  CHECK(f.next_ok() == sv{"good", "2", "3"});
  csv_fixture cr("a,b,c\nx,\rc,d\n,,e\"\n");  // a stray CR after the second field; an empty first field
  cr.next_ok();
  REQUIRE(cr.rd->next() == csv_reader::status::error);
  CHECK(cr.rd->excerpt() == "x,");  // two fields, the second empty: no third
  REQUIRE(cr.rd->next() == csv_reader::status::error);
  CHECK(cr.rd->excerpt() == ",,e");
}

// A lone CR in a file whose header ends in LF (or CRLF) is a stray byte,
// not a line end: read as one it cut its row in two and set every later
// line number one off, sending the operator to the wrong row.
TEST_CASE("csv: a lone CR inside a row of an LF or CRLF file refuses that row, and later rows keep their line numbers") {
  for (std::string nl : {"\n", "\r\n"}) {
    CAPTURE(nl.size());
    csv_fixture f("h,i" + nl + "VAT\rX,1" + nl + "good,2" + nl + "\"quoted\rstays\",3" + nl + "last,4" + nl);
    f.next_ok();
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK(f.rd->line() == 2);
    CHECK_MESSAGE(f.rd->error().rfind("line 2: a carriage return (CR) alone inside the row", 0) == 0, f.rd->error());
    CHECK(f.next_ok() == sv{"good", "2"});
    CHECK(f.rd->line() == 3);
    CHECK(f.next_ok() == sv{"quoted\rstays", "3"});  // inside quotes it is the field's
    CHECK(f.next_ok() == sv{"last", "4"});
    CHECK(f.rd->line() == 5);
  }
}

// A record of nothing but commas is kept field by field (24 bytes each):
// at the largest record limit that was gigabytes. No category has more
// than 64 fields, so past 1024 the record is skipped whole.
TEST_CASE("csv: a record of more than 1024 fields is refused and skipped to its end, and the next row is read") {
  csv_fixture f("a,b\n" + std::string(5000, ',') + "\"x\ny\",z\ngood,2\n");
  f.next_ok();
  REQUIRE(f.rd->next() == csv_reader::status::error);
  CHECK_MESSAGE(f.rd->error() == "lines 2-3: more than 1024 fields, more than any category has; the record was skipped whole",
                f.rd->error());
  CHECK(f.next_ok() == sv{"good", "2"});
  CHECK(f.rd->line() == 4);
}

// With every line end parse_record knows: a bad row skipped to an LF that
// an old Mac file (lone CR) never has took every row after it along.
TEST_CASE("csv: stray quotes are refused with the rule to follow, and only their row is skipped, whatever the line ends") {
  for (std::string nl : {"\n", "\r\n", "\r"}) {
    CAPTURE(nl.size());
    csv_fixture f("h" + nl + "ab\"c" + nl + "\"x\"y" + nl + "good" + nl + "\"q\"z" + nl + "also good" + nl);
    f.next_ok();
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK(f.rd->error().find("quote inside an unquoted field") != std::string::npos);
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK(f.rd->error().find("after a closing quote") != std::string::npos);
    CHECK(f.next_ok() == sv{"good"});
    CHECK(f.rd->line() == 4);
    REQUIRE(f.rd->next() == csv_reader::status::error);
    CHECK(f.next_ok() == sv{"also good"});
    CHECK(f.rd->line() == 6);
    CHECK(f.rd->next() == csv_reader::status::eof);
  }
}

TEST_CASE("jsonl: rows, unknown keys, bad JSON and over-long lines") {
  test::temp_dir d;
  test::write_file(d / "f.jsonl",
                   R"({"subject":"S","record_id":"r","event_date":"2026-01-01","source":"x","fields":{"a":"1","n":1250,"b":true,"z":null}})"
                   "\n\n"
                   R"({"subject":"S","colour":"red","fields":{}})" "\n"
                   "{not json}\n" +
                   std::string(2000, ' ') + "{}\n" R"({"subject":1,"fields":{}})" "\n");
  byte_source src(d / "f.jsonl");
  jsonl_reader rd(src, 1024);
  REQUIRE(rd.next() == jsonl_reader::status::ok);
  CHECK(rd.row().subject == "S");
  REQUIRE(rd.row().fields.size() == 4);
  CHECK(rd.row().fields[1].second.text == "1250");
  CHECK(rd.row().fields[2].second.k == store::model::raw_value::kind::boolean);
  CHECK(rd.row().fields[3].second.k == store::model::raw_value::kind::null);
  REQUIRE(rd.next() == jsonl_reader::status::error);
  CHECK(rd.line() == 3);  // the blank line 2 is skipped but counted
  CHECK(rd.error().field == "colour");
  REQUIRE(rd.next() == jsonl_reader::status::error);
  CHECK(rd.error().reason.find("not valid JSON") != std::string::npos);
  REQUIRE(rd.next() == jsonl_reader::status::error);
  CHECK(rd.error().reason.find("longer than 1024") != std::string::npos);
  REQUIRE(rd.next() == jsonl_reader::status::error);
  CHECK(rd.error().field == "subject");
  CHECK(rd.line() == 6);
  CHECK(rd.next() == jsonl_reader::status::eof);
}

// What json::parse would take silently: a key named twice (the last one
// wins: a record filed under another firm, or another amount) and a number
// with a fraction (a double: 9999999999999.9999 becomes 10000000000000).
TEST_CASE("jsonl: a key named twice and a number with a fraction are refused, naming them, and the next line is read") {
  test::temp_dir d;
  const std::string head = R"({"record_id":"r","event_date":"2026-01-01","source":"x",)";
  test::write_file(d / "f.jsonl",
                   head + R"("subject":"A","subject":"B","fields":{}})" "\n" +
                   head + R"("subject":"A","fields":{"amount_paid":"100","amount_paid":"1000000"}})" "\n" +
                   head + R"("subject":"A","fields":{"amount_paid":9999999999999.9999}})" "\n" +
                   head + R"("subject":"A","fields":{"amount_paid":1e3}})" "\n" +
                   head + R"("subject":"A","fields":{"amount_paid":"9999999999999.9999","count":12}})" "\n" +
                   head + R"("subject":"A","fields":{"amount_paid":"1"}, })" "\n");
  byte_source src(d / "f.jsonl");
  jsonl_reader rd(src, 1 << 20);
  for (const char* key : {"subject", "amount_paid"}) {
    REQUIRE(rd.next() == jsonl_reader::status::error);
    CHECK(rd.error().field == "line");
    CHECK_MESSAGE(rd.error().reason == std::string("not valid JSON: the key \"") + key + "\" is named twice in one object",
                  rd.error().reason);
  }
  for (int line : {3, 4}) {
    REQUIRE(rd.next() == jsonl_reader::status::error);
    CHECK(rd.line() == line);
    CHECK(rd.error().field == "fields.amount_paid");
    CHECK(rd.error().reason.find("send a number with a fraction or an exponent (or past 64 bits) as a string, e.g. \"12000.50\"") == 0);
  }
  REQUIRE(rd.next() == jsonl_reader::status::ok);  // as a string it is kept digit for digit; an integer is fine
  REQUIRE(rd.row().fields.size() == 2);
  CHECK(rd.row().fields[0].second.text == "9999999999999.9999");
  CHECK(rd.row().fields[1].second.text == "12");
  REQUIRE(rd.next() == jsonl_reader::status::error);  // a syntax error says where
  CHECK_MESSAGE(rd.error().reason.find("not valid JSON: syntax error at byte ") == 0, rd.error().reason);
  CHECK(rd.next() == jsonl_reader::status::eof);
}

TEST_CASE("importer: many batches with recycled buffers keep every row distinct") {
  test::temp_dir d;
  std::string csv = "subject,record_id,event_date,source,period,tax_type,amount_paid\n";
  const char* subjects[] = {"91350200776049653A", "91440101MA5CJQ4N59", "9135021359498494XQ"};
  for (int i = 0; i < 100; ++i)
    csv += std::string(subjects[i % 3]) + ",r" + std::to_string(i) + ",2026-10-01,tax,2026-09,VAT," +
           std::to_string(i) + ".00\n";
  test::write_file(d / "t.csv", csv);
  auto env = store::environment::open({d / "data"});
  auto o = options_for(d / "t.csv", "tax", 7);  // 15 batches: every row slot gets reused
  auto rep = run_import(*env, o);
  CHECK(rep.fatal == "");
  CHECK(rep.rows == 100);
  CHECK(rep.inserted == 100);
  CHECK(rep.updated == 0);
  store::reader rd(*env);
  CHECK(rd.stats().total == 100);
  for (int i = 0; i < 100; ++i) {
    auto r = rd.get("tax", subjects[i % 3], "r" + std::to_string(i));
    REQUIRE(r);
    CHECK(r->fields_json.find("\"" + std::to_string(i) + ".00\"") != std::string::npos);
  }
  auto again = run_import(*env, o);
  CHECK(again.unchanged == 100);
  CHECK(again.inserted + again.updated == 0);
}

TEST_CASE("importer: each batch's pages are flushed before it is made the store's state, so a power loss costs batches, never the store") {
  // LMDB without any sync writes a commit's pages and then the page naming
  // the new tree, in an order the disk need not keep: a power loss could
  // leave that page pointing at pages never written. An import flushes each
  // batch's pages first (MDB_NOMETASYNC: the naming page reaches the disk
  // with the next flush), and once more at its end.
  test::temp_dir d;
  write_ten_rows(d / "t.csv");
  auto env = store::environment::open({d / "data"});
  auto before = env->last_commit();
  flushes = 0;
  auto rep = run_import(*env, options_for(d / "t.csv", "tax", 4));  // three batches, in one to three commits
  CHECK(rep.fatal == "");
  CHECK(rep.inserted == 10);
  auto commits = static_cast<int>(env->last_commit() - before);
  CHECK(commits >= 1);
  CHECK(flushes.load() == commits + 1);  // one per commit, one at the end (without the commits' own: 1)
}

TEST_CASE("importer: a failed flush of a batch stores nothing of it and says what did land, and the file can be imported again") {
  test::temp_dir d;
  write_ten_rows(d / "t.csv");
  auto env = store::environment::open({d / "data"});
  auto o = options_for(d / "t.csv", "tax", 4);
  flushes_before_failing = 1;  // the first commit reaches the disk, the next does not
  auto rep = run_import(*env, o);
  flushes_before_failing = -1;
  CHECK_MESSAGE(rep.fatal.find("Input/output error") != std::string::npos, rep.fatal);
  // The writer may group batches into one commit: how many rows made the
  // first one varies, and the message must say that many.
  auto stored = store::reader(*env).stats().total;
  CHECK(stored >= 4);
  CHECK(stored < 10);
  auto said = std::to_string(stored);
  CHECK_MESSAGE(rep.fatal.find(said + " are stored (" + said + " new, 0 updated, 0 unchanged), the others not") != std::string::npos,
                rep.fatal);
  auto again = run_import(*env, o);
  CHECK(again.fatal == "");
  CHECK(again.unchanged == stored);
  CHECK(again.inserted == 10 - stored);
}

// A file whose reads fail part-way (a disk error, an NFS server gone), for
// this test binary only, as fdatasync above: while armed, reads of a
// descriptor open on `failing_file` succeed `reads_before_failing` times,
// then fail with EIO. Other reads go to the kernel as the library's would.
namespace {
std::string failing_file;  // set before arming, read only while armed
std::atomic<bool> reads_armed{false};
std::atomic<int> reads_before_failing{0};
}  // namespace

extern "C" ssize_t read(int fd, void* buf, size_t n) {
  if (reads_armed.load()) {
    char link[4096];
    auto len = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof link);
    if (len > 0 && std::string_view(link, static_cast<std::size_t>(len)) == failing_file &&
        reads_before_failing.fetch_sub(1) <= 0) {
      errno = EIO;
      return -1;
    }
  }
  return ::syscall(SYS_read, fd, buf, n);
}

TEST_CASE("importer: a read error mid-file keeps every row read before it, counts them, and the file can be imported again") {
  test::temp_dir d;
  std::string csv = "subject,record_id,event_date,source,period,tax_type,amount_paid\n";
  for (int i = 0; i < 30000; ++i) csv += "91350200776049653A,r" + std::to_string(i) + ",2026-10-01,tax,2026-09,VAT,1.00\n";
  test::write_file(d / "t.csv", csv);
  // The reader takes the file 1 MiB at a time: the first read succeeds, the
  // second fails; the rows wholly inside the first MiB were read.
  auto first = csv.substr(0, 1 << 20);
  auto whole = static_cast<std::uint64_t>(std::count(first.begin(), first.end(), '\n') - 1);
  REQUIRE(whole > 12000);  // more than the three whole batches of 4,000 below
  auto env = store::environment::open({d / "data"});
  auto o = options_for(d / "t.csv", "tax", 4000);
  failing_file = std::filesystem::canonical(d / "t.csv").string();
  reads_before_failing = 1;
  reads_armed = true;
  auto rep = run_import(*env, o);
  reads_armed = false;
  CHECK(rep.rows == whole);
  CHECK(rep.inserted == whole);  // the batch being filled too, not only the batches before it
  CHECK(store::reader(*env).stats().total == whole);
  CHECK_MESSAGE(rep.fatal.find("read error in ") == 0, rep.fatal);
  CHECK_MESSAGE(rep.fatal.find("Input/output error; the " + std::to_string(whole) + " rows read before it were handled (" +
                               std::to_string(whole) + " new, 0 updated, 0 unchanged, 0 quarantined): import the file "
                               "again when it reads without error") != std::string::npos, rep.fatal);
  auto again = run_import(*env, o);  // what the message says to do, with the file readable
  CHECK(again.fatal == "");
  CHECK(again.unchanged == whole);
  CHECK(again.inserted == 30000 - whole);
}

TEST_CASE("importer: a failed flush at the end says every row is committed but maybe not on disk, and what to do") {
  test::temp_dir d;
  write_ten_rows(d / "t.csv");
  auto env = store::environment::open({d / "data"});
  // One batch, so one commit whatever the writer groups: its flush, then
  // the import's last one, which fails.
  auto o = options_for(d / "t.csv", "tax", 100);
  flushes_before_failing = 1;
  auto rep = run_import(*env, o);
  flushes_before_failing = -1;
  CHECK(rep.inserted == 10);
  CHECK_MESSAGE(rep.fatal.find("Input/output error") != std::string::npos, rep.fatal);
  CHECK_MESSAGE(rep.fatal.find("; all 10 rows read were committed (10 new, 0 updated, 0 unchanged, 0 quarantined) and are "
                               "visible, but writing them to disk failed, so a power loss could still lose some: check "
                               "the disk") != std::string::npos, rep.fatal);
  CHECK(rep.fatal.find("the others not") == std::string::npos);
  CHECK(store::reader(*env).stats().total == 10);
  auto again = run_import(*env, o);  // what the message says to do, with the disk mended
  CHECK(again.fatal == "");
  CHECK(again.unchanged == 10);
}

// Excel in China saves CSV as GBK: every line with Chinese text would be
// its own "invalid UTF-8" quarantine entry. The file is refused whole,
// with the way to convert it; one damaged line in a UTF-8 file is not.
TEST_CASE("importer: a file in GBK or UTF-16 is refused whole, saying how to convert it, and a UTF-8 file with one bad line is not") {
  test::temp_dir d;
  auto env = store::environment::open({d / "data"});
  const std::string head = "subject,record_id,event_date,source,name,legal_rep_name,legal_rep_id,phone,division\n";
  auto row = [](const std::string& id, const std::string& name) {
    return "91350200776049653A," + id + ",2020-01-01,regulator," + name + ",x,350203199001011234,13812345678,350200\n";
  };
  auto run = [&](const std::string& file, const std::string& content) {
    test::write_file(d / file, content);
    return run_import(*env, options_for(d / file, "registration"));
  };
  const std::string gbk_name = "\xC4\xFE\xB2\xA8\xB9\xAB\xCB\xBE";  // 宁波公司 in GBK
  auto gbk = run("gbk.csv", head + row("r1", gbk_name) + row("r2", gbk_name) + row("r3", "ascii") + row("r4", gbk_name));
  CHECK_MESSAGE(gbk.fatal.find("gbk.csv is not UTF-8: 3 of the 3 lines with non-ASCII text at its start are not, and read as GBK (the first, "
                               "line 2: invalid UTF-8 at byte ") != std::string::npos, gbk.fatal);
  CHECK(gbk.fatal.find("iconv -f GB18030 -t UTF-8 ") != std::string::npos);
  CHECK(gbk.fatal.ends_with("nothing was imported"));
  CHECK(gbk.rows + gbk.quarantined + gbk.inserted == 0);
  auto utf16 = run("u16.csv", std::string("\xFF\xFEs\0u\0") + "\n");
  CHECK(utf16.fatal.find("u16.csv is UTF-16 (it starts with a UTF-16 byte-order mark)") != std::string::npos);
  CHECK(store::reader(*env).stats().total == 0);
  // UTF-8 with one damaged line among three with Chinese text: that row alone.
  auto mixed = run("mixed.csv", head + row("r1", "宁波公司") + row("r2", gbk_name) + row("r3", "厦门公司"));
  CHECK(mixed.fatal == "");
  CHECK(mixed.inserted == 2);
  CHECK(mixed.quarantined == 1);
  // An ASCII file whose one non-ASCII line is cp1252 (which pairs as GBK): that row alone, not "convert from GBK".
  auto latin = run("latin.csv", head + row("l1", "M\xFCller GmbH") + row("l2", "plain"));
  CHECK(latin.fatal == "");
  CHECK(latin.inserted == 1);
  CHECK(latin.quarantined == 1);
}

TEST_CASE("importer: a row about a firm registered outside the node's jurisdiction is refused, naming both") {
  test::temp_dir d;
  std::string csv = "subject,record_id,event_date,source,period,tax_type,amount_paid\n";
  for (const char* s : {"91350200776049653A", "91440101MA5CJQ4N59", "9135021359498494XQ"})
    csv += std::string(s) + ",r,2026-10-01,tax,2026-09,VAT,1.00\n";
  test::write_file(d / "t.csv", csv);
  auto env = store::environment::open({d / "data"});
  import_options o;
  o.path = d / "t.csv";
  o.category = "tax";
  o.origin = "fj.xiamen";
  o.jurisdiction = "350200";  // Xiamen: the Guangzhou firm is not its to report
  std::vector<store::quarantine_entry> bad;
  o.on_bad = [&](const store::quarantine_entry& q) { bad.push_back(q); };
  auto rep = run_import(*env, o);
  CHECK(rep.inserted == 2);
  CHECK(rep.quarantined == 1);
  CHECK(rep.exit_code() == 1);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].line == 3);
  CHECK(bad[0].field == "subject");
  CHECK(bad[0].reason == "registered in division 440101 (characters 3-8 of the code), outside this node's jurisdiction 350200: "
                         "its records belong at the platform that serves that division");
  CHECK_FALSE(store::reader(*env).get("tax", "91440101MA5CJQ4N59", "r"));
  o.jurisdiction = "100000";  // the national node: every division
  CHECK(run_import(*env, o).inserted == 1);
}

TEST_CASE("importer: a header problem reads nothing and names the column") {
  test::temp_dir d;
  auto env = store::environment::open({d / "data"});
  import_options o;
  o.category = "tax";
  o.origin = "n";
  auto run = [&](const std::string& content) {
    test::write_file(d / "h.csv", content);
    o.path = d / "h.csv";
    return run_import(*env, o);
  };
  auto unknown = run("subject,record_id,event_date,source,period,tax_type,amount_paid,colour\n"
                     "91350200776049653A,r,2026-10-01,s,2026-09,VAT,1,red\n");
  CHECK(unknown.exit_code() == 2);
  CHECK(unknown.fatal.find("unknown column 'colour'") != std::string::npos);
  auto dup = run("subject,record_id,event_date,source,period,tax_type,amount_paid,period\n");
  CHECK(dup.fatal.find("'period' twice") != std::string::npos);
  auto missing = run("subject,record_id,event_date,source,period,tax_type\n");
  CHECK(missing.fatal.find("'amount_paid'") != std::string::npos);
  auto empty = run("");
  CHECK(empty.fatal.find("empty") != std::string::npos);
  o.category = "weather";
  CHECK(run("x\n").fatal.find("unknown category 'weather'") != std::string::npos);
  store::reader rd(*env);
  CHECK(rd.stats().total == 0);
  CHECK(rd.stats().quarantined == 0);
}
