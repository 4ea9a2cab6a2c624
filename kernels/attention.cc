// Dispatch unit for kernels/attention.h.
#include <algorithm>
#include <cmath>
#include <limits>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/attention-inl.h"
#include "kernels/attention.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

void AttendBlockImpl(const QueryBlock& block, const StoredRows& keys, const StoredRows& values,
                     size_t head_dim, float scale, int64_t window, float* scratch) {
  AttendBlockRows(block, keys, values, head_dim, scale, window, scratch);
}

void AttendRowImpl(const float* q, size_t heads, size_t kv_heads, const StoredRows& keys,
                   const StoredRows& values, size_t positions, size_t head_dim, float scale,
                   float* scratch, float* out, size_t out_stride, bool part) {
  AttendRowHeads(q, heads, kv_heads, keys, values, positions, head_dim, scale, scratch, out,
                 out_stride, part);
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(AttendBlockImpl);
HWY_EXPORT(AttendRowImpl);

bool IsAttentionType(core::DType dtype) {
  switch (dtype) {
    case core::DType::kF32:
    case core::DType::kF16:
    case core::DType::kBF16:
    case core::DType::kQ8_0:
    case core::DType::kQ4_0:
      return true;
    default:
      return false;
  }
}

size_t AttendBlockScratch(size_t queries, size_t head_dim) {
  // The widest target's padding serves every target.
  const size_t head_pad = (head_dim + 15) / 16 * 16;
  return 2 * head_pad * kKeyTile + head_pad + 2 * kKeyTile + queries * (head_pad + 2);
}

void AttendBlock(const QueryBlock& block, const StoredRows& keys, const StoredRows& values,
                 size_t head_dim, float scale, int64_t window, float* scratch) {
  HWY_DYNAMIC_DISPATCH(AttendBlockImpl)(block, keys, values, head_dim, scale, window, scratch);
}

size_t AttendRowScratch(size_t heads, size_t kv_heads, size_t head_dim) {
  const size_t head_pad = (head_dim + 15) / 16 * 16;  // as AttendBlockScratch
  return 2 * kv_heads * kRowTile * head_pad + 2 * kRowTile + heads * (2 * head_pad + 2);
}

void AttendRow(const float* q, size_t heads, size_t kv_heads, const StoredRows& keys,
               const StoredRows& values, size_t positions, size_t head_dim, float scale,
               float* scratch, float* out, size_t out_stride, bool part) {
  HWY_DYNAMIC_DISPATCH(AttendRowImpl)(q, heads, kv_heads, keys, values, positions, head_dim,
                                      scale, scratch, out, out_stride, part);
}

void MergeParts(const float* sums, const float* max, const float* sum, size_t part_stride,
                size_t parts, size_t head_dim, float* out) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  float m = kNegInf;
  for (size_t p = 0; p < parts; ++p) m = std::max(m, max[p * part_stride]);
  float total = 0;
  for (size_t i = 0; i < head_dim; ++i) out[i] = 0;
  for (size_t p = 0; p < parts; ++p) {
    if (max[p * part_stride] == kNegInf) continue;  // no key in that part
    const float w = std::exp(max[p * part_stride] - m);
    total += w * sum[p * part_stride];
    for (size_t i = 0; i < head_dim; ++i) out[i] += w * sums[p * part_stride + i];
  }
  const float inv = 1.0f / total;
  for (size_t i = 0; i < head_dim; ++i) out[i] *= inv;
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
