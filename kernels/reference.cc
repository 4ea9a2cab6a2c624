#include "kernels/reference.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/half.h"
#include "kernels/quant_blocks.h"

namespace smallmind::kernels::reference {

using core::BlockQ4_0;
using core::BlockQ8_0;
using core::kQuantBlock;

double GeluTanh(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

double GeluErf(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

double Silu(double x) { return x / (1.0 + std::exp(-x)); }

std::vector<double> Softmax(const float* x, size_t n) {
  std::vector<double> y(n, 0.0);
  double max = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < n; ++i) max = std::fmax(max, x[i]);
  if (n == 0 || (std::isinf(max) && max < 0)) return y;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += y[i] = std::exp(double(x[i]) - max);
  for (double& v : y) v /= sum;
  return y;
}

std::vector<double> LayerNorm(const float* x, const float* w, const float* b,
                              double eps, size_t n) {
  double mean = 0.0, var = 0.0;
  for (size_t i = 0; i < n; ++i) mean += x[i];
  mean /= double(n);
  for (size_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= double(n);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = (x[i] - mean) / std::sqrt(var + eps) * w[i] + b[i];
  }
  return y;
}

std::vector<double> RmsNorm(const float* x, const float* w, double eps, size_t n) {
  double ms = 0.0;
  for (size_t i = 0; i < n; ++i) ms += double(x[i]) * x[i];
  ms /= double(n);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = x[i] / std::sqrt(ms + eps) * w[i];
  return y;
}

namespace {

double Angle(size_t i, size_t rotary_dim, double base, size_t pos, const float* factors) {
  const double freq = std::pow(base, -2.0 * double(i) / double(rotary_dim));
  return double(pos) * (factors != nullptr ? freq / factors[i] : freq);
}

// Rotates pair i, whose members are at indices first(i) and second(i).
template <class First, class Second>
std::vector<double> Rotate(const float* x, size_t head_dim, size_t rotary_dim,
                           double base, size_t pos, const float* factors, First first,
                           Second second) {
  std::vector<double> y(x, x + head_dim);
  for (size_t i = 0; i < rotary_dim / 2; ++i) {
    const double c = std::cos(Angle(i, rotary_dim, base, pos, factors));
    const double s = std::sin(Angle(i, rotary_dim, base, pos, factors));
    const double a = x[first(i)], b = x[second(i)];
    y[first(i)] = a * c - b * s;
    y[second(i)] = a * s + b * c;
  }
  return y;
}

}  // namespace

std::vector<double> RopePairwise(const float* x, size_t head_dim,
                                 size_t rotary_dim, double base, size_t pos,
                                 const float* factors) {
  return Rotate(x, head_dim, rotary_dim, base, pos, factors,
                [](size_t i) { return 2 * i; }, [](size_t i) { return 2 * i + 1; });
}

std::vector<double> RopeRotateHalf(const float* x, size_t head_dim,
                                   size_t rotary_dim, double base, size_t pos,
                                   const float* factors) {
  const size_t half = rotary_dim / 2;
  return Rotate(x, head_dim, rotary_dim, base, pos, factors, [](size_t i) { return i; },
                [half](size_t i) { return i + half; });
}

double Dot(const float* a, const float* b, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += double(a[i]) * b[i];
  return sum;
}

double DotMagnitude(const float* a, const float* b, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += std::fabs(double(a[i]) * b[i]);
  return sum;
}

namespace {

void QuantizeQ8_0(const float* x, BlockQ8_0* y, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const float* xb = x + b * kQuantBlock;
    float amax = 0.0f;
    for (size_t j = 0; j < kQuantBlock; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = core::F32ToF16(d);
    for (size_t j = 0; j < kQuantBlock; ++j) {
      y[b].qs[j] = static_cast<int8_t>(std::nearbyint(xb[j] * inv));
    }
  }
}

void QuantizeQ4_0(const float* x, BlockQ4_0* y, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const float* xb = x + b * kQuantBlock;
    float max = 0.0f, amax = 0.0f;
    for (size_t j = 0; j < kQuantBlock; ++j) {
      if (std::fabs(xb[j]) > amax) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float d = max / -8.0f;
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = core::F32ToF16(d);
    for (size_t j = 0; j < kQuantBlock / 2; ++j) {
      const int lo = std::min(15, int(std::floor(xb[j] * inv + 8.5f)));
      const int hi = std::min(15, int(std::floor(xb[j + 16] * inv + 8.5f)));
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void DequantizeQ8_0(const BlockQ8_0* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const float d = core::F16ToF32(x[b].d);
    for (size_t j = 0; j < kQuantBlock; ++j) y[b * kQuantBlock + j] = d * x[b].qs[j];
  }
}

void DequantizeQ4_0(const BlockQ4_0* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const float d = core::F16ToF32(x[b].d);
    for (size_t j = 0; j < kQuantBlock / 2; ++j) {
      y[b * kQuantBlock + j] = d * ((x[b].qs[j] & 0xF) - 8);
      y[b * kQuantBlock + j + 16] = d * ((x[b].qs[j] >> 4) - 8);
    }
  }
}

struct Codec {
  void (*decode)(const void* src, float* dst, size_t n);
  void (*encode)(const float* src, void* dst, size_t n);
};

// The other quantized types have only quant_blocks.h's scalar codec (it is
// checked against gguf-py's dequantization in quant_blocks_test).
template <core::DType kType>
constexpr Codec ScalarCodec() {
  return {[](const void* s, float* d, size_t n) { DecodeQuantBlocks(kType, s, d, n); },
          [](const float* s, void* d, size_t n) { EncodeQuantBlocks(kType, s, d, n); }};
}

// In core::DType order.
constexpr Codec kCodecs[] = {
    {[](const void* s, float* d, size_t n) { std::copy_n(static_cast<const float*>(s), n, d); },
     [](const float* s, void* d, size_t n) { std::copy_n(s, n, static_cast<float*>(d)); }},
    {[](const void* s, float* d, size_t n) {
       for (size_t i = 0; i < n; ++i) d[i] = core::F16ToF32(static_cast<const uint16_t*>(s)[i]);
     },
     [](const float* s, void* d, size_t n) {
       for (size_t i = 0; i < n; ++i) static_cast<uint16_t*>(d)[i] = core::F32ToF16(s[i]);
     }},
    {[](const void* s, float* d, size_t n) {
       for (size_t i = 0; i < n; ++i) d[i] = core::BF16ToF32(static_cast<const uint16_t*>(s)[i]);
     },
     [](const float* s, void* d, size_t n) {
       for (size_t i = 0; i < n; ++i) static_cast<uint16_t*>(d)[i] = core::F32ToBF16(s[i]);
     }},
    {[](const void* s, float* d, size_t n) { DequantizeQ8_0(static_cast<const BlockQ8_0*>(s), d, n); },
     [](const float* s, void* d, size_t n) { QuantizeQ8_0(s, static_cast<BlockQ8_0*>(d), n); }},
    {[](const void* s, float* d, size_t n) { DequantizeQ4_0(static_cast<const BlockQ4_0*>(s), d, n); },
     [](const float* s, void* d, size_t n) { QuantizeQ4_0(s, static_cast<BlockQ4_0*>(d), n); }},
    ScalarCodec<core::DType::kQ4_1>(),   ScalarCodec<core::DType::kQ5_0>(),
    ScalarCodec<core::DType::kQ5_1>(),   ScalarCodec<core::DType::kIQ4_NL>(),
    ScalarCodec<core::DType::kQ2_K>(),   ScalarCodec<core::DType::kQ3_K>(),
    ScalarCodec<core::DType::kQ4_K>(),   ScalarCodec<core::DType::kQ5_K>(),
    ScalarCodec<core::DType::kQ6_K>(),
};
static_assert(std::size(kCodecs) == core::kNumDTypes, "one codec per DType");

}  // namespace

void DecodeRow(core::DType dtype, const void* src, float* dst, size_t n) {
  kCodecs[static_cast<size_t>(dtype)].decode(src, dst, n);
}

void EncodeRow(core::DType dtype, const float* src, void* dst, size_t n) {
  kCodecs[static_cast<size_t>(dtype)].encode(src, dst, n);
}

void QuantizeActivations(const float* x, size_t cols, int8_t* q, float* scale,
                         int32_t* sum) {
  for (size_t b = 0; b < cols / kQuantBlock; ++b) {
    const float* xb = x + b * kQuantBlock;
    float amax = 0.0f;
    for (size_t j = 0; j < kQuantBlock; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    scale[b] = amax / 127.0f;
    const float inv = scale[b] != 0.0f ? 1.0f / scale[b] : 0.0f;
    sum[2 * b] = sum[2 * b + 1] = 0;
    for (size_t j = 0; j < kQuantBlock; ++j) {
      q[b * kQuantBlock + j] = static_cast<int8_t>(std::nearbyint(xb[j] * inv));
      sum[2 * b + j / kSubBlock] += q[b * kQuantBlock + j];
    }
  }
}

double Int8Dot(core::DType dtype, const void* w_row, const int8_t* q,
               const float* scale, size_t cols, double* magnitude) {
  const size_t elements = core::BlockElements(dtype);
  const auto rounded = [](float x) { return core::F16ToF32(core::F32ToF16(x)); };
  double total = 0.0;
  *magnitude = 0.0;
  UnpackedBlock w;
  for (size_t e0 = 0; e0 < cols; e0 += elements) {
    UnpackBlock(dtype,
                static_cast<const uint8_t*>(w_row) + e0 / elements * core::BlockBytes(dtype), &w);
    for (size_t s = 0; s < elements / kSubBlock; ++s) {
      int64_t dot = 0, sum = 0;
      for (size_t j = s * kSubBlock; j < (s + 1) * kSubBlock; ++j) {
        dot += int64_t{w.v[j]} * q[e0 + j];
        sum += q[e0 + j];
      }
      const double x_scale = scale[(e0 + s * kSubBlock) / kQuantBlock];
      const double scaled = x_scale * double(rounded(w.scale[s])) * double(dot);
      const double shifted = x_scale * double(rounded(w.min[s])) * double(sum);
      total += scaled - shifted;
      *magnitude += std::fabs(scaled) + std::fabs(shifted);
    }
  }
  return total;
}

}  // namespace smallmind::kernels::reference
