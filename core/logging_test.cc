#include "core/logging.h"

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

TEST(LoggingTest, ThresholdFiltersSeverities) {
  SetLogThreshold(LogSeverity::kWarning);
  EXPECT_FALSE(LogEnabled(LogSeverity::kInfo));
  EXPECT_TRUE(LogEnabled(LogSeverity::kWarning));
  EXPECT_TRUE(LogEnabled(LogSeverity::kError));
  SetLogThreshold(LogSeverity::kDebug);
  EXPECT_TRUE(LogEnabled(LogSeverity::kDebug));
}

TEST(LoggingTest, LogWritesFormattedLineToStderr) {
  SetLogThreshold(LogSeverity::kInfo);
  testing::internal::CaptureStderr();
  const int line = __LINE__ + 1;
  SM_LOG(kInfo, "loaded %d tensors from %s", 3, "m.smm");
  SM_LOG(kDebug, "not shown");
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, absl::StrFormat(
                     "[I logging_test.cc:%d] loaded 3 tensors from m.smm\n", line));
}

TEST(LoggingDeathTest, CheckAbortsWithCondition) {
  EXPECT_DEATH(SM_CHECK(1 + 1 == 3), "CHECK failed: 1 \\+ 1 == 3");
}

}  // namespace
}  // namespace smallmind::core
