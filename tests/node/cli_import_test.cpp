// Black-box tests of `credit-node import` (PRODUCT.md §4 "Import files"):
// exit codes, quarantine with line / field / reason, atomic refusal of
// unreadable files, idempotent re-import, JSON Lines, batching.
#include <chrono>

#include "node/cli_support.hpp"

using namespace cli_test;

namespace {

// A tax row with every column spelled out.
std::string row(const std::string& subject, const std::string& id, const std::string& date,
                const std::string& tax_type, const std::string& amount, const std::string& rating) {
  return subject + "," + id + "," + date + ",tax bureau,2024-01," + tax_type + "," + amount + ",," + rating;
}

// Puts one good record in, so refusals can be shown to lose nothing.
void seed(const node& n) {
  auto r = n.import("tax", n.file("seed.csv", tax_header + "\n" + tax_row(A, "seed") + "\n"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

}  // namespace

TEST_CASE("cli: import of an all-good CSV exits 0 and every row is in") {
  node n;
  auto f = n.file("good.csv", tax_header + "\n" + tax_row(A, "r1", "1200.50") + "\n" +
                                  tax_row(B, "r2", "0.10", "B") + "\n" + tax_row(C, "r3", "7", "D") + "\n");
  auto r = n.import("tax", f);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("3 rows read, 3 new, 0 updated, 0 unchanged, 0 quarantined") != std::string::npos);
  auto s = n.status();
  CHECK(s.at("records").at("total").to_number<int>() == 3);
  CHECK(s.at("records").at("by_category").at("tax").to_number<int>() == 3);
  auto rec = n.record("r1");
  CHECK(str(rec.at("subject")) == A);
  CHECK(str(rec.at("origin")) == "js.nanjing");
  CHECK(rec.at("version").to_number<int>() == 1);
  CHECK(str(rec.at("event_date")) == "2024-01-15");
  CHECK(str(rec.at("source")) == "tax bureau");
  CHECK(json::serialize(rec.at("fields")) ==
        R"({"period":"2024-01","tax_type":"VAT","amount_paid":"1200.50","credit_rating":"A"})");
}

TEST_CASE("cli: import with bad rows exits 1, keeps the good ones, prints and quarantines each bad one") {
  node n;
  std::string X = "91440101M";  // B up to position 9; position 10 gets a forbidden letter
  std::string text = tax_header + "\n" +                                        // 1
                     tax_row(A, "g1") + "\n" +                                  // 2
                     tax_row("91350200776049653B", "b1") + "\n";                // 3 check character
  for (char c : std::string("IOSVZ")) text += tax_row(X + c + B.substr(10), std::string("b-") + c) + "\n";  // 4-8
  text += tax_row(A.substr(0, 17), "b17") + "\n" +                              // 9
          tax_row(A + "1", "b19") + "\n" +                                      // 10
          tax_row(B, "g2") + "\n" +                                             // 11
          row(A, "b-miss", "2024-01-15", "", "1", "A") + "\n" +                // 12
          row("", "b-nosubj", "2024-01-15", "VAT", "1", "A") + "\n" +          // 13
          row(A, "b-date", "2024-02-30", "VAT", "1", "A") + "\n" +             // 14
          row(A, "b-amt", "2024-01-15", "VAT", "abc", "A") + "\n" +            // 15
          row(A, "b-enum", "2024-01-15", "VAT", "1", "E") + "\n" +             // 16
          tax_row(C, "g3") + "\n";                                              // 17
  auto f = n.file("mixed.csv", text);
  auto r = n.import("tax", f);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("16 rows read, 3 new, 0 updated, 0 unchanged, 13 quarantined") != std::string::npos);
  CHECK(n.exported_ids() == std::set<std::string>{"g1", "g2", "g3"});
  CHECK(n.total() == 3);
  CHECK(n.quarantined() == 13);

  struct bad { int line; std::string field, reason; };
  std::vector<bad> expected = {
      {3, "subject", "check character (position 18) is 'B', expected 'A'"},
      {4, "subject", "character 10 is 'I'"}, {5, "subject", "character 10 is 'O'"},
      {6, "subject", "character 10 is 'S'"}, {7, "subject", "character 10 is 'V'"},
      {8, "subject", "character 10 is 'Z'"},
      {9, "subject", "must have 18 characters, got 17"},
      {10, "subject", "must have 18 characters, got 19"},
      {12, "tax_type", "required field is missing or empty"},
      {13, "subject", "missing"},
      {14, "event_date", "day 30 does not exist"},
      {15, "amount_paid", "expected a decimal number"},
      {16, "credit_rating", "expected one of A B M C D, got 'E'"},
  };
  auto q = n.quarantine();
  CHECK(q.size() == expected.size());
  for (const auto& b : expected) {
    CAPTURE(b.line);
    check_bad_row_printed(r.err, f, b.line, b.field, b.reason);
    check_quarantined(q, f, b.line, b.field, b.reason);
  }
  // The text listing shows the same entries.
  auto t = n.run("import", {"--show-quarantine"});
  CHECK(t.exit_code == 0);
  CHECK(t.out.find("13 quarantined row(s) shown") != std::string::npos);
  CHECK(t.out.find(R"("line":16,"category":"tax","field":"credit_rating")") != std::string::npos);
  auto lim = n.run("import", {"--show-quarantine", "--json", "--limit", "2"});
  CHECK(json_lines(lim.out).size() == 2);
}

TEST_CASE("cli: invalid UTF-8 in a field is quarantined, and the quarantine listing stays valid JSON") {
  node n;
  auto f = n.file("utf8.csv", tax_header + "\n" + tax_row(A, "u1") + "\n" +
                                  row(A, "u2", "2024-01-15", "V\xff\xfeT", "1", "A") + "\n" +  // 3
                                  row(A, "u3", "2024-01-15", "VAT", "1", "\xC0") + "\n" +      // 4
                                  tax_row(B, "u4") + "\n");
  auto r = n.import("tax", f);
  CHECK(r.exit_code == 1);
  check_bad_row_printed(r.err, f, 3, "tax_type", "invalid UTF-8 at byte 2");
  check_bad_row_printed(r.err, f, 4, "credit_rating", "expected one of A B M C D");
  CHECK(n.exported_ids() == std::set<std::string>{"u1", "u4"});
  CHECK(n.quarantined() == 2);
  auto q = n.quarantine();  // every line must parse: no raw invalid bytes in the JSON
  CHECK(q.size() == 2);
  check_quarantined(q, f, 3, "tax_type", "invalid UTF-8");
  check_quarantined(q, f, 4, "credit_rating", "expected one of A B M C D");
}

TEST_CASE("cli: quoted CSV fields with commas and doubled quotes import exactly") {
  node n;
  auto f = n.file("quoted.csv", tax_header + "\n" +
      A + ",q1,2024-01-15,\"tax bureau, district 3\",2024-01,\"a, \"\"quoted\"\" tax\",1200.50,,A\n" +
      "\"" + C + "\",\"q2\",\"2024-01-15\",\"src\",\"2024-01\",\"\"\"\"\"\",\"1\",\"\",\"B\"\n");
  auto r = n.import("tax", f);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  auto q1 = n.record("q1");
  CHECK(str(q1.at("source")) == "tax bureau, district 3");
  CHECK(str(q1.at("fields").at("tax_type")) == "a, \"quoted\" tax");
  auto q2 = n.record("q2");
  CHECK(str(q2.at("subject")) == C);
  CHECK(str(q2.at("fields").at("tax_type")) == "\"\"");
  CHECK(json::serialize(q2.at("fields")) ==
        R"({"period":"2024-01","tax_type":"\"\"","amount_paid":"1","credit_rating":"B"})");
}

