// File I/O with the modes, no-overwrite rules and flushes a PKI needs
// (node/pki), and a backup's checksum file (node/cli/backup.cpp). Plain
// C++, no mbedTLS.
#pragma once

#include <string>

namespace node::pki::files {

// Whole file; pki_error(input) naming the path when it cannot be read.
std::string read(const std::string& path, const std::string& what);

// Creates `path` with O_EXCL and `mode` (not subject to umask) and writes
// `text`, fsynced. Throws pki_error(input) "already exists" when it does:
// keys and CA files are never overwritten.
void write_new(const std::string& path, const std::string& text, unsigned mode, const std::string& what);

// Writes `text` to path.tmp, fsyncs, then renames over `path`: a reader sees
// the old file or the new one, never half of one.
void replace(const std::string& path, const std::string& text, unsigned mode, const std::string& what);

// Creates `dir` (and parents) and sets it 0700.
void make_private_dir(const std::string& dir);

bool exists(const std::string& path);

// Mode bits (07777) of an existing path, or -1.
int mode_of(const std::string& path);

}  // namespace node::pki::files
