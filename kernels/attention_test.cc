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

Stored Store(DType dtype, size_t positions, size_t head_dim, uint64_t seed) {
  const size_t row_bytes = *core::BytesFor(dtype, head_dim);
  Stored s{{}, std::vector<float>(positions * head_dim), row_bytes * 3 + 2};
  s.bytes.resize(positions * s.stride + kOffset);
  const std::vector<float> x = RandomFloats(positions * head_dim, seed);
  for (size_t p = 0; p < positions; ++p) {
    uint8_t* row = s.bytes.data() + kOffset + p * s.stride;
    EncodeRow(dtype, x.data() + p * head_dim, row, head_dim);
    DecodeRow(dtype, row, s.decoded.data() + p * head_dim, head_dim);
  }
  return s;
}

// Against a double-precision softmax(q·K·scale)·V over the values the
// stored rows stand for; outputs are convex combinations of values in
// [-1, 1], so a few 1e-6 absolute cover float rounding of the dots (a
// block type sums each block before scaling it), the exp and the sums.
void CheckAgainstReference(DType key_type, DType value_type, size_t head_dim,
                           size_t positions) {
  SCOPED_TRACE(testing::Message() << core::DTypeName(key_type) << "/"
                                  << core::DTypeName(value_type) << " head_dim " << head_dim
                                  << " positions " << positions);
  const std::vector<float> q = RandomFloats(head_dim, 41);
  const Stored k = Store(key_type, positions, head_dim, 42);
  const Stored v = Store(value_type, positions, head_dim, 43);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  std::vector<float> scores(positions), out(head_dim);
  AttendHead(q.data(), {k.bytes.data() + kOffset, key_type, k.stride},
             {v.bytes.data() + kOffset, value_type, v.stride}, positions, head_dim, scale,
             scores.data(), out.data());
  std::vector<float> logits(positions);
  for (size_t p = 0; p < positions; ++p) {
    logits[p] = static_cast<float>(
        reference::Dot(q.data(), k.decoded.data() + p * head_dim, head_dim) * scale);
  }
  const std::vector<double> probs = reference::Softmax(logits.data(), positions);
  for (size_t i = 0; i < head_dim; ++i) {
    double expected = 0;
    for (size_t p = 0; p < positions; ++p) expected += probs[p] * v.decoded[p * head_dim + i];
    ASSERT_NEAR(out[i], expected, 4e-6) << "i " << i;
  }
  for (size_t p = 0; p < positions; ++p) ASSERT_NEAR(scores[p], probs[p], 2e-6) << "p " << p;
}

TEST_P(AttentionTest, F32MatchesReference) {
  for (size_t head_dim : {1, 7, 16, 33, 48, 64, 128}) {
    for (size_t positions : {1, 2, 7, 17, 64, 300}) {
      CheckAgainstReference(DType::kF32, DType::kF32, head_dim, positions);
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
          CheckAgainstReference(key_type, value_type, head_dim, positions);
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST_P(AttentionTest, OnePositionReturnsItsValue) {
  const float q[3] = {1, 2, 3}, k[3] = {4, 5, 6}, v[3] = {0.5f, -2, 7};
  float scores[1], out[3];
  AttendHead(q, {k, DType::kF32, sizeof(k)}, {v, DType::kF32, sizeof(v)}, 1, 3, 1.0f, scores,
             out);
  EXPECT_EQ(scores[0], 1.0f);
  EXPECT_EQ(out[0], 0.5f);
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
  const Stored k = Store(key_type, positions, head_dim, 52);
  const Stored v = Store(value_type, positions, head_dim, 53);
  const size_t q_stride = heads * head_dim + 3;
  const std::vector<float> q = RandomFloats(rows * q_stride, 51);
  std::vector<float> out(rows * q_stride, -7.0f);
  std::vector<float> scratch(AttendBlockScratch(rows * heads, head_dim));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  AttendBlock({q.data(), out.data(), q_stride, q_stride, rows, heads, first_position, keys},
              {k.bytes.data() + kOffset, key_type, k.stride},
              {v.bytes.data() + kOffset, value_type, v.stride},
              head_dim, scale, window, scratch.data());
  for (size_t r = 0; r < rows; ++r) {
    // Bidirectional rows see [0, keys), as if at the last position.
    const int64_t pos = keys > 0 ? keys - 1 : first_position + static_cast<int64_t>(r);
    const size_t from = static_cast<size_t>(
        window > 0 && keys == 0 ? std::max<int64_t>(0, pos + 1 - window) : 0);
    const size_t n = static_cast<size_t>(pos) + 1 - from;
    for (size_t h = 0; h < heads; ++h) {
      const float* qh = q.data() + r * q_stride + h * head_dim;
      std::vector<float> logits(n);
      for (size_t p = 0; p < n; ++p) {
        logits[p] = static_cast<float>(
            reference::Dot(qh, k.decoded.data() + (from + p) * head_dim, head_dim) * scale);
      }
      const std::vector<double> probs = reference::Softmax(logits.data(), n);
      for (size_t i = 0; i < head_dim; ++i) {
        double expected = 0;
        for (size_t p = 0; p < n; ++p) expected += probs[p] * v.decoded[(from + p) * head_dim + i];
        ASSERT_NEAR(out[r * q_stride + h * head_dim + i], expected, 4e-6)
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

// A long context cut in parts (flash-decoding) and merged gives what one
// call over all of it gives, an empty part included.
TEST_P(AttentionTest, PartsMergeToTheWhole) {
  const size_t head_dim = 64, positions = 301;
  const Stored k = Store(DType::kF16, positions, head_dim, 62);
  const Stored v = Store(DType::kQ8_0, positions, head_dim, 63);
  const std::vector<float> q = RandomFloats(head_dim, 61);
  std::vector<float> scores(positions), whole(head_dim), merged(head_dim);
  const auto rows = [&](const Stored& s, DType dtype, size_t from) {
    return StoredRows{s.bytes.data() + kOffset + from * s.stride, dtype, s.stride};
  };
  AttendHead(q.data(), rows(k, DType::kF16, 0), rows(v, DType::kQ8_0, 0), positions, head_dim,
             0.125f, scores.data(), whole.data());
  // Parts [0, 100), [100, 100), [100, 301); each keeps [sums][max][sum].
  const size_t bounds[] = {0, 100, 100, positions};
  const size_t part_floats = head_dim + 2;
  std::vector<float> parts(3 * part_floats);
  for (int p = 0; p < 3; ++p) {
    float* part = parts.data() + p * part_floats;
    AttendHeadPart(q.data(), rows(k, DType::kF16, bounds[p]), rows(v, DType::kQ8_0, bounds[p]),
                   bounds[p + 1] - bounds[p], head_dim, 0.125f, scores.data(), part,
                   part + head_dim, part + head_dim + 1);
  }
  EXPECT_EQ(parts[part_floats + head_dim], -std::numeric_limits<float>::infinity());
  MergeParts(parts.data(), parts.data() + head_dim, parts.data() + head_dim + 1, part_floats, 3,
             head_dim, merged.data());
  for (size_t i = 0; i < head_dim; ++i) ASSERT_NEAR(merged[i], whole[i], 1e-6) << "i " << i;
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