TEST_CASE("cli: a quoted CSV field holding a newline imports exactly, and later line numbers stay right") {
  node n;
  auto f = n.file("multiline.csv", tax_header + "\n" +
      A + ",m1,2024-01-15,tax bureau,2024-01,\"first line\nsecond, \"\"line\"\"\",1,,A\n" +  // lines 2-3
      row(A, "m2", "2024-01-15", "VAT", "abc", "A") + "\n" +                              // line 4
      tax_row(B, "m3") + "\n");
  auto r = n.import("tax", f);
  check_bad_row_printed(r.err, f, 4, "amount_paid", "expected a decimal number");
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.err.find(f + ":2:") == std::string::npos, r.err);
  REQUIRE(n.exported_ids() == std::set<std::string>{"m1", "m3"});
  CHECK(str(n.record("m1").at("fields").at("tax_type")) == "first line\nsecond, \"line\"");
}

TEST_CASE("cli: a file that cannot be read at all exits 2 and nothing goes in") {
  node n;
  seed(n);
  auto before_seq = n.last_seq();
  auto before_q = n.quarantined();
  auto good = tax_row(B, "x1") + "\n" + tax_row(C, "x2") + "\n";
  struct unreadable { std::string name, content, message; };
  std::vector<unreadable> cases = {
      {"empty.csv", "", "file is empty"},
      {"empty.jsonl", "", "file is empty"},
      {"dup.csv", tax_header + ",period\n" + good, "header names column 'period' twice"},
      {"unknown.csv", tax_header + ",colour\n" + tax_row(B, "x1") + ",red\n", "unknown column 'colour'"},
      {"nosubject.csv", "record_id,event_date,source,period,tax_type,amount_paid\nx1,2024-01-15,s,2024-01,VAT,1\n",
       "lacks the required column 'subject'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto f = n.file(c.name, c.content);
    auto r = n.import("tax", f);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(f) != std::string::npos);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.err.find("nothing was imported") != std::string::npos);
  }
  auto missing = n.tmp / "no-such-file.csv";
  auto r = n.import("tax", missing);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cannot open " + missing) != std::string::npos);
  r = n.import("tax", n.tmp.path().string());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("directory") != std::string::npos);
  r = n.import("tax", "/dev/zero");  // a device never ends its first line: it ran for ever
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("cannot import /dev/zero: it is a device, not a file or a pipe") != std::string::npos, r.err);
  r = n.import("no_such_category", n.file("ok.csv", tax_header + "\n" + good));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown category 'no_such_category'") != std::string::npos);

  CHECK(n.exported_ids() == std::set<std::string>{"seed"});
  CHECK(n.last_seq() == before_seq);
  CHECK(n.quarantined() == before_q);
}

