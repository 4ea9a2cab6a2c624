#include "core/aligned_buffer.h"

#include <unistd.h>

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

TEST(AlignedBufferTest, HugePagesStartOnTwoMiBAndHoldEveryByte) {
  // Below 2 MiB the request is an ordinary block; from 2 MiB on the mapping is
  // aligned to a huge page (whether the kernel backs it with one is its call).
  for (size_t bytes : {size_t{1000}, (size_t{1} << 20) + 3, size_t{2} << 20,
                       (size_t{5} << 20) + 77}) {
    auto buffer = AlignedBuffer::Allocate(bytes, AlignedBuffer::Pages::kHuge);
    ASSERT_TRUE(buffer.ok()) << buffer.status();
    EXPECT_EQ(buffer->size(), bytes);
    const uintptr_t address = reinterpret_cast<uintptr_t>(buffer->data());
    EXPECT_EQ(address % (bytes >= (size_t{2} << 20) ? size_t{2} << 20 : kAlignment), 0u)
        << bytes;
    for (size_t i = 0; i < bytes; ++i) ASSERT_EQ(buffer->data()[i], 0);
    buffer->data()[bytes - 1] = 1;  // the last byte is ours to write
  }
}

TEST(AlignedBufferTest, HugeRequestIsAnErrorNotACrash) {
  for (AlignedBuffer::Pages pages : {AlignedBuffer::Pages::kSmall, AlignedBuffer::Pages::kHuge}) {
    for (size_t bytes : {std::numeric_limits<size_t>::max() - 8,
                         std::numeric_limits<size_t>::max() - (size_t{3} << 20)}) {
      auto buffer = AlignedBuffer::Allocate(bytes, pages);
      EXPECT_EQ(buffer.status().code(), absl::StatusCode::kResourceExhausted);
    }
  }
}

TEST(AlignedBufferTest, DiscardGivesBackWholePagesThatReadAsZeros) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t bytes = 300 * page + 100;  // mapped: over a MiB
  auto buffer = AlignedBuffer::Allocate(bytes);
  ASSERT_TRUE(buffer.ok());
  EXPECT_EQ(buffer->ResidentBytes(), 0u);  // mapped, nothing touched yet
  for (size_t i = 0; i < bytes; ++i) buffer->data()[i] = 7;
  const size_t mapped = buffer->ResidentBytes();
  EXPECT_GE(mapped, bytes);
  // From the middle of page 3 to the middle of page 20: pages 4..19.
  EXPECT_EQ(buffer->Discard(3 * page + 5, 17 * page), 16 * page);
  EXPECT_EQ(buffer->ResidentBytes(), mapped - 16 * page);
  EXPECT_EQ(buffer->data()[4 * page - 1], 7);
  EXPECT_EQ(buffer->data()[4 * page], 0);
  EXPECT_EQ(buffer->data()[20 * page - 1], 0);
  EXPECT_EQ(buffer->data()[20 * page], 7);
  // Past the end and inside one page: nothing.
  EXPECT_EQ(buffer->Discard(bytes, page), 0u);
  EXPECT_EQ(buffer->Discard(100 * page + 1, page - 2), 0u);
  // A heap block keeps its bytes.
  auto small = AlignedBuffer::Allocate(3 * page);
  ASSERT_TRUE(small.ok());
  small->data()[page] = 7;
  EXPECT_EQ(small->Discard(0, 3 * page), 0u);
  EXPECT_EQ(small->data()[page], 7);
  EXPECT_EQ(small->ResidentBytes(), 3 * page);
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
