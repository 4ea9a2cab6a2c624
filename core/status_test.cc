#include "core/status.h"

#include <string>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  SM_ASSIGN_OR_RETURN(int half, Half(x));
  SM_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int x) {
  SM_RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusTest, AssignOrReturnPassesValuesAndErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
}

TEST(StatusTest, ReturnIfErrorPropagates) {
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatusTest, AssignOrReturnMovesOnlyTypes) {
  auto make = []() -> absl::StatusOr<std::unique_ptr<std::string>> {
    return std::make_unique<std::string>("x");
  };
  auto use = [&]() -> absl::StatusOr<std::string> {
    SM_ASSIGN_OR_RETURN(std::unique_ptr<std::string> p, make());
    return *p;
  };
  EXPECT_EQ(*use(), "x");
}

}  // namespace
}  // namespace smallmind::core