TEST_CASE("cli: a CSV with only a header exits 0 and adds nothing") {
  node n;
  seed(n);
  auto seq = n.last_seq();
  auto r = n.import("tax", n.file("header.csv", tax_header + "\n"));
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("0 rows read, 0 new") != std::string::npos);
  CHECK(n.total() == 1);
  CHECK(n.last_seq() == seq);
}

TEST_CASE("cli: a 10 MB CSV line is quarantined quickly, the rows around it are imported") {
  node n;
  std::string big(10u << 20, 'x');
  auto f = n.file("big.csv", tax_header + "\n" + tax_row(A, "before") + "\n" +   // 2
                                 row(A, "huge", "2024-01-15", big, "1", "A") + "\n" +  // 3
                                 tax_row(B, "middle") + "\n" +                     // 4
                                 row(B, "huge-quoted", "2024-01-15", "\"" + big + "\"", "1", "A") + "\n" +  // 5
                                 tax_row(C, "after") + "\n");                      // 6
  auto start = std::chrono::steady_clock::now();
  auto r = n.import("tax", f);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(secs < 3.0);
  CHECK(r.exit_code == 1);
  check_bad_row_printed(r.err, f, 3, "line", "longer than 1048576 bytes (limit [import] max_record_bytes)");
  check_bad_row_printed(r.err, f, 5, "line", "longer than 1048576 bytes (limit [import] max_record_bytes)");
  CHECK(n.exported_ids() == std::set<std::string>{"before", "middle", "after"});
  auto q = n.quarantine();
  REQUIRE(q.size() == 2);
  CHECK(str(q[0].at("excerpt")).size() <= 200);  // not the whole 10 MB
}

