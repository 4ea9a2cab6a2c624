#include "kernels/matmul_f32.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "hwy/aligned_allocator.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

class MatMulF32Test : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(MatMulF32Test);

// Every panel of W against the double-accumulating dot: M across the tile
// height (6) and decode's 1, N across partial panels, K across the K block
// (256) and odd sizes. Tolerance grows with √K and the magnitudes.
TEST_P(MatMulF32Test, PanelsMatchTheReference) {
  const size_t width = F32PanelWidth();
  for (size_t m : {1, 2, 5, 6, 7, 13}) {
    for (size_t k : {1, 7, 33, 256, 300, 513}) {
      for (size_t n : {size_t{1}, width - 1, width, 3 * width + 5}) {
        const std::vector<float> x = RandomFloats(m * k, 1);
        const std::vector<float> w = RandomFloats(n * k, 2);
        const std::vector<float> bias = RandomFloats(n, 3);
        const size_t panels = (n + width - 1) / width;
        auto packed = hwy::AllocateAligned<float>(panels * width * k);
        PackF32Panels(w.data(), k, n, k, packed.get());
        const size_t ldy = n + 3;  // rows of Y with a stride
        std::vector<float> y(m * ldy, -1.0f);
        for (size_t p = 0; p < panels; ++p) {
          const size_t cols = std::min(width, n - p * width);
          F32PanelGemm(x.data(), k, m, k, packed.get() + p * width * k, cols,
                       p % 2 ? bias.data() + p * width : nullptr,
                       y.data() + p * width, ldy);
        }
        for (size_t i = 0; i < m; ++i) {
          for (size_t j = 0; j < n; ++j) {
            const size_t p = j / width;
            const double expected = reference::Dot(&x[i * k], &w[j * k], k) +
                                    (p % 2 ? bias[j] : 0.0);
            const double tolerance =
                (2.0 + std::sqrt(double(k))) * 4.0 * 6e-8 *
                    reference::DotMagnitude(&x[i * k], &w[j * k], k) + 1e-6;
            ASSERT_NEAR(y[i * ldy + j], expected, tolerance)
                << "m=" << m << " k=" << k << " n=" << n << " at " << i << "," << j;
          }
          for (size_t j = n; j < ldy; ++j) ASSERT_EQ(y[i * ldy + j], -1.0f);
        }
      }
    }
  }
}

}  // namespace
}  // namespace smallmind::kernels
