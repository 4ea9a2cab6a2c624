#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "gtest/gtest.h"
#include "kernels/convert.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

using core::DType;

class AttentionTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(AttentionTest);

// `positions` rows of `head_dim` random values in [-1, 1] stored as
// `dtype`, `stride` bytes apart (heads interleaved in a cache), and the
// values they stand for.
struct Stored {
  std::vector<uint8_t> bytes;
  std::vector<float> decoded;  // [positions, head_dim]
  size_t stride;
};

// Rows start this far into their buffer, so none is more than 2-byte
// aligned (all the kernel may assume).
constexpr size_t kOffset = 2;

// `width` elements a row (kv heads side by side); a row's bytes then 2
// more, so rows stay 2-byte aligned only.
Stored Store(DType dtype, size_t positions, size_t width, uint64_t seed) {
  const size_t row_bytes = *core::BytesFor(dtype, width);
  Stored s{{}, std::vector<float>(positions * width), row_bytes + 2};
  s.bytes.resize(positions * s.stride + kOffset);
  const std::vector<float> x = RandomFloats(positions * width, seed);
  for (size_t p = 0; p < positions; ++p) {
    uint8_t* row = s.bytes.data() + kOffset + p * s.stride;
    EncodeRow(dtype, x.data() + p * width, row, width);
    DecodeRow(dtype, row, s.decoded.data() + p * width, width);
  }
  return s;
}

// softmax(q·K·scale)·V in double precision over rows [from, from + n) of
// the values the stored rows stand for, the head at `offset` of each row.
std::vector<double> Reference(const float* q, const Stored& k, const Stored& v, size_t width,
                              size_t offset, size_t head_dim, size_t from, size_t n,
                              float scale) {
  std::vector<float> logits(n);
  for (size_t p = 0; p < n; ++p) {
    logits[p] = static_cast<float>(
        reference::Dot(q, k.decoded.data() + (from + p) * width + offset, head_dim) * scale);
  }
  const std::vector<double> probs = reference::Softmax(logits.data(), n);
  std::vector<double> out(head_dim);
  for (size_t i = 0; i < head_dim; ++i) {
    for (size_t p = 0; p < n; ++p) out[i] += probs[p] * v.decoded[(from + p) * width + offset + i];
  }
  return out;
}

// One row's query heads (`kv_heads` groups) against the double reference;
// outputs are convex combinations of values in [-1, 1], so a few 1e-6
// absolute cover float rounding of the dots (a block type sums each block
// before scaling it), the exp and the sums. Outputs sit out_stride apart,
// nothing written between them.
void CheckRow(DType key_type, DType value_type, size_t head_dim, size_t heads, size_t kv_heads,
              size_t positions) {
  SCOPED_TRACE(testing::Message() << core::DTypeName(key_type) << "/"
                                  << core::DTypeName(value_type) << " head_dim " << head_dim
                                  << " heads " << heads << "/" << kv_heads << " positions "
                                  << positions);
  const size_t width = kv_heads * head_dim;
  const std::vector<float> q = RandomFloats(heads * head_dim, 41);
  const Stored k = Store(key_type, positions, width, 42);
  const Stored v = Store(value_type, positions, width, 43);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const size_t out_stride = head_dim + 3;
  std::vector<float> out(heads * out_stride, -7.0f);
  std::vector<float> scratch(AttendRowScratch(heads, kv_heads, head_dim));
  AttendRow(q.data(), heads, kv_heads, {k.bytes.data() + kOffset, key_type, k.stride},
            {v.bytes.data() + kOffset, value_type, v.stride}, positions, head_dim, scale,
            scratch.data(), out.data(), out_stride, false);
  for (size_t h = 0; h < heads; ++h) {
    const size_t offset = h / (heads / kv_heads) * head_dim;
    const std::vector<double> expected =
        Reference(q.data() + h * head_dim, k, v, width, offset, head_dim, 0, positions, scale);
    for (size_t i = 0; i < head_dim; ++i) {
      ASSERT_NEAR(out[h * out_stride + i], expected[i], 4e-6) << "head " << h << " i " << i;
    }
    ASSERT_EQ(out[h * out_stride + head_dim], -7.0f) << "head " << h;
  }
}

