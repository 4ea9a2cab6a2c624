#include "kernels/convert.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

class ConvertTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(ConvertTest);

// The sweep's sizes rounded up to whole blocks of `dtype`.
std::vector<size_t> SizesFor(core::DType dtype) {
  const size_t block = core::BlockElements(dtype);
  std::vector<size_t> sizes;
  for (size_t n : kTestSizes) sizes.push_back((n + block - 1) / block * block);
  return sizes;
}

// Inputs with a zero block, a block with one huge outlier, and ties at .5
// steps, besides random values.
std::vector<float> Input(size_t n, uint32_t seed) {
  std::vector<float> x = RandomFloats(n, seed, -3.0f, 3.0f);
  if (n >= 64) {
    for (size_t i = 0; i < 32; ++i) x[i] = 0.0f;
    x[40] = 1000.0f;
  }
  if (n >= 96) {
    for (size_t i = 64; i < 96; ++i) x[i] = 0.5f * float(int(i) - 80);
  }
  return x;
}

size_t Bytes(core::DType dtype, size_t n) { return *core::BytesFor(dtype, n); }

// Encoding is the same float operations as the reference, so every dtype's
// bytes must match exactly; decoding must match bit for bit.
TEST_P(ConvertTest, EveryDTypeMatchesTheReference) {
  for (const core::DTypeTraits& t : core::AllDTypes()) {
    for (size_t n : SizesFor(t.dtype)) {
      const std::vector<float> x = Input(n, 61 + static_cast<int>(t.dtype));
      std::vector<uint8_t> got(Bytes(t.dtype, n)), expected(got.size());
      EncodeRow(t.dtype, x.data(), got.data(), n);
      reference::EncodeRow(t.dtype, x.data(), expected.data(), n);
      ASSERT_EQ(got, expected) << t.name << " n=" << n;
      std::vector<float> back(n), back_ref(n);
      DecodeRow(t.dtype, got.data(), back.data(), n);
      reference::DecodeRow(t.dtype, got.data(), back_ref.data(), n);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(core::FloatBits(back[i]), core::FloatBits(back_ref[i]))
            << t.name << " n=" << n << " i=" << i;
      }
    }
  }
}

// Round trips: the error per element is at most half a quantization step
// (Q8_0: d/2 = max/254; Q4_0: up to one step d = max/8, where +7.5..8 clips
// to 15), plus the f16 rounding of d (relative 2^-11) times |x| ≤ max; the
// 16-bit floats round once (F16 2^-11, BF16 2^-8 relative).
TEST_P(ConvertTest, RoundTripsWithinHalfAStep) {
  const double max = 2.0, f16 = max / 2048;
  // The other quantized types: as quant_blocks_test's bounds, scaled to
  // the range [-2, 2].
  const double tolerance[] = {0.0,
                              f16,
                              max / 256,
                              max / 254 + f16,
                              max / 8 + f16,
                              2 * max / 15 * 0.6,
                              max / 16 * 1.1,
                              2 * max / 31 * 0.6,
                              max * 0.15,
                              2 * max / 3 * 0.75,
                              max / 4 * 1.2,
                              2 * max / 15 * 0.75,
                              2 * max / 31 * 0.75,
                              max / 32 * 1.2};
  static_assert(std::size(tolerance) == core::kNumDTypes, "one per DType");
  for (const core::DTypeTraits& t : core::AllDTypes()) {
    for (size_t n : SizesFor(t.dtype)) {
      const std::vector<float> x = RandomFloats(n, 63, -max, max);
      std::vector<uint8_t> encoded(Bytes(t.dtype, n));
      EncodeRow(t.dtype, x.data(), encoded.data(), n);
      std::vector<float> y(n);
      DecodeRow(t.dtype, encoded.data(), y.data(), n);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_NEAR(y[i], x[i], tolerance[static_cast<size_t>(t.dtype)]) << t.name;
      }
    }
  }
}

// Random bit patterns (all exponents, subnormals, inf, NaN) through the
// 16-bit float codecs, and every F16 value back, bit for bit.
TEST_P(ConvertTest, HalfFloatsMatchScalarBitForBit) {
  std::mt19937 rng(5);
  std::vector<float> in(100003);
  for (float& x : in) x = core::BitsToFloat(rng());
  for (core::DType dtype : {core::DType::kF16, core::DType::kBF16}) {
    std::vector<uint16_t> got(in.size()), expected(in.size());
    EncodeRow(dtype, in.data(), got.data(), in.size());
    reference::EncodeRow(dtype, in.data(), expected.data(), in.size());
    ASSERT_EQ(got, expected) << core::DTypeName(dtype);
  }
  std::vector<uint16_t> all(65536);
  for (uint32_t h = 0; h < 65536; ++h) all[h] = static_cast<uint16_t>(h);
  std::vector<float> back(all.size());
  DecodeRow(core::DType::kF16, all.data(), back.data(), all.size());
  for (uint32_t h = 0; h < 65536; ++h) {
    ASSERT_EQ(core::FloatBits(back[h]), core::FloatBits(core::F16ToF32(all[h])))
        << "h=" << h;
  }
}

TEST_P(ConvertTest, HalfFloatsKeepSpecialValues) {
  const float in[] = {std::numeric_limits<float>::quiet_NaN(),
                      std::numeric_limits<float>::infinity(), -0.0f, 65520.0f,
                      1e-8f};
  uint16_t h[5], b[5];
  float back[5];
  EncodeRow(core::DType::kF16, in, h, 5);
  DecodeRow(core::DType::kF16, h, back, 5);
  EXPECT_TRUE(std::isnan(back[0]));
  EXPECT_TRUE(std::isinf(back[1]));
  EXPECT_TRUE(std::signbit(back[2]));
  EXPECT_TRUE(std::isinf(back[3]));
  EXPECT_EQ(h[4], 0x0000);  // below half the smallest subnormal
  EncodeRow(core::DType::kBF16, in, b, 5);
  DecodeRow(core::DType::kBF16, b, back, 5);
  EXPECT_TRUE(std::isnan(back[0]));
  EXPECT_TRUE(std::isinf(back[1]));
}

}  // namespace
}  // namespace smallmind::kernels
