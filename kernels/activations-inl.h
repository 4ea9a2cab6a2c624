// Per-target code for kernels/activations.h.

#if defined(SMALLMIND_KERNELS_ACTIVATIONS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_ACTIVATIONS_INL_H_
#undef SMALLMIND_KERNELS_ACTIVATIONS_INL_H_
#else
#define SMALLMIND_KERNELS_ACTIVATIONS_INL_H_
#endif

#include <cstddef>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/simd_util-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 1 / (1 + exp(-z)). The argument is clamped so Exp stays finite; past
// ±80 the sigmoid is 1 in float, or below e^-80, which is returned as an
// exact 0 so that x·sigmoid(x) is 0 rather than x·e^-80 for huge |x|.
template <class D, class V>
HWY_INLINE V Sigmoid(D d, V z) {
  const V limit = hn::Set(d, 80.0f);
  const V clamped = hn::Clamp(z, hn::Neg(limit), limit);
  const V e = ExpClamped(d, hn::Neg(clamped));
  const V one = hn::Set(d, 1.0f);
  const V den = hn::Add(one, e);
  // Saturated inputs give exactly 1 (a refined estimate can land an ulp low).
  const V s = hn::IfThenElse(hn::Eq(den, one), one, Reciprocal(d, den));
  return hn::IfThenZeroElse(hn::Lt(z, hn::Neg(limit)), s);
}

// tanh-GELU as x·sigmoid(2u), u = √(2/π)(x + 0.044715x³): one Exp instead
// of a Tanh.
template <class D, class V>
HWY_INLINE V GeluTanhVec(D d, V x) {
  const V k2 = hn::Set(d, 2.0f * 0.7978845608028654f);
  const V kc = hn::Set(d, 0.044715f);
  const V x2 = hn::Mul(x, x);
  const V inner = hn::Mul(hn::MulAdd(kc, x2, hn::Set(d, 1.0f)), x);
  return hn::Mul(x, Sigmoid(d, hn::Mul(k2, inner)));
}

// erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), odd extension.
template <class D, class V>
HWY_INLINE V Erf(D d, V x) {
  const V ax = hn::Abs(x);
  const V t = hn::Div(hn::Set(d, 1.0f),
                      hn::MulAdd(hn::Set(d, 0.3275911f), ax, hn::Set(d, 1.0f)));
  V poly = hn::Set(d, 1.061405429f);
  poly = hn::MulAdd(poly, t, hn::Set(d, -1.453152027f));
  poly = hn::MulAdd(poly, t, hn::Set(d, 1.421413741f));
  poly = hn::MulAdd(poly, t, hn::Set(d, -0.284496736f));
  poly = hn::MulAdd(poly, t, hn::Set(d, 0.254829592f));
  poly = hn::Mul(poly, t);
  // exp(-x²) underflows harmlessly to 0 past |x| ≈ 9.4; clamp for Exp.
  const V x2 = hn::Min(hn::Mul(ax, ax), hn::Set(d, 80.0f));
  const V y = hn::NegMulAdd(poly, hn::Exp(d, hn::Neg(x2)), hn::Set(d, 1.0f));
  return hn::CopySignToAbs(y, x);
}

template <class D, class V>
HWY_INLINE V GeluErfVec(D d, V x) {
  const V half_x = hn::Mul(hn::Set(d, 0.5f), x);
  const V e = Erf(d, hn::Mul(x, hn::Set(d, 0.7071067811865476f)));
  return hn::MulAdd(half_x, e, half_x);
}

template <class D, class V>
HWY_INLINE V SiluVec(D d, V x) {
  return hn::Mul(x, Sigmoid(d, x));
}

// out = f(in) lane-wise, with the tail through a stack buffer.
template <class F>
HWY_INLINE void UnaryRow(const float* in, float* out, size_t n, const F& f) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(d, hn::LoadU(d, in + i)), d, out + i);
  if (i < n) StoreTail(d, f(d, LoadTail(d, in + i, n - i)), out + i, n - i);
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_ACTIVATIONS_INL_H_
