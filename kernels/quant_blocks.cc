#include "kernels/quant_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"

namespace smallmind::kernels {
namespace {

using core::DType;

constexpr size_t kBlock32 = 32;
constexpr size_t kSuper = core::kMaxBlockElements;  // 256

// IQ4_NL's 16 levels (ggml's kvalues_iq4nl): a 4-bit code picks one.
constexpr int8_t kIq4nlLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};

float Half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return core::F16ToF32(h);
}

void PutHalf(uint8_t* p, float x) {
  const uint16_t h = core::F32ToF16(x);
  std::memcpy(p, &h, 2);
}

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The scale and min of every 16 elements of a 32-element block.
void SetBlockScale(UnpackedBlock* out, float scale, float min) {
  out->scale[0] = out->scale[1] = scale;
  out->min[0] = out->min[1] = min;
}

// Nibble bytes of a 32-element block: byte j holds element j (low) and
// element j + 16 (high).
void UnpackNibbles(const uint8_t* qs, int offset, int8_t* v) {
  for (size_t j = 0; j < 16; ++j) {
    v[j] = static_cast<int8_t>((qs[j] & 0xF) - offset);
    v[j + 16] = static_cast<int8_t>((qs[j] >> 4) - offset);
  }
}

// Q4_K's and Q5_K's 12 bytes: eight 6-bit scales and mins.
void KScaleMin(const uint8_t* s, size_t j, int* scale, int* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q3_K's 12 bytes: sixteen 6-bit scales; low 4 bits in the nibbles of
// bytes 0..7, high 2 bits in bytes 8..11.
int Q3KScale(const uint8_t* s, size_t j) {
  const int low = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
  const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

void UnpackQ8_0(const uint8_t* b, UnpackedBlock* out) {
  std::memcpy(out->v, b + 2, kBlock32);
  SetBlockScale(out, Half(b), 0.0f);
}

void UnpackQ4_0(const uint8_t* b, UnpackedBlock* out) {
  UnpackNibbles(b + 2, 8, out->v);
  SetBlockScale(out, Half(b), 0.0f);
}

void UnpackQ4_1(const uint8_t* b, UnpackedBlock* out) {
  UnpackNibbles(b + 4, 0, out->v);
  SetBlockScale(out, Half(b), -Half(b + 2));
}

// Adds Q5_0's and Q5_1's fifth bits (bit j of qh is element j's).
void AddFifthBits(uint32_t qh, int8_t* v) {
  for (size_t j = 0; j < kBlock32; ++j) {
    v[j] = static_cast<int8_t>(v[j] + (((qh >> j) & 1) << 4));
  }
}

void UnpackQ5_0(const uint8_t* b, UnpackedBlock* out) {
  UnpackNibbles(b + 6, 16, out->v);
  AddFifthBits(Load32(b + 2), out->v);
  SetBlockScale(out, Half(b), 0.0f);
}

void UnpackQ5_1(const uint8_t* b, UnpackedBlock* out) {
  UnpackNibbles(b + 8, 0, out->v);
  AddFifthBits(Load32(b + 4), out->v);
  SetBlockScale(out, Half(b), -Half(b + 2));
}

void UnpackIq4Nl(const uint8_t* b, UnpackedBlock* out) {
  for (size_t j = 0; j < 16; ++j) {
    out->v[j] = kIq4nlLevels[b[2 + j] & 0xF];
    out->v[j + 16] = kIq4nlLevels[b[2 + j] >> 4];
  }
  SetBlockScale(out, Half(b), 0.0f);
}

// The K-quants below walk their blocks in halves of 128 elements, each in
// four 32-element quarters of two 16-element sub-blocks: element
// e = 128·half + 32·quarter + 16·part + l.

void UnpackQ2K(const uint8_t* b, UnpackedBlock* out) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = Half(b + 80), dmin = Half(b + 82);
  for (size_t e = 0; e < kSuper; ++e) {
    const size_t half = e / 128, quarter = e % 128 / 32, within = e % 32;
    out->v[e] = static_cast<int8_t>((qs[32 * half + within] >> (2 * quarter)) & 3);
  }
  for (size_t s = 0; s < kSuper / kSubBlock; ++s) {
    out->scale[s] = d * (scales[s] & 0xF);
    out->min[s] = dmin * (scales[s] >> 4);
  }
}

void UnpackQ3K(const uint8_t* b, UnpackedBlock* out) {
  const uint8_t* high = b;
  const uint8_t* qs = b + 32;
  const uint8_t* scales = b + 96;
  const float d = Half(b + 108);
  for (size_t e = 0; e < kSuper; ++e) {
    const size_t half = e / 128, quarter = e % 128 / 32, within = e % 32;
    const int low = (qs[32 * half + within] >> (2 * quarter)) & 3;
    const bool set = (high[within] >> (4 * half + quarter)) & 1;
    out->v[e] = static_cast<int8_t>(low - (set ? 0 : 4));
  }
  for (size_t s = 0; s < kSuper / kSubBlock; ++s) {
    out->scale[s] = d * (Q3KScale(scales, s) - 32);
    out->min[s] = 0.0f;
  }
}

// Q4_K and Q5_K: 64-element chunks, the first 32 from the low nibbles of
// 32 bytes, the next 32 from their high nibbles.
void UnpackQ45K(const uint8_t* b, const uint8_t* fifth, const uint8_t* qs,
                UnpackedBlock* out) {
  const float d = Half(b), dmin = Half(b + 2);
  for (size_t e = 0; e < kSuper; ++e) {
    const size_t chunk = e / 64, upper = e % 64 / 32, l = e % 32;
    int q = (qs[32 * chunk + l] >> (4 * upper)) & 0xF;
    if (fifth != nullptr) q |= ((fifth[l] >> (2 * chunk + upper)) & 1) << 4;
    out->v[e] = static_cast<int8_t>(q);
  }
  for (size_t j = 0; j < kSuper / kBlock32; ++j) {
    int scale, min;
    KScaleMin(b + 4, j, &scale, &min);
    for (size_t part = 0; part < 2; ++part) {
      out->scale[2 * j + part] = d * scale;
      out->min[2 * j + part] = dmin * min;
    }
  }
}

void UnpackQ4K(const uint8_t* b, UnpackedBlock* out) { UnpackQ45K(b, nullptr, b + 16, out); }
void UnpackQ5K(const uint8_t* b, UnpackedBlock* out) { UnpackQ45K(b, b + 16, b + 48, out); }

void UnpackQ6K(const uint8_t* b, UnpackedBlock* out) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = Half(b + 208);
  for (size_t e = 0; e < kSuper; ++e) {
    const size_t half = e / 128, quarter = e % 128 / 32, l = e % 32;
    const int low = (ql[64 * half + 32 * (quarter % 2) + l] >> (4 * (quarter / 2))) & 0xF;
    const int high = (qh[32 * half + l] >> (2 * quarter)) & 3;
    out->v[e] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
  for (size_t s = 0; s < kSuper / kSubBlock; ++s) {
    out->scale[s] = d * scales[s];
    out->min[s] = 0.0f;
  }
}

// ---- quantizers ------------------------------------------------------------

// Round to nearest even; NaN gives 0 and huge values saturate (the caller
// clamps), so hostile weights cannot reach an out-of-range conversion.
int Nearest(float x) {
  if (!(std::fabs(x) < 1e9f)) return std::isnan(x) ? 0 : (x > 0 ? 1 << 30 : -(1 << 30));
  return static_cast<int>(std::nearbyint(x));
}
int Clamp(int x, int lo, int hi) { return std::min(hi, std::max(lo, x)); }

// The element of largest magnitude (with its sign).
float SignedAbsMax(const float* x, size_t n) {
  float max = 0.0f, amax = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

// q = nearest((x + min) / scale) within [0, levels - 1]; 0 for a zero scale.
int Level(float x, float scale, float min, int levels) {
  if (scale == 0.0f) return 0;
  return Clamp(Nearest((x + min) / scale), 0, levels - 1);
}

// Asymmetric 32-element blocks (Q4_1, Q5_1): d = (max − min) / levels,
// m = min; returns the codes.
void QuantizeMinMax(const float* x, int levels, uint8_t* d_and_m, int* q) {
  const float lo = *std::min_element(x, x + kBlock32);
  const float hi = *std::max_element(x, x + kBlock32);
  const float d = (hi - lo) / (levels - 1);
  PutHalf(d_and_m, d);
  PutHalf(d_and_m + 2, lo);
  const float d16 = Half(d_and_m), m16 = Half(d_and_m + 2);
  for (size_t j = 0; j < kBlock32; ++j) q[j] = Level(x[j], d16, -m16, levels);
}

void PackNibbles(const int* q, uint8_t* qs) {
  for (size_t j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
  }
}

uint32_t FifthBits(const int* q) {
  uint32_t qh = 0;
  for (size_t j = 0; j < kBlock32; ++j) qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  return qh;
}

void QuantizeQ4_1(const float* x, uint8_t* b) {
  int q[kBlock32];
  QuantizeMinMax(x, 16, b, q);
  PackNibbles(q, b + 4);
}

void QuantizeQ5_1(const float* x, uint8_t* b) {
  int q[kBlock32];
  QuantizeMinMax(x, 32, b, q);
  const uint32_t qh = FifthBits(q);
  std::memcpy(b + 4, &qh, 4);
  PackNibbles(q, b + 8);
}

void QuantizeQ5_0(const float* x, uint8_t* b) {
  PutHalf(b, SignedAbsMax(x, kBlock32) / -16.0f);
  const float d = Half(b);
  int q[kBlock32];
  for (size_t j = 0; j < kBlock32; ++j) {
    q[j] = d == 0.0f ? 16 : Clamp(Nearest(x[j] / d) + 16, 0, 31);
  }
  const uint32_t qh = FifthBits(q);
  std::memcpy(b + 2, &qh, 4);
  PackNibbles(q, b + 6);
}

int NearestLevel(float x) {
  int best = 0;
  for (int i = 1; i < 16; ++i) {
    if (std::fabs(x - kIq4nlLevels[i]) < std::fabs(x - kIq4nlLevels[best])) best = i;
  }
  return best;
}

// IQ4_NL: the largest element on the end level, then d refitted by least
// squares to the chosen levels.
void QuantizeIq4Nl(const float* x, uint8_t* b) {
  float d = SignedAbsMax(x, kBlock32) / kIq4nlLevels[0];
  int q[kBlock32];
  for (size_t j = 0; j < kBlock32; ++j) q[j] = d == 0.0f ? 8 : NearestLevel(x[j] / d);
  double xl = 0, ll = 0;
  for (size_t j = 0; j < kBlock32; ++j) {
    xl += double{x[j]} * kIq4nlLevels[q[j]];
    ll += static_cast<double>(kIq4nlLevels[q[j]]) * kIq4nlLevels[q[j]];
  }
  if (ll > 0) d = static_cast<float>(xl / ll);
  PutHalf(b, d);
  const float d16 = Half(b);
  for (size_t j = 0; j < kBlock32; ++j) q[j] = d16 == 0.0f ? 8 : NearestLevel(x[j] / d16);
  PackNibbles(q, b + 2);
}

// The K-quants' two-level scales: per sub-block of `sub` elements a scale
// (and, with `levels_min`, a min) quantized to `scale_bits` against the
// block's d (and dmin).
struct SubScales {
  float scale[kSuper / kSubBlock];
  float min[kSuper / kSubBlock];  // ≥ 0: subtracted
};

SubScales MinMaxScales(const float* x, size_t sub, int levels) {
  SubScales s;
  for (size_t i = 0; i < kSuper / sub; ++i) {
    const float lo = std::min(0.0f, *std::min_element(x + i * sub, x + (i + 1) * sub));
    const float hi = *std::max_element(x + i * sub, x + (i + 1) * sub);
    s.scale[i] = (hi - lo) / (levels - 1);
    s.min[i] = -lo;
  }
  return s;
}

// Quantizes sub-block scales (or mins) to integers in [0, max_code] against
// d = max / max_code; returns d as stored (f16).
float QuantizeScales(const float* values, size_t count, int max_code, int* codes,
                     uint8_t* d_out) {
  const float max = *std::max_element(values, values + count);
  PutHalf(d_out, max / max_code);
  const float d = Half(d_out);
  for (size_t i = 0; i < count; ++i) {
    codes[i] = d > 0.0f ? Clamp(Nearest(values[i] / d), 0, max_code) : 0;
  }
  return d;
}

// Q4_K and Q5_K (fifth != null): eight 32-element sub-blocks.
void QuantizeQ45K(const float* x, int levels, uint8_t* b, uint8_t* fifth, uint8_t* qs) {
  const SubScales s = MinMaxScales(x, kBlock32, levels);
  int sc[8], mn[8];
  const float d = QuantizeScales(s.scale, 8, 63, sc, b);
  const float dmin = QuantizeScales(s.min, 8, 63, mn, b + 2);
  uint8_t* packed = b + 4;
  for (size_t j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    packed[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    packed[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
  }
  std::memset(qs, 0, 128);
  if (fifth != nullptr) std::memset(fifth, 0, 32);
  for (size_t e = 0; e < kSuper; ++e) {
    const size_t j = e / 32, chunk = e / 64, upper = e % 64 / 32, l = e % 32;
    const int q = Level(x[e], d * sc[j], dmin * mn[j], levels);
    qs[32 * chunk + l] |= static_cast<uint8_t>((q & 0xF) << (4 * upper));
    if (fifth != nullptr) fifth[l] |= static_cast<uint8_t>(((q >> 4) & 1) << (2 * chunk + upper));
  }
}

void QuantizeQ4K(const float* x, uint8_t* b) { QuantizeQ45K(x, 16, b, nullptr, b + 16); }
void QuantizeQ5K(const float* x, uint8_t* b) { QuantizeQ45K(x, 32, b, b + 16, b + 48); }

void QuantizeQ2K(const float* x, uint8_t* b) {
  const SubScales s = MinMaxScales(x, kSubBlock, 4);
  int sc[16], mn[16];
  const float d = QuantizeScales(s.scale, 16, 15, sc, b + 80);
  const float dmin = QuantizeScales(s.min, 16, 15, mn, b + 82);
  for (size_t i = 0; i < 16; ++i) b[i] = static_cast<uint8_t>(sc[i] | (mn[i] << 4));
  uint8_t* qs = b + 16;
  std::memset(qs, 0, 64);
  for (size_t e = 0; e < kSuper; ++e) {
    const size_t half = e / 128, quarter = e % 128 / 32, within = e % 32, sub = e / 16;
    const int q = Level(x[e], d * sc[sub], dmin * mn[sub], 4);
    qs[32 * half + within] |= static_cast<uint8_t>(q << (2 * quarter));
  }
}

// Symmetric sub-block scales (Q3_K, Q6_K): each sub-block's largest
// element lands on the end level `-low`; the scales are then int codes in
// [-max_code, max_code] against d.
float SymmetricScales(const float* x, int low, int max_code, int* codes, uint8_t* d_out) {
  float scales[16];
  float amax = 0.0f;
  for (size_t i = 0; i < 16; ++i) {
    scales[i] = SignedAbsMax(x + i * kSubBlock, kSubBlock) / -low;
    amax = std::max(amax, std::fabs(scales[i]));
  }
  PutHalf(d_out, amax / max_code);
  const float d = Half(d_out);
  for (size_t i = 0; i < 16; ++i) {
    codes[i] = d > 0.0f ? Clamp(Nearest(scales[i] / d), -max_code - 1, max_code) : 0;
  }
  return d;
}

void QuantizeQ3K(const float* x, uint8_t* b) {
  int sc[16];
  const float d = SymmetricScales(x, 4, 31, sc, b + 108);
  uint8_t* high = b;
  uint8_t* qs = b + 32;
  uint8_t* scales = b + 96;
  std::memset(b, 0, 108);
  for (size_t j = 0; j < 16; ++j) {
    const int code = sc[j] + 32;
    scales[j % 8] |= static_cast<uint8_t>((code & 0xF) << (j < 8 ? 0 : 4));
    scales[8 + j % 4] |= static_cast<uint8_t>((code >> 4) << (2 * (j / 4)));
  }
  for (size_t e = 0; e < kSuper; ++e) {
    const size_t half = e / 128, quarter = e % 128 / 32, within = e % 32;
    const float scale = d * sc[e / 16];
    const int q = scale == 0.0f ? 4 : Clamp(Nearest(x[e] / scale) + 4, 0, 7);
    qs[32 * half + within] |= static_cast<uint8_t>((q & 3) << (2 * quarter));
    high[within] |= static_cast<uint8_t>((q >> 2) << (4 * half + quarter));
  }
}

void QuantizeQ6K(const float* x, uint8_t* b) {
  int sc[16];
  const float d = SymmetricScales(x, 32, 127, sc, b + 208);
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  std::memset(b, 0, 208);
  for (size_t i = 0; i < 16; ++i) b[192 + i] = static_cast<uint8_t>(static_cast<int8_t>(sc[i]));
  for (size_t e = 0; e < kSuper; ++e) {
    const size_t half = e / 128, quarter = e % 128 / 32, l = e % 32;
    const float scale = d * sc[e / 16];
    const int q = scale == 0.0f ? 32 : Clamp(Nearest(x[e] / scale) + 32, 0, 63);
    ql[64 * half + 32 * (quarter % 2) + l] |=
        static_cast<uint8_t>((q & 0xF) << (4 * (quarter / 2)));
    qh[32 * half + l] |= static_cast<uint8_t>((q >> 4) << (2 * quarter));
  }
}

struct BlockCodec {
  void (*unpack)(const uint8_t* block, UnpackedBlock* out);
  void (*quantize)(const float* x, uint8_t* block);
};

// In core::DType order; the float types have none, and Q8_0's and Q4_0's
// quantizers are convert.h's.
constexpr BlockCodec kBlockCodecs[] = {
    {nullptr, nullptr},        {nullptr, nullptr},     {nullptr, nullptr},
    {UnpackQ8_0, nullptr},     {UnpackQ4_0, nullptr},  {UnpackQ4_1, QuantizeQ4_1},
    {UnpackQ5_0, QuantizeQ5_0}, {UnpackQ5_1, QuantizeQ5_1}, {UnpackIq4Nl, QuantizeIq4Nl},
    {UnpackQ2K, QuantizeQ2K},  {UnpackQ3K, QuantizeQ3K}, {UnpackQ4K, QuantizeQ4K},
    {UnpackQ5K, QuantizeQ5K},  {UnpackQ6K, QuantizeQ6K},
};
static_assert(std::size(kBlockCodecs) == core::kNumDTypes, "one entry per DType");

const BlockCodec& CodecOf(DType dtype) { return kBlockCodecs[static_cast<size_t>(dtype)]; }

}  // namespace

void UnpackBlock(DType dtype, const uint8_t* block, UnpackedBlock* out) {
  CodecOf(dtype).unpack(block, out);
}

void DecodeQuantBlocks(DType dtype, const void* src, float* dst, size_t n) {
  const size_t elements = core::BlockElements(dtype), bytes = core::BlockBytes(dtype);
  UnpackedBlock u;
  for (size_t b = 0; b < n / elements; ++b) {
    UnpackBlock(dtype, static_cast<const uint8_t*>(src) + b * bytes, &u);
    float* y = dst + b * elements;
    for (size_t e = 0; e < elements; ++e) {
      y[e] = u.scale[e / kSubBlock] * u.v[e] - u.min[e / kSubBlock];
    }
  }
}

void EncodeQuantBlocks(DType dtype, const float* src, void* dst, size_t n) {
  const size_t elements = core::BlockElements(dtype), bytes = core::BlockBytes(dtype);
  for (size_t b = 0; b < n / elements; ++b) {
    CodecOf(dtype).quantize(src + b * elements, static_cast<uint8_t*>(dst) + b * bytes);
  }
}

}  // namespace smallmind::kernels
