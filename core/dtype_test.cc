#include "core/dtype.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

TEST(DTypeTest, BlockGeometryMatchesGgml) {
  EXPECT_EQ(BlockElements(DType::kF32), 1u);
  EXPECT_EQ(BlockBytes(DType::kF32), 4u);
  EXPECT_EQ(BlockBytes(DType::kF16), 2u);
  EXPECT_EQ(BlockBytes(DType::kBF16), 2u);
  EXPECT_EQ(BlockElements(DType::kQ8_0), 32u);
  EXPECT_EQ(BlockBytes(DType::kQ8_0), 34u);
  EXPECT_EQ(BlockElements(DType::kQ4_0), 32u);
  EXPECT_EQ(BlockBytes(DType::kQ4_0), 18u);
  // ggml-common.h's sizes: Q4_K 144, Q5_K 176, Q6_K 210 bytes per 256.
  EXPECT_EQ(BlockBytes(DType::kQ4_K), 144u);
  EXPECT_EQ(BlockBytes(DType::kQ5_K), 176u);
  EXPECT_EQ(BlockBytes(DType::kQ6_K), 210u);
  EXPECT_EQ(BlockBytes(DType::kQ2_K), 84u);
  EXPECT_EQ(BlockBytes(DType::kQ3_K), 110u);
  EXPECT_EQ(BlockElements(DType::kQ4_K), 256u);
  EXPECT_EQ(offsetof(BlockQ8_0, qs), 2u);
  EXPECT_EQ(offsetof(BlockQ4_0, qs), 2u);
}

TEST(DTypeTest, NamesRoundTrip) {
  for (const DTypeTraits& t : AllDTypes()) {
    auto parsed = DTypeFromName(t.name);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, t.dtype);
  }
  EXPECT_EQ(*DTypeFromName("Q4_0"), DType::kQ4_0);
  EXPECT_EQ(*DTypeFromName("Q4_K"), DType::kQ4_K);
  auto bad = DTypeFromName("q7_k");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("q7_k"), absl::string_view::npos);
}

TEST(DTypeTest, IdsIdentifyOneDTypeEach) {
  for (const DTypeTraits& t : AllDTypes()) {
    ASSERT_NE(TraitsForGgml(t.ggml_type), nullptr) << t.name;
    EXPECT_EQ(TraitsForGgml(t.ggml_type)->dtype, t.dtype);
    ASSERT_NE(TraitsForFileId(t.file_id), nullptr) << t.name;
    EXPECT_EQ(TraitsForFileId(t.file_id)->dtype, t.dtype);
    EXPECT_EQ(&Traits(t.dtype), &t);
  }
  EXPECT_EQ(TraitsForGgml(9999), nullptr);
  EXPECT_EQ(TraitsForFileId(0), nullptr);
}

TEST(DTypeTest, BytesForCountsWholeBlocks) {
  EXPECT_EQ(*BytesFor(DType::kF32, 7), 28u);
  EXPECT_EQ(*BytesFor(DType::kF16, 7), 14u);
  EXPECT_EQ(*BytesFor(DType::kQ8_0, 64), 68u);
  EXPECT_EQ(*BytesFor(DType::kQ4_0, 96), 54u);
  EXPECT_EQ(*BytesFor(DType::kQ4_0, 0), 0u);
}

TEST(DTypeTest, BytesForRejectsPartialBlocks) {
  auto r = BytesFor(DType::kQ8_0, 33);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("q8_0"), absl::string_view::npos);
}

TEST(DTypeTest, BytesForDetectsOverflow) {
  const uint64_t huge = std::numeric_limits<uint64_t>::max() / 2;
  EXPECT_EQ(BytesFor(DType::kF32, huge).status().code(),
            absl::StatusCode::kOutOfRange);
  // Whole blocks, but 34 bytes each overflow 64 bits.
  const uint64_t whole_blocks = std::numeric_limits<uint64_t>::max() / 32 * 32;
  EXPECT_EQ(BytesFor(DType::kQ8_0, whole_blocks).status().code(),
            absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace smallmind::core
