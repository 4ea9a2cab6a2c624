#include "core/half.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

// GCC's _Float16 converts with IEEE round-to-nearest-even in software: an
// independent reference for F32ToF16.
uint16_t ReferenceF16(float f) {
  const _Float16 h = static_cast<_Float16>(f);
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof(bits));
  return bits;
}

// Round-to-nearest-even of the low 16 bits, computed with doubles.
uint16_t ReferenceBF16(float f) {
  const uint32_t u = FloatBits(f);
  const float truncated = BitsToFloat(u & 0xFFFF0000u);
  const float next = BitsToFloat((u & 0xFFFF0000u) + 0x10000u);
  const double below = std::fabs(double(f) - double(truncated));
  const double above = std::fabs(double(next) - double(f));
  const uint16_t lo = static_cast<uint16_t>(u >> 16);
  if (below < above) return lo;
  if (above < below) return lo + 1;
  return (lo & 1) ? lo + 1 : lo;
}

TEST(HalfTest, F16RoundTripsEveryNonNanValue) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    const float f = F16ToF32(bits);
    if (std::isnan(f)) {
      EXPECT_EQ(bits & 0x7C00, 0x7C00);
      EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(f))));
      continue;
    }
    EXPECT_EQ(F32ToF16(f), bits) << "h=" << h;
    _Float16 reference;
    std::memcpy(&reference, &bits, sizeof(bits));
    EXPECT_EQ(FloatBits(static_cast<float>(reference)), FloatBits(f))
        << "h=" << h;
  }
}

TEST(HalfTest, F32ToF16MatchesReferenceOnRandomBits) {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000000; ++i) {
    const float f = BitsToFloat(rng());
    if (std::isnan(f)) continue;
    ASSERT_EQ(F32ToF16(f), ReferenceF16(f)) << "f=" << f;
  }
}

TEST(HalfTest, F16RoundsTiesToEven) {
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to even (1).
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  // 1 + 3·2^-11 is halfway between odd 1+2^-10 and even 1+2^-9.
  EXPECT_EQ(F32ToF16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);  // ties to even overflow to inf
  EXPECT_EQ(F32ToF16(1e10f), 0x7C00);
  EXPECT_EQ(F32ToF16(-1e10f), 0xFC00);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -25)), 0x0000);  // tie to even zero
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
}

TEST(HalfTest, NanStaysNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(nan))));
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(nan))));
  // A signalling NaN whose payload sits only in the dropped low bits.
  const float low_payload_nan = BitsToFloat(0x7F800001u);
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(low_payload_nan))));
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(low_payload_nan))));
  EXPECT_TRUE(std::isinf(F16ToF32(F32ToF16(
      std::numeric_limits<float>::infinity()))));
}

TEST(HalfTest, BF16MatchesReferenceOnRandomBits) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000000; ++i) {
    const float f = BitsToFloat(rng());
    // The reference's `next` would overflow to inf near FLT_MAX.
    if (std::isnan(f) || std::fabs(f) > 3e38f) continue;
    const uint16_t expected = ReferenceBF16(f);
    ASSERT_EQ(F32ToBF16(f), expected) << "f=" << f;
  }
}

TEST(HalfTest, BF16RoundTripsEveryNonNanValue) {
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    const float f = BF16ToF32(static_cast<uint16_t>(b));
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToBF16(f), b);
  }
}

}  // namespace
}  // namespace smallmind::core
