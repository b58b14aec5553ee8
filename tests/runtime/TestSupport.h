// Shared helpers for the runtime tests: a scratch directory and whole-file reads and writes.
#ifndef KILN_TESTS_RUNTIME_TESTSUPPORT_H
#define KILN_TESTS_RUNTIME_TESTSUPPORT_H

#include "support/Files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace kiln_test {

using kiln::testsupport::TempDir;
using kiln::testsupport::readFile;
using kiln::testsupport::writeFile;

// The bytes of a value in host (little-endian) order.
template <typename T> std::string bytesOf(const std::vector<T> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T));
}

} // namespace kiln_test

#endif // KILN_TESTS_RUNTIME_TESTSUPPORT_H
