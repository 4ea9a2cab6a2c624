#include "core/aligned_buffer.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

TEST(AlignedBufferTest, IsAlignedAndZeroed) {
  // Small blocks from the heap, large ones (>= 1 MiB) mapped: both zeroed.
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{1000},
                       size_t{1} << 20, (size_t{3} << 20) + 5}) {
    auto buffer = AlignedBuffer::Allocate(bytes);
    ASSERT_TRUE(buffer.ok()) << buffer.status();
    EXPECT_EQ(buffer->size(), bytes);
    ASSERT_NE(buffer->data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer->data()) % kAlignment, 0u);
    for (size_t i = 0; i < bytes; ++i) ASSERT_EQ(buffer->data()[i], 0);
  }
}

TEST(AlignedBufferTest, HugeRequestIsAnErrorNotACrash) {
  auto buffer = AlignedBuffer::Allocate(std::numeric_limits<size_t>::max() - 8);
  EXPECT_EQ(buffer.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(AlignedBufferTest, MovesOwnership) {
  auto buffer = AlignedBuffer::Allocate(128);
  ASSERT_TRUE(buffer.ok());
  uint8_t* data = buffer->data();
  AlignedBuffer moved = std::move(*buffer);
  EXPECT_EQ(moved.data(), data);
  EXPECT_EQ(moved.size(), 128u);
}

}  // namespace
}  // namespace smallmind::core
