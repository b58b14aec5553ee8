// Status messages, the thread-local last error, and Halide error translation.
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

namespace {

TEST(Status, EveryCodeHasADistinctMessage) {
  std::set<std::string> messages;
  for (int code = KILN_OK; code <= KILN_UNSUPPORTED_CPU; ++code) {
    const char *message = kiln_status_message(static_cast<kiln_status>(code));
    ASSERT_NE(message, nullptr);
    EXPECT_STRNE(message, "");
    EXPECT_STRNE(message, "unknown status") << code;
    messages.insert(message);
  }
  EXPECT_EQ(messages.size(), static_cast<size_t>(KILN_UNSUPPORTED_CPU + 1));
  EXPECT_STREQ(kiln_status_message(KILN_OK), "ok");
  EXPECT_STREQ(kiln_status_message(KILN_SHAPE_MISMATCH), "shape mismatch");
  EXPECT_STREQ(kiln_status_message(KILN_CORRUPT_FILE), "corrupt file");
  EXPECT_STREQ(kiln_status_message(static_cast<kiln_status>(13)), "unknown status");
  EXPECT_STREQ(kiln_status_message(static_cast<kiln_status>(-1)), "unknown status");
}

TEST(Status, LastErrorIsEmptyOnAFreshThread) {
  std::string seen = "unset";
  std::thread([&] { seen = kiln_last_error(); }).join();
  EXPECT_EQ(seen, "");
}

TEST(Status, FailRecordsTheFormattedMessage) {
  EXPECT_EQ(kiln_fail(KILN_SHAPE_MISMATCH, "%s: expected %d, got %lld", "lenet", 4,
                      static_cast<long long>(2)),
            KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "lenet: expected 4, got 2");
  EXPECT_EQ(kiln_fail(KILN_IO_ERROR, nullptr), KILN_IO_ERROR);
  EXPECT_STREQ(kiln_last_error(), "I/O error");
  EXPECT_EQ(kiln_fail(KILN_INTERNAL_ERROR, "%s", ""), KILN_INTERNAL_ERROR);
  EXPECT_STREQ(kiln_last_error(), "");
}

TEST(Status, FailMayQuoteTheLastError) {
  kiln_fail(KILN_CORRUPT_FILE, "inner %s", "detail");
  kiln_fail(KILN_CORRUPT_FILE, "outer: %s", kiln_last_error());
  EXPECT_STREQ(kiln_last_error(), "outer: inner detail");
}

TEST(Status, LongMessagesAreKeptWhole) {
  std::string path(5000, 'p');
  kiln_fail(KILN_IO_ERROR, "%s: missing", path.c_str());
  EXPECT_EQ(std::string(kiln_last_error()), path + ": missing");
}

TEST(Status, LastErrorIsPerThread) {
  kiln_fail(KILN_IO_ERROR, "main thread");
  std::string other;
  std::thread([&] {
    kiln_fail(KILN_NUMERIC_ERROR, "worker thread");
    other = kiln_last_error();
  }).join();
  EXPECT_EQ(other, "worker thread");
  EXPECT_STREQ(kiln_last_error(), "main thread");
}

TEST(Status, HalideSuccessIsOk) {
  kiln_fail(KILN_IO_ERROR, "unchanged");
  EXPECT_EQ(kiln_status_from_halide(0, "conv1"), KILN_OK);
  EXPECT_STREQ(kiln_last_error(), "unchanged");
}

TEST(Status, HalideErrorsAreTranslated) {
  EXPECT_EQ(kiln_status_from_halide(-11, "lenet_conv1"), KILN_OUT_OF_MEMORY);
  EXPECT_STREQ(kiln_last_error(), "lenet_conv1: an allocation failed (Halide error -11)");

  EXPECT_EQ(kiln_status_from_halide(-4, "lenet_conv1"), KILN_KERNEL_ERROR);
  EXPECT_STREQ(kiln_last_error(), "lenet_conv1: an input or output has the wrong shape (an access "
                                  "falls outside it) (Halide error -4)");
  EXPECT_EQ(kiln_status_from_halide(-3, "fc"), KILN_KERNEL_ERROR);
  EXPECT_STREQ(kiln_last_error(),
               "fc: an input or output has the wrong element type (Halide error -3)");
  EXPECT_EQ(kiln_status_from_halide(-43, "fc"), KILN_KERNEL_ERROR);
  EXPECT_STREQ(kiln_last_error(), "fc: an input or output has the wrong rank (Halide error -43)");

  for (int code : {-14, -15, -16, -17, -18, -23, -39, -42})
    EXPECT_EQ(kiln_status_from_halide(code, "k"), KILN_DEVICE_ERROR) << code;
  EXPECT_EQ(kiln_status_from_halide(-16, "k"), KILN_DEVICE_ERROR);
  EXPECT_STREQ(kiln_last_error(), "k: a device allocation failed (Halide error -16)");
}

TEST(Status, EveryHalideErrorNamesTheKernelAndCode) {
  for (int code = -1; code >= -50; --code) {
    kiln_status status = kiln_status_from_halide(code, "pool2");
    EXPECT_NE(status, KILN_OK) << code;
    std::string message = kiln_last_error();
    EXPECT_EQ(message.rfind("pool2: ", 0), 0u) << message;
    EXPECT_NE(message.find(std::to_string(code)), std::string::npos) << message;
    if (status != KILN_OUT_OF_MEMORY && status != KILN_DEVICE_ERROR) {
      EXPECT_EQ(status, KILN_KERNEL_ERROR) << code;
    }
  }
  EXPECT_EQ(kiln_status_from_halide(-29, "pool2"), KILN_KERNEL_ERROR);
  EXPECT_STREQ(kiln_last_error(), "pool2: unknown Halide error -29");
  EXPECT_EQ(kiln_status_from_halide(-1, nullptr), KILN_KERNEL_ERROR);
  EXPECT_STREQ(kiln_last_error(), "kernel: an uncategorized error (Halide error -1)");
}

} // namespace