// Odd sizes, the tile's edges (kRowTile and either side), MHA (one query per kv
// head), GQA groups of 2, 3 and 7 (Qwen2.5's), one kv head (MQA).
TEST_P(AttentionTest, RowsMatchTheReference) {
  const std::pair<size_t, size_t> shapes[] = {{1, 1}, {3, 3}, {7, 1}, {4, 2}, {14, 2}, {6, 2}};
  for (size_t head_dim : {1, 7, 33, 64, 80, 128}) {
    for (auto [heads, kv_heads] : shapes) {
      for (size_t positions :
           {size_t{1}, size_t{3}, size_t{4}, kRowTile - 1, kRowTile, kRowTile + 1, 2 * kRowTile + 6,
            size_t{300}}) {
        CheckRow(DType::kF32, DType::kF32, head_dim, heads, kv_heads, positions);
        if (HasFailure()) return;
      }
    }
  }
}

// Every stored type, as keys and as values, beside each other type.
TEST_P(AttentionTest, EveryCacheTypeMatchesReference) {
  const DType types[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0};
  for (DType key_type : types) {
    for (DType value_type : types) {
      const bool blocks = core::IsQuantized(key_type) || core::IsQuantized(value_type);
      for (size_t head_dim : blocks ? std::vector<size_t>{32, 64, 96, 128}
                                    : std::vector<size_t>{1, 7, 33, 64, 80}) {
        for (size_t positions : {1, 5, 64, 129}) {
          CheckRow(key_type, value_type, head_dim, 6, 2, positions);
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST_P(AttentionTest, OnePositionReturnsItsValue) {
  const float q[3] = {1, 2, 3}, k[3] = {4, 5, 6}, v[3] = {0.5f, -2, 7};
  std::vector<float> scratch(AttendRowScratch(1, 1, 3));
  float out[3];
  AttendRow(q, 1, 1, {k, DType::kF32, sizeof(k)}, {v, DType::kF32, sizeof(v)}, 1, 3, 1.0f,
            scratch.data(), out, 3, false);
  EXPECT_EQ(out[0], 0.5f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], 7.0f);
}

// A block of rows × heads against the double reference, row by row: each
// row attends to its own causal (and windowed) range of a cache whose
// positions are all filled.
void CheckBlock(DType key_type, DType value_type, size_t head_dim, size_t rows, size_t heads,
                int64_t first_position, int64_t window, int64_t keys = 0) {
  SCOPED_TRACE(testing::Message() << core::DTypeName(key_type) << "/"
                                  << core::DTypeName(value_type) << " head_dim " << head_dim
                                  << " rows " << rows << " heads " << heads << " first "
                                  << first_position << " window " << window << " keys "
                                  << keys);
  const size_t positions = std::max(static_cast<size_t>(first_position) + rows,
                                    static_cast<size_t>(keys));
  // The block's kv head, the second of three in each row.
  const size_t width = 3 * head_dim, offset = head_dim;
  const Stored k = Store(key_type, positions, width, 52);
  const Stored v = Store(value_type, positions, width, 53);
  const size_t key_offset = *core::BytesFor(key_type, head_dim);
  const size_t value_offset = *core::BytesFor(value_type, head_dim);
  const size_t q_stride = heads * head_dim + 3;
  const std::vector<float> q = RandomFloats(rows * q_stride, 51);
  std::vector<float> out(rows * q_stride, -7.0f);
  std::vector<float> scratch(AttendBlockScratch(rows * heads, head_dim));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  AttendBlock({q.data(), out.data(), q_stride, q_stride, rows, heads, first_position, keys},
              {k.bytes.data() + kOffset + key_offset, key_type, k.stride},
              {v.bytes.data() + kOffset + value_offset, value_type, v.stride},
              head_dim, scale, window, scratch.data());
  for (size_t r = 0; r < rows; ++r) {
    // Bidirectional rows see [0, keys), as if at the last position.
    const int64_t pos = keys > 0 ? keys - 1 : first_position + static_cast<int64_t>(r);
    const size_t from = static_cast<size_t>(
        window > 0 && keys == 0 ? std::max<int64_t>(0, pos + 1 - window) : 0);
    const size_t n = static_cast<size_t>(pos) + 1 - from;
    for (size_t h = 0; h < heads; ++h) {
      const std::vector<double> expected = Reference(q.data() + r * q_stride + h * head_dim, k,
                                                     v, width, offset, head_dim, from, n, scale);
      for (size_t i = 0; i < head_dim; ++i) {
        ASSERT_NEAR(out[r * q_stride + h * head_dim + i], expected[i], 4e-6)
            << "row " << r << " head " << h << " i " << i;
      }
    }
    // Nothing written between heads.
    ASSERT_EQ(out[r * q_stride + heads * head_dim], -7.0f);
  }
}

TEST_P(AttentionTest, BlocksMatchTheReference) {
  for (size_t head_dim : {7, 32, 64, 80}) {
    for (size_t heads : {1, 3}) {
      for (auto [rows, first] : {std::pair<size_t, int64_t>{1, 0}, {5, 0}, {16, 3}, {9, 120},
                                 {33, 200}}) {
        for (int64_t window : {0, 4, 70}) {
          CheckBlock(DType::kF32, DType::kF32, head_dim, rows, heads, first, window);
          if (HasFailure()) return;
        }
      }
    }
  }
  // Encoders: every row over all of its sequence's keys (window ignored).
  for (size_t head_dim : {7, 32, 64}) {
    for (auto [rows, first, keys] : {std::tuple<size_t, int64_t, int64_t>{1, 0, 1}, {3, 0, 3},
                                     {16, 0, 16}, {9, 40, 70}, {33, 100, 133}, {20, 0, 200}}) {
      CheckBlock(DType::kF32, DType::kF32, head_dim, rows, 3, first, 4, keys);
      if (HasFailure()) return;
    }
  }
  for (DType key_type : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0}) {
    for (DType value_type : {DType::kF16, DType::kQ8_0, DType::kQ4_0}) {
      CheckBlock(key_type, value_type, 64, 12, 3, 0, 0, 130);
      CheckBlock(key_type, value_type, 64, 12, 3, 90, 0);
      CheckBlock(key_type, value_type, 32, 7, 2, 0, 5);
      if (HasFailure()) return;
    }
  }
}

// A long context cut in parts (flash-decoding) and merged head by head
// gives what one call over all of it gives, an empty part included.
TEST_P(AttentionTest, PartsMergeToTheWhole) {
  const size_t head_dim = 64, heads = 6, kv_heads = 2, positions = 301, slot = head_dim + 2;
  const Stored k = Store(DType::kQ8_0, positions, kv_heads * head_dim, 62);
  const Stored v = Store(DType::kF16, positions, kv_heads * head_dim, 63);
  const std::vector<float> q = RandomFloats(heads * head_dim, 61);
  std::vector<float> scratch(AttendRowScratch(heads, kv_heads, head_dim)), whole(heads * head_dim);
  const auto rows = [&](const Stored& s, DType dtype, size_t from) {
    return StoredRows{s.bytes.data() + kOffset + from * s.stride, dtype, s.stride};
  };
  AttendRow(q.data(), heads, kv_heads, rows(k, DType::kQ8_0, 0), rows(v, DType::kF16, 0),
            positions, head_dim, 0.125f, scratch.data(), whole.data(), head_dim, false);
  // Parts [0, 100), [100, 100), [100, 301), as the forward pass keeps
  // them: a head's parts side by side, each [sums][max][sum].
  const size_t bounds[] = {0, 100, 100, positions};
  std::vector<float> parts(heads * 3 * slot);
  for (int p = 0; p < 3; ++p) {
    AttendRow(q.data(), heads, kv_heads, rows(k, DType::kQ8_0, bounds[p]),
              rows(v, DType::kF16, bounds[p]), bounds[p + 1] - bounds[p], head_dim, 0.125f,
              scratch.data(), parts.data() + p * slot, 3 * slot, true);
  }
  for (size_t h = 0; h < heads; ++h) {
    const float* first = parts.data() + h * 3 * slot;
    EXPECT_EQ(first[slot + head_dim], -std::numeric_limits<float>::infinity());
    std::vector<float> merged(head_dim);
    MergeParts(first, first + head_dim, first + head_dim + 1, slot, 3, head_dim, merged.data());
    for (size_t i = 0; i < head_dim; ++i) {
      ASSERT_NEAR(merged[i], whole[h * head_dim + i], 1e-6) << "head " << h << " i " << i;
    }
  }
}

TEST(AttentionTypesTest, CacheTypesAreTheFloatTypesAndTheTwo32BlockOnes) {
  for (const core::DTypeTraits& t : core::AllDTypes()) {
    const bool expected = t.dtype == DType::kF32 || t.dtype == DType::kF16 ||
                          t.dtype == DType::kBF16 || t.dtype == DType::kQ8_0 ||
                          t.dtype == DType::kQ4_0;
    EXPECT_EQ(IsAttentionType(t.dtype), expected) << t.name;
  }
}

}  // namespace
}  // namespace smallmind::kernels
