#include "core/mapped_file.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

std::string Write(const std::string& name, const std::string& contents) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(contents.data(), 1, contents.size(), f);
  std::fclose(f);
  return path;
}

TEST(MappedFileTest, MapsTheBytes) {
  absl::StatusOr<MappedFile> file = MappedFile::Open(Write("a", "hello"));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->bytes().size(), 5u);
  EXPECT_EQ(file->bytes()[4], 'o');
  MappedFile moved = std::move(*file);
  EXPECT_EQ(moved.bytes()[0], 'h');
  EXPECT_TRUE(file->bytes().empty());
}

TEST(MappedFileTest, EmptyFileIsAnEmptySpan) {
  absl::StatusOr<MappedFile> file = MappedFile::Open(Write("empty", ""));
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(file->bytes().empty());
}

TEST(MappedFileTest, Errors) {
  EXPECT_EQ(MappedFile::Open("/no/such/file").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(MappedFile::Open(std::getenv("TEST_TMPDIR")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace smallmind::core
