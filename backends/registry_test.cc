#include "backends/registry.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "gtest/gtest.h"

namespace smallmind::backends {
namespace {

using core::DType;

TEST(RegistryTest, ListsEveryLinkedBackendBestFirst) {
  EXPECT_EQ(Registry::List(), (std::vector<std::string>{"tiled", "blas", "portable"}));
}

TEST(RegistryTest, LookupIsCaseInsensitive) {
  auto tiled = Registry::Get("TiLeD", DType::kF32);
  ASSERT_TRUE(tiled.ok()) << tiled.status();
  EXPECT_EQ((*tiled)->name(), "tiled");
}

TEST(RegistryTest, UnknownNameListsTheRegisteredOnes) {
  auto missing = Registry::Get("cuda", DType::kF32);
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  const std::string message(missing.status().message());
  EXPECT_NE(message.find("unknown backend 'cuda'"), std::string::npos) << message;
  EXPECT_NE(message.find("tiled, blas, portable"), std::string::npos) << message;
}

TEST(RegistryTest, NamedBackendMustSupportTheDtype) {
  auto blas = Registry::Get("blas", DType::kQ4_0);
  EXPECT_EQ(blas.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(blas.status().message().find("does not support q4_0"),
            absl::string_view::npos);
}

TEST(RegistryTest, AutoPicksTheBestSupportingBackend) {
  for (const core::DTypeTraits& t : core::AllDTypes()) {
    auto chosen = Registry::Get("auto", t.dtype);
    ASSERT_TRUE(chosen.ok());
    EXPECT_EQ((*chosen)->name(), "tiled");
  }
}

TEST(RegistryTest, SelectPrefersTheFlagThenTheEnvironment) {
  ASSERT_EQ(unsetenv(kBackendEnvVar), 0);
  EXPECT_EQ((*Registry::Select("", DType::kF32))->name(), "tiled");
  ASSERT_EQ(setenv(kBackendEnvVar, "Portable", 1), 0);
  EXPECT_EQ((*Registry::Select("", DType::kF32))->name(), "portable");
  EXPECT_EQ((*Registry::Select("blas", DType::kF32))->name(), "blas");
  ASSERT_EQ(setenv(kBackendEnvVar, "nope", 1), 0);
  EXPECT_EQ(Registry::Select("", DType::kF32).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_EQ(unsetenv(kBackendEnvVar), 0);
}

}  // namespace
}  // namespace smallmind::backends
