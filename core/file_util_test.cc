#include "core/file_util.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

TEST(FileUtilTest, RoundTripsBytes) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/f.bin";
  const std::string bytes("a\0b\nc", 5);
  ASSERT_TRUE(WriteStringToFile(path, bytes).ok());
  EXPECT_EQ(*ReadFileToString(path), bytes);
  ASSERT_TRUE(WriteStringToFile(path, "x").ok());  // replaces, not appends
  EXPECT_EQ(*ReadFileToString(path), "x");
}

TEST(FileUtilTest, ErrorsNameThePath) {
  EXPECT_EQ(ReadFileToString("/no/such/file").status().message(),
            "cannot read /no/such/file");
  EXPECT_EQ(WriteStringToFile("/no/such/dir/f", "x").message(),
            "cannot write /no/such/dir/f");
}

}  // namespace
}  // namespace smallmind::core