// A quoted field of a thousand lines past the limit is one refused row,
// not one per line; the quarantine can be emptied once it was read.
TEST_CASE("cli: a quoted field of many lines past the limit is one quarantined row, and --clear-quarantine empties the quarantine") {
  node n;
  std::string lines;
  for (int i = 0; i < 200'000; ++i) lines += "xxxxxx\n";
  auto f = n.file("multi.csv", tax_header + "\n" + tax_row(A, "before") + "\n" +
                                   row(B, "long", "2024-01-15", "\"" + lines + "\"", "1", "A") + "\n" + tax_row(C, "after") + "\n");
  auto r = n.import("tax", f);
  CHECK(r.exit_code == 1);
  check_bad_row_printed(r.err, f, 3, "line", "lines 3-200003: the record is longer than 1048576 bytes");
  CHECK(n.exported_ids() == std::set<std::string>{"before", "after"});
  CHECK(n.quarantine().size() == 1);
  auto cleared = n.run("import", {"--clear-quarantine"});
  CHECK_MESSAGE(cleared.exit_code == 0, cleared.err);
  CHECK(cleared.out == "quarantine: 1 refused rows cleared\n");
  CHECK(n.quarantine().empty());
  CHECK(n.exported_ids() == std::set<std::string>{"before", "after"});  // records stay
  CHECK(n.run("import", {"--clear-quarantine", f}).exit_code == 2);
}

TEST_CASE("cli: CRLF line endings and a UTF-8 byte-order mark import fine") {
  node n;
  auto f = n.file("excel.csv", "\xEF\xBB\xBF" + tax_header + "\r\n" + tax_row(A, "w1", "5", "B") + "\r\n" +
                                   tax_row(B, "w2", "6", "C") + "\r\n" + A + ",w3,2024-01-15,tax bureau,2024-01,VAT,7,,\"D\"\r\n");
  auto r = n.import("tax", f);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(n.exported_ids() == std::set<std::string>{"w1", "w2", "w3"});
  CHECK(str(n.record("w1").at("fields").at("credit_rating")) == "B");
  CHECK(str(n.record("w2").at("fields").at("credit_rating")) == "C");
  CHECK(str(n.record("w3").at("fields").at("credit_rating")) == "D");
  CHECK(str(n.record("w1").at("subject")) == A);
}

TEST_CASE("cli: re-importing the same file changes nothing — a changed row becomes version 2") {
  node n;
  std::string rows = tax_row(A, "r1", "1.00") + "\n" + tax_row(B, "r2", "2.00") + "\n";
  auto f = n.file("t.csv", tax_header + "\n" + rows + tax_row(C, "r3", "3.00") + "\n");
  REQUIRE(n.import("tax", f).exit_code == 0);
  auto seq = n.last_seq();
  auto before = n.run("export").out;

  auto r = n.import("tax", f);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("3 rows read, 0 new, 0 updated, 3 unchanged, 0 quarantined") != std::string::npos);
  CHECK(n.last_seq() == seq);
  CHECK(n.run("export").out == before);

  auto g = n.file("t2.csv", tax_header + "\n" + rows + tax_row(C, "r3", "3.50", "B") + "\n");
  r = n.import("tax", g);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("0 new, 1 updated, 2 unchanged") != std::string::npos);
  CHECK(n.total() == 3);
  auto r3 = n.record("r3");
  CHECK(r3.at("version").to_number<int>() == 2);
  CHECK(str(r3.at("fields").at("amount_paid")) == "3.50");
  CHECK(str(r3.at("fields").at("credit_rating")) == "B");
  CHECK(n.record("r1").at("version").to_number<int>() == 1);
  auto changed = n.exported({"--since", std::to_string(seq)});
  REQUIRE(changed.size() == 1);
  CHECK(str(changed[0].at("record_id")) == "r3");
}

TEST_CASE("cli: re-importing a file that names one record twice changes nothing") {
  node n;
  auto f = n.file("twice.csv", tax_header + "\n" + tax_row(A, "d1", "1.00") + "\n" + tax_row(A, "d1", "2.00") + "\n");
  // The earlier row is quarantined (nothing vanishes silently); the later wins.
  auto first = n.import("tax", f);
  REQUIRE(first.exit_code == 1);
  CHECK(first.err.find("twice.csv:2: record_id:") != std::string::npos);
  CHECK(first.err.find("appears again at line 3") != std::string::npos);
  CHECK(str(n.record("d1").at("fields").at("amount_paid")) == "2.00");
  CHECK(n.record("d1").at("version").to_number<int>() == 1);
  auto seq = n.last_seq();
  auto version = n.record("d1").at("version").to_number<int>();
  auto r = n.import("tax", f);
  CHECK(r.exit_code == 1);
  CHECK(n.last_seq() == seq);
  CHECK(n.record("d1").at("version").to_number<int>() == version);
  CHECK(r.out.find("0 updated") != std::string::npos);
}

TEST_CASE("cli: JSON Lines import takes good rows and quarantines bad ones with field and reason") {
  node n;
  auto env = [](const std::string& id, const std::string& extra, const std::string& fields) {
    return R"({"subject":")" + B + R"(","record_id":")" + id +
           R"(","event_date":"2024-03-01","source":"env bureau")" + extra + R"(,"fields":)" + fields + "}";
  };
  const std::string ok = R"({"kind":"permit","issuer":"EPB","result":"granted"})";
  auto f = n.file("env.jsonl",
      env("j1", "", ok) + "\n" +                                                  // 1
      env("j2", R"(,"colour":"red")", ok) + "\n" +                                 // 2
      R"({"subject":")" + B + R"(","record_id":"j3",)" + "\n" +                   // 3
      env("j4", "", R"("kind=permit")") + "\n" +                                  // 4
      "\n" +                                                                      // 5
      "[1,2]\n" +                                                                 // 6
      env("j7", "", R"({"kind":"penalty","issuer":"EPB","result":"fined \"5000\""})") + "\r\n" +  // 7
      R"({"subject":")" + B + R"(","record_id":"j8","event_date":"2024-03-01","source":"s"})" + "\n" +  // 8
      env("j9", "", R"({"kind":"audit","issuer":"EPB","result":"x"})") + "\n");  // 9
  auto r = n.import("environment", f);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("8 rows read, 2 new, 0 updated, 0 unchanged, 6 quarantined") != std::string::npos);
  CHECK(n.exported_ids() == std::set<std::string>{"j1", "j7"});
  CHECK(json::serialize(n.record("j1").at("fields")) == ok);
  CHECK(str(n.record("j7").at("fields").at("result")) == "fined \"5000\"");
  CHECK(n.status().at("records").at("by_category").at("environment").to_number<int>() == 2);
  auto q = n.quarantine();
  CHECK(q.size() == 6);
  struct bad { int line; std::string field, reason; };
  for (const auto& b : std::vector<bad>{{2, "colour", "unknown key"},
                                        {3, "line", "not valid JSON"},
                                        {4, "fields", "expected an object"},
                                        {6, "line", "expected a JSON object"},
                                        {8, "fields", "missing"},
                                        {9, "kind", "expected one of permit penalty rating, got 'audit'"}}) {
    CAPTURE(b.line);
    check_bad_row_printed(r.err, f, b.line, b.field, b.reason);
    check_quarantined(q, f, b.line, b.field, b.reason);
  }
}

