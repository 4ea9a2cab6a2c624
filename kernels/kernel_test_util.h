// Shared pieces of the kernel tests: the size sweep, random inputs, and a
// fixture that runs each test once per Highway target compiled in.
#ifndef SMALLMIND_KERNELS_KERNEL_TEST_UTIL_H_
#define SMALLMIND_KERNELS_KERNEL_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "hwy/tests/hwy_gtest.h"

namespace smallmind::kernels {

// Empty, single, below/at/above vector widths, odd, large, and a prime tail.
inline constexpr size_t kTestSizes[] = {0,  1,    7,    15,  16,    17,
                                        31, 33, 1000, 4096, 100003};

// Uniform floats in [lo, hi), reproducible per seed.
inline std::vector<float> RandomFloats(size_t n, uint32_t seed, float lo = -1.0f,
                                       float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Each TEST_P runs once per target: SetUp restricts dispatch to it.
using KernelTest = hwy::TestWithParamTarget;

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_KERNEL_TEST_UTIL_H_
