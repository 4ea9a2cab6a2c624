#include "core/arena.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

TEST(ArenaTest, AllocatesAlignedDisjointBlocks) {
  auto arena = Arena::Create(1024);
  ASSERT_TRUE(arena.ok()) << arena.status();
  auto a = arena->Allocate(10);
  auto b = arena->Allocate(10);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(*a) % kAlignment, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(*b) % kAlignment, 0u);
  EXPECT_EQ(static_cast<uint8_t*>(*b) - static_cast<uint8_t*>(*a), 64);
  EXPECT_EQ(arena->used(), 74u);
  auto small = arena->Allocate(3, 4);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(static_cast<uint8_t*>(*small) - static_cast<uint8_t*>(*a), 76);
}

TEST(ArenaTest, ResetKeepsHighWater) {
  auto arena = Arena::Create(1024);
  ASSERT_TRUE(arena.ok());
  ASSERT_TRUE(arena->AllocateArray<float>(100).ok());
  EXPECT_EQ(arena->high_water(), 400u);
  arena->Reset();
  EXPECT_EQ(arena->used(), 0u);
  ASSERT_TRUE(arena->AllocateArray<float>(10).ok());
  EXPECT_EQ(arena->high_water(), 400u);
}

TEST(ArenaTest, RewindReturnsScratchToTheMark) {
  auto arena = Arena::Create(1024);
  ASSERT_TRUE(arena.ok());
  ASSERT_TRUE(arena->Allocate(100).ok());
  const size_t mark = arena->used();
  auto scratch = arena->Allocate(500);
  ASSERT_TRUE(scratch.ok());
  arena->Rewind(mark);
  EXPECT_EQ(arena->used(), 100u);
  EXPECT_EQ(arena->high_water(), 628u);
  arena->Rewind(5000);  // above used(): ignored
  EXPECT_EQ(arena->used(), 100u);
  auto again = arena->Allocate(500);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *scratch);
}

TEST(ArenaTest, RunningOutIsAnErrorAndChangesNothing) {
  auto arena = Arena::Create(256);
  ASSERT_TRUE(arena.ok());
  ASSERT_TRUE(arena->Allocate(200).ok());
  auto too_big = arena->Allocate(100);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(arena->used(), 200u);
  // What remains after alignment (256 - 256 = 0) is still usable as empty.
  EXPECT_TRUE(arena->Allocate(0).ok());
  EXPECT_FALSE(arena->Allocate(1).ok());
}

TEST(ArenaTest, ExactFitSucceeds) {
  auto arena = Arena::Create(128);
  ASSERT_TRUE(arena.ok());
  EXPECT_TRUE(arena->Allocate(128).ok());
  EXPECT_EQ(arena->high_water(), 128u);
}

TEST(ArenaTest, OverflowingRequestsAreErrors) {
  auto arena = Arena::Create(128);
  ASSERT_TRUE(arena.ok());
  EXPECT_FALSE(arena->Allocate(std::numeric_limits<size_t>::max()).ok());
  EXPECT_FALSE(
      arena->AllocateArray<double>(std::numeric_limits<size_t>::max() / 4).ok());
  EXPECT_EQ(arena->used(), 0u);
}

TEST(ArenaTest, RejectsBadAlignment) {
  auto arena = Arena::Create(128);
  ASSERT_TRUE(arena.ok());
  EXPECT_EQ(arena->Allocate(8, 3).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(arena->Allocate(8, 128).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace smallmind::core
