// Dispatch unit for kernels/activations.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/activations.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/activations-inl.h"
#include "kernels/activations.h"
#include "kernels/simd_util-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

void GeluTanhImpl(const float* in, float* out, size_t n) {
  UnaryRow(in, out, n, [](auto d, auto x) HWY_ATTR { return GeluTanhVec(d, x); });
}

void GeluErfImpl(const float* in, float* out, size_t n) {
  UnaryRow(in, out, n, [](auto d, auto x) HWY_ATTR { return GeluErfVec(d, x); });
}

// out = f(gate) · up lane-wise.
template <class F>
HWY_INLINE void GatedRow(const float* gate, const float* up, float* out, size_t n,
                         const F& f) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::Mul(f(d, hn::LoadU(d, gate + i)), hn::LoadU(d, up + i)), d, out + i);
  }
  if (i < n) {
    const size_t r = n - i;
    StoreTail(d, hn::Mul(f(d, LoadTail(d, gate + i, r)), LoadTail(d, up + i, r)), out + i, r);
  }
}

void SwiGluImpl(const float* gate, const float* up, float* out, size_t n) {
  GatedRow(gate, up, out, n, [](auto d, auto x) HWY_ATTR { return SiluVec(d, x); });
}

void GeGluImpl(const float* gate, const float* up, float* out, size_t n) {
  GatedRow(gate, up, out, n, [](auto d, auto x) HWY_ATTR { return GeluTanhVec(d, x); });
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(GeluTanhImpl);
HWY_EXPORT(GeluErfImpl);
HWY_EXPORT(SwiGluImpl);
HWY_EXPORT(GeGluImpl);

void GeluTanh(const float* in, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(GeluTanhImpl)(in, out, n);
}
void GeluErf(const float* in, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(GeluErfImpl)(in, out, n);
}
void SwiGlu(const float* gate, const float* up, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(SwiGluImpl)(gate, up, out, n);
}
void GeGlu(const float* gate, const float* up, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(GeGluImpl)(gate, up, out, n);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
