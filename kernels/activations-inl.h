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
// 1/(1 + e^m) for m = -z, the logistic sigmoid of z, taking m so callers
// can fold the negation into their constants. Exactly 0 past m = 80 and
// exactly 1 once e^m is below float's resolution of 1.
template <class D, class V>
HWY_INLINE V SigmoidOfNegated(D d, V m) {
  const V limit = hn::Set(d, 80.0f);
  const V e = ExpClamped(d, hn::Clamp(m, hn::Neg(limit), limit));
  const V one = hn::Set(d, 1.0f);
  // A true division: the divider runs beside the FMA units, so it costs less
  // here than a refined reciprocal estimate, and 1/1 is exactly 1.
  const V s = hn::Div(one, hn::Add(one, e));
  return hn::IfThenZeroElse(hn::Gt(m, limit), s);
}

// GPT-2's GELU: x·sigmoid(2·sqrt(2/pi)·(x + 0.044715·x³)), which equals
// 0.5·x·(1 + tanh(...)).
template <class D, class V>
HWY_INLINE V GeluTanhVec(D d, V x) {
  constexpr float k = 2.0f * 0.7978845608028654f;
  const V x2 = hn::Mul(x, x);
  const V m = hn::Mul(hn::MulAdd(hn::Set(d, -k * 0.044715f), x2, hn::Set(d, -k)), x);
  return hn::Mul(x, SigmoidOfNegated(d, m));
}

// BERT's exact GELU, x·Φ(x) = x·erfc(-x/√2)/2, with erfc from the
// Chebyshev fit in Numerical Recipes (relative error below 1.2e-7 for all
// arguments, so both tails keep their digits): for z = |x|/√2 and
// t = 1/(1 + z/2), erfc(z) = t·exp(-z² + P(t)). Below x = -10 the result
// is under 1e-22 and is returned as 0.
template <class D, class V>
HWY_INLINE V GeluErfVec(D d, V x) {
  const V z = hn::Min(hn::Mul(hn::Abs(x), hn::Set(d, 0.70710678118654752f)), hn::Set(d, 8.0f));
  const V t = hn::Div(hn::Set(d, 1.0f), hn::MulAdd(z, hn::Set(d, 0.5f), hn::Set(d, 1.0f)));
  V p = hn::Set(d, 0.17087277f);
  for (const float c : {-0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f,
                        0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f}) {
    p = hn::MulAdd(p, t, hn::Set(d, c));
  }
  const V half_erfc = hn::Mul(hn::Mul(t, hn::Set(d, 0.5f)), ExpClamped(d, hn::NegMulAdd(z, z, p)));
  const V phi = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), half_erfc,
                               hn::Sub(hn::Set(d, 1.0f), half_erfc));
  return hn::IfThenZeroElse(hn::Lt(x, hn::Set(d, -10.0f)), hn::Mul(x, phi));
}

template <class D, class V>
HWY_INLINE V SiluVec(D d, V x) {
  return hn::Mul(x, SigmoidOfNegated(d, hn::Neg(x)));
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
