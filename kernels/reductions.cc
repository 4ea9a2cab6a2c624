// Dispatch unit for kernels/reductions.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/reductions.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <utility>

#include "kernels/reductions-inl.h"
#include "kernels/reductions.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

float DotImpl(const float* a, const float* b, size_t n) { return DotF32(a, b, n); }

float MaxImpl(const float* x, size_t n) { return RowMax(x, n); }

size_t ArgMaxImpl(const float* x, size_t n) {
  if (n == 0) return 0;
  const float max = RowMax(x, n);
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vmax = hn::Set(d, max);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const intptr_t lane = hn::FindFirstTrue(d, hn::Eq(hn::LoadU(d, x + i), vmax));
    if (lane >= 0) return i + static_cast<size_t>(lane);
  }
  for (; i < n; ++i) {
    if (x[i] == max) return i;
  }
  return 0;  // every element is NaN
}

// Heap order for top-k: `a` ranks below `b` if smaller, or equal with a
// larger index (so lower indices win ties).
inline bool RanksBelow(float va, int32_t ia, float vb, int32_t ib) {
  return va < vb || (va == vb && ia > ib);
}

void SiftDown(float* v, int32_t* idx, size_t size, size_t i) {
  for (;;) {
    size_t lowest = i;
    const size_t l = 2 * i + 1, r = l + 1;
    if (l < size && RanksBelow(v[l], idx[l], v[lowest], idx[lowest])) lowest = l;
    if (r < size && RanksBelow(v[r], idx[r], v[lowest], idx[lowest])) lowest = r;
    if (lowest == i) return;
    std::swap(v[i], v[lowest]);
    std::swap(idx[i], idx[lowest]);
    i = lowest;
  }
}

void SiftUp(float* v, int32_t* idx, size_t i) {
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!RanksBelow(v[i], idx[i], v[parent], idx[parent])) return;
    std::swap(v[i], v[parent]);
    std::swap(idx[i], idx[parent]);
    i = parent;
  }
}

// A min-heap of the k best so far; once full, whole vectors that hold
// nothing above the heap's minimum are skipped with one compare.
size_t TopKImpl(const float* x, size_t n, size_t k, float* values,
                int32_t* indices) {
  if (k == 0) return 0;
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t size = 0;
  auto offer = [&](size_t i) {
    const float v = x[i];
    if (v != v) return;  // NaN
    if (size < k) {
      values[size] = v;
      indices[size] = static_cast<int32_t>(i);
      SiftUp(values, indices, size++);
    } else if (v > values[0]) {
      values[0] = v;
      indices[0] = static_cast<int32_t>(i);
      SiftDown(values, indices, size, 0);
    }
  };
  size_t i = 0;
  for (; i + N <= n; i += N) {
    if (size == k &&
        hn::AllFalse(d, hn::Gt(hn::LoadU(d, x + i), hn::Set(d, values[0])))) {
      continue;
    }
    for (size_t j = 0; j < N; ++j) offer(i + j);
  }
  for (; i < n; ++i) offer(i);
  // Heap sort: repeatedly move the lowest to the end -> descending order.
  for (size_t end = size; end > 1; --end) {
    std::swap(values[0], values[end - 1]);
    std::swap(indices[0], indices[end - 1]);
    SiftDown(values, indices, end - 1, 0);
  }
  return size;
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(DotImpl);
HWY_EXPORT(MaxImpl);
HWY_EXPORT(ArgMaxImpl);
HWY_EXPORT(TopKImpl);

float Dot(const float* a, const float* b, size_t n) {
  return HWY_DYNAMIC_DISPATCH(DotImpl)(a, b, n);
}
float Max(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(MaxImpl)(x, n); }
size_t ArgMax(const float* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(ArgMaxImpl)(x, n);
}
size_t TopK(const float* x, size_t n, size_t k, float* values,
            int32_t* indices) {
  return HWY_DYNAMIC_DISPATCH(TopKImpl)(x, n, k, values, indices);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
