// Reductions over float rows. Thread-safe (no state).
#ifndef SMALLMIND_KERNELS_REDUCTIONS_H_
#define SMALLMIND_KERNELS_REDUCTIONS_H_

#include <cstddef>
#include <cstdint>

namespace smallmind::kernels {

// Σ a[i]·b[i], accumulated in float across several vector lanes.
float Dot(const float* a, const float* b, size_t n);
// -inf for n = 0.
float Max(const float* x, size_t n);
// Index of the first maximum; 0 for n = 0. NaNs are never chosen unless
// every element is NaN.
size_t ArgMax(const float* x, size_t n);

// The min(k, n) largest elements, written to values[] / indices[] in
// descending order (equal values: lower index first). NaNs are skipped.
// Returns how many were written. Allocates nothing: values and indices
// must hold k entries, and serve as the working heap.
size_t TopK(const float* x, size_t n, size_t k, float* values,
            int32_t* indices);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_REDUCTIONS_H_
