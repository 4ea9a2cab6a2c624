#include "core/shape.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

TEST(ShapeTest, CountsElementsRowsAndRowLength) {
  auto s = Shape::Make({2, 3, 4});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->rank(), 3);
  EXPECT_EQ(s->num_elements(), 24);
  EXPECT_EQ(s->row_length(), 4);
  EXPECT_EQ(s->num_rows(), 6);
  EXPECT_EQ(s->ToString(), "[2, 3, 4]");
}

TEST(ShapeTest, RankZeroIsOneElement) {
  Shape scalar;
  EXPECT_EQ(scalar.rank(), 0);
  EXPECT_EQ(scalar.num_elements(), 1);
  EXPECT_EQ(scalar.num_rows(), 1);
  EXPECT_EQ(scalar.ToString(), "[]");
}

TEST(ShapeTest, ZeroDimensionMeansNoElements) {
  auto s = Shape::Make({0, 5});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->num_elements(), 0);
  EXPECT_EQ(s->num_rows(), 0);
  // A zero after dimensions whose product would overflow is still empty.
  const int64_t big = int64_t{1} << 40;
  auto empty = Shape::Make({big, big, 0});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->num_elements(), 0);
}

TEST(ShapeTest, RejectsRankAboveFour) {
  auto s = Shape::Make({1, 2, 3, 4, 5});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("rank 5"), absl::string_view::npos);
}

TEST(ShapeTest, RejectsNegativeDimensions) {
  EXPECT_EQ(Shape::Make({3, -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ShapeTest, DetectsElementCountOverflow) {
  const int64_t big = int64_t{1} << 32;
  EXPECT_EQ(Shape::Make({big, big}).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Shape::Make({big, big / 2 - 1}).ok());
  EXPECT_EQ(Shape::Make({std::numeric_limits<int64_t>::max(), 2}).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(ShapeTest, Equality) {
  EXPECT_EQ(*Shape::Make({2, 3}), *Shape::Make({2, 3}));
  EXPECT_NE(*Shape::Make({2, 3}), *Shape::Make({3, 2}));
  EXPECT_NE(*Shape::Make({6}), *Shape::Make({6, 1}));
}

}  // namespace
}  // namespace smallmind::core
