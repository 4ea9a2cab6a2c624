// Linked with exactly one backend target (see BUILD.bazel): the registry
// holds that backend alone, and asking for another is an error naming it.
#include <string>

#include "api/smallmind.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smallmind {
namespace {

TEST(SingleBackendTest, OnlyTheLinkedBackendIsRegistered) {
  const std::vector<std::string> backends = ListBackends();
  ASSERT_EQ(backends.size(), 1u);
  EXPECT_EQ(backends[0], EXPECTED_BACKEND);
  absl::StatusOr<std::unique_ptr<Model>> model =
      Model::Load("tests/golden/gpt2_tiny.smm");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->backend(), EXPECTED_BACKEND);
  EXPECT_THAT(Model::Load("tests/golden/gpt2_tiny.smm", {"blas"}).status().message(),
              ::testing::HasSubstr("registered backends: " EXPECTED_BACKEND " (or auto)"));
}

}  // namespace
}  // namespace smallmind