TEST_CASE("cli: a file larger than one write batch imports every row exactly once") {
  node n;
  auto toml = test::read_file(n.cfg);
  auto at = toml.find("\nbatch_rows = ");
  REQUIRE(at != std::string::npos);
  toml.replace(at, toml.find('\n', at + 1) - at, "\nbatch_rows = 7");
  test::write_file(n.cfg, toml);
  const std::string codes[] = {A, B, C};
  std::string text = tax_header + "\n";
  for (int i = 0; i < 100; ++i)
    text += tax_row(codes[i % 3], "r" + std::to_string(i), std::to_string(i) + ".5") + "\n";
  auto f = n.file("hundred.csv", text);
  auto r = n.import("tax", f);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("100 rows read, 100 new, 0 updated, 0 unchanged, 0 quarantined") != std::string::npos);
  auto all = n.exported();
  CHECK(all.size() == 100);
  std::set<std::string> ids;
  for (const auto& o : all) {
    auto id = str(o.at("record_id"));
    ids.insert(id);
    int i = std::stoi(id.substr(1));
    CHECK(str(o.at("subject")) == codes[i % 3]);
    CHECK(str(o.at("fields").at("amount_paid")) == std::to_string(i) + ".5");
  }
  CHECK(ids.size() == 100);
  CHECK(n.total() == 100);
  CHECK(n.last_seq() == 100);
  r = n.import("tax", f);
  CHECK(r.out.find("0 new, 0 updated, 100 unchanged") != std::string::npos);
  CHECK(n.last_seq() == 100);
}

// A full store (MAP_FULL, as a full disk) fails the import with exit 2, and
// the message says how much of the file is stored — the batches before the
// failure committed — so the operator knows a second run finishes it.
TEST_CASE("cli: an import that fills the store says how many rows it stored, and the same file again stores the rest") {
  node n;
  seed(n);
  auto set = [&](const std::string& key, const std::string& value) {
    auto toml = test::read_file(n.cfg);
    auto at = toml.find("\n" + key + " = ");
    REQUIRE(at != std::string::npos);
    toml.replace(at, toml.find('\n', at + 1) - at, "\n" + key + " = " + value);
    test::write_file(n.cfg, toml);
  };
  set("map_size_mb", "64");  // the least allowed
  set("batch_rows", "2000");
  const std::string codes[] = {A, B, C}, source(500, 's');
  std::string text = tax_header + "\n";
  constexpr int rows = 150000;  // ~90 MB stored: past a 64 MiB map
  for (int i = 0; i < rows; ++i)
    text += codes[i % 3] + ",r" + std::to_string(i) + ",2024-01-15," + source + ",2024-01,VAT,1.00,,A\n";
  auto f = n.file("big.csv", text);
  auto r = n.import("tax", f);
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("MDB_MAP_FULL") != std::string::npos, r.err);
  CHECK(r.err.find("raise [store] map_size_mb") != std::string::npos);
  auto at = r.err.find(" are stored (");
  REQUIRE_MESSAGE(at != std::string::npos, r.err);
  auto stored = std::stoll(r.err.substr(r.err.rfind(' ', at - 1) + 1));
  CHECK(stored > 0);
  CHECK(stored < rows);
  CHECK(r.err.find("import the same file again") != std::string::npos);
  CHECK(n.total() == stored + 1);  // what it says is what is there, beside the seed
  set("map_size_mb", "1024");
  r = n.import("tax", f);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find(std::to_string(rows - stored) + " new, 0 updated, " + std::to_string(stored) + " unchanged") !=
        std::string::npos);
  CHECK(n.total() == rows + 1);
}
