#include "kernels/quant_blocks.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/dtype.h"
#include "core/file_util.h"
#include "gtest/gtest.h"

namespace smallmind::kernels {
namespace {

struct Vector {
  core::DType dtype;
  std::vector<uint8_t> block;
  std::vector<float> values;
};

// testdata/gguf_py_blocks.txt: blocks and their values as llama.cpp's
// gguf-py dequantizes them (make_gguf_py_blocks.py).
std::vector<Vector> LoadVectors() {
  absl::StatusOr<std::string> text = core::ReadFileToString("kernels/testdata/gguf_py_blocks.txt");
  EXPECT_TRUE(text.ok()) << text.status();
  std::vector<Vector> out;
  for (absl::string_view line : absl::StrSplit(text.value_or(""), '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    Vector v;
    v.dtype = *core::DTypeFromName(fields[0]);
    for (size_t i = 0; i + 1 < fields[1].size(); i += 2) {
      uint32_t byte;
      EXPECT_TRUE(absl::SimpleHexAtoi(fields[1].substr(i, 2), &byte));
      v.block.push_back(static_cast<uint8_t>(byte));
    }
    for (size_t i = 2; i < fields.size(); ++i) {
      uint32_t bits;
      EXPECT_TRUE(absl::SimpleHexAtoi(fields[i], &bits));
      float x;
      std::memcpy(&x, &bits, 4);
      v.values.push_back(x);
    }
    out.push_back(std::move(v));
  }
  return out;
}

TEST(QuantBlocksTest, DecodesAsGgufPyDoes) {
  const std::vector<Vector> vectors = LoadVectors();
  ASSERT_EQ(vectors.size(), 11u * 6u);
  for (const Vector& v : vectors) {
    ASSERT_EQ(v.block.size(), core::BlockBytes(v.dtype)) << core::DTypeName(v.dtype);
    ASSERT_EQ(v.values.size(), core::BlockElements(v.dtype));
    std::vector<float> got(v.values.size());
    DecodeQuantBlocks(v.dtype, v.block.data(), got.data(), got.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], v.values[i]) << core::DTypeName(v.dtype) << " element " << i;
    }
  }
}

// Quantizing and decoding random rows stays within each type's step: per
// sub-block, a fraction of the range the type's levels span (min/max
// types) or of its largest magnitude (symmetric types), from the step
// itself, clipping at the short end of a symmetric range, and the rounding
// of the scales to their codes (IQ4_NL's least-squares scale trades the
// extremes for the bulk).
TEST(QuantBlocksTest, RoundTripsWithinTheStep) {
  struct Case {
    core::DType dtype;
    double tolerance;  // for values in [-1, 1]
  };
  const Case cases[] = {
      {core::DType::kQ4_1, 2.0 / 15 * 0.6},  {core::DType::kQ5_0, 1.0 / 16 * 1.1},
      {core::DType::kQ5_1, 2.0 / 31 * 0.6},  {core::DType::kIQ4_NL, 0.15},
      {core::DType::kQ2_K, 2.0 / 3 * 0.75},  {core::DType::kQ3_K, 1.0 / 4 * 1.2},
      {core::DType::kQ4_K, 2.0 / 15 * 0.75}, {core::DType::kQ5_K, 2.0 / 31 * 0.75},
      {core::DType::kQ6_K, 1.0 / 32 * 1.2},
  };
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Case& c : cases) {
    const size_t n = 4 * core::kMaxBlockElements;
    std::vector<float> x(n);
    for (float& v : x) v = dist(rng);
    std::vector<uint8_t> encoded(*core::BytesFor(c.dtype, n));
    EncodeQuantBlocks(c.dtype, x.data(), encoded.data(), n);
    std::vector<float> y(n);
    DecodeQuantBlocks(c.dtype, encoded.data(), y.data(), n);
    double worst = 0, total = 0;
    for (size_t i = 0; i < n; ++i) {
      worst = std::max(worst, std::fabs(double{y[i]} - x[i]));
      total += std::fabs(double{y[i]} - x[i]);
    }
    EXPECT_LE(worst, c.tolerance) << core::DTypeName(c.dtype);
    // And the typical error is well inside it (the levels are used).
    EXPECT_LE(total / n, c.tolerance / 2) << core::DTypeName(c.dtype);
  }
}

// Zero rows stay zero; NaN, infinities and huge values quantize to
// something (no undefined conversions: this runs under UBSan too).
TEST(QuantBlocksTest, ZerosAndNonFiniteInputs) {
  for (core::DType dtype :
       {core::DType::kQ4_1, core::DType::kQ5_0, core::DType::kQ5_1, core::DType::kIQ4_NL,
        core::DType::kQ2_K, core::DType::kQ3_K, core::DType::kQ4_K, core::DType::kQ5_K,
        core::DType::kQ6_K}) {
    const size_t n = core::kMaxBlockElements;
    std::vector<float> zeros(n, 0.0f), y(n, 1.0f);
    std::vector<uint8_t> encoded(*core::BytesFor(dtype, n));
    EncodeQuantBlocks(dtype, zeros.data(), encoded.data(), n);
    DecodeQuantBlocks(dtype, encoded.data(), y.data(), n);
    for (float v : y) ASSERT_EQ(v, 0.0f) << core::DTypeName(dtype);
    std::vector<float> bad(n, 1.0f);
    bad[3] = std::numeric_limits<float>::quiet_NaN();
    bad[40] = std::numeric_limits<float>::infinity();
    bad[77] = -3e38f;
    EncodeQuantBlocks(dtype, bad.data(), encoded.data(), n);
    DecodeQuantBlocks(dtype, encoded.data(), y.data(), n);
  }
}

}  // namespace
}  // namespace smallmind::kernels
