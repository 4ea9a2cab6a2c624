// Scalar F16 <-> F32 and BF16 <-> F32 conversion: round to nearest even,
// NaN stays NaN, overflow becomes infinity. Whole rows are converted by the
// SIMD kernels in kernels/elementwise.h; these are the scalar definitions.
#ifndef SMALLMIND_CORE_HALF_H_
#define SMALLMIND_CORE_HALF_H_

#include <cstdint>
#include <cstring>

namespace smallmind::core {

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

inline float BitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

inline float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) {  // inf / NaN; keep the payload so NaN stays NaN
    return BitsToFloat(sign | 0x7F800000u | (mant << 13));
  }
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in f32.
    const float magnitude = static_cast<float>(mant) * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
  }
  return BitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

inline uint16_t F32ToF16(float f) {
  const uint32_t u = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) {  // NaN: quiet, keep top payload bits
    return sign | 0x7E00u | static_cast<uint16_t>((abs >> 13) & 0x1FFu);
  }
  if (abs >= 0x477FF000u) {  // rounds to >= 65520: infinity
    return sign | 0x7C00u;
  }
  if (abs < 0x38800000u) {  // below the smallest normal f16 (2^-14)
    // Subnormal or zero: scale to units of 2^-24 and round to nearest even.
    // Adding 0.5 (as 2^-1 in the float) lets the FPU do the rounding.
    const float scaled = BitsToFloat(abs) + 0.5f;
    return sign | static_cast<uint16_t>(FloatBits(scaled) - 0x3F000000u);
  }
  // Normal: rebias the exponent, round the 13 dropped bits to nearest even.
  const uint32_t odd = (abs >> 13) & 1u;
  const uint32_t rounded = abs + 0xFFFu + odd;
  return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
}

inline float BF16ToF32(uint16_t b) {
  return BitsToFloat(static_cast<uint32_t>(b) << 16);
}

inline uint16_t F32ToBF16(float f) {
  const uint32_t u = FloatBits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN: set the quiet bit
    return static_cast<uint16_t>((u >> 16) | 0x0040u);
  }
  const uint32_t odd = (u >> 16) & 1u;
  return static_cast<uint16_t>((u + 0x7FFFu + odd) >> 16);
}

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_HALF_H_
