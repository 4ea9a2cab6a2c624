// The matmul backend interface:
//   Y[M,N] = X[M,K] · W[N,K]ᵀ (+ bias[N])
// X and Y are F32; W is any dtype of core/dtype.h the backend supports.
// M = 1 is decode (matrix-vector), M > 1 is prefill; one entry point
// covers both.
//
// Weights are prepared once per backend at model load (`Prepare`: repack,
// convert), never per call. Scratch comes from the caller's arena, sized
// by `ScratchBytes`, and is given back before `MatMul` returns; threads
// come from the caller's pool.
#ifndef SMALLMIND_BACKENDS_BACKEND_H_
#define SMALLMIND_BACKENDS_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/arena.h"
#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace smallmind::backends {

// A weight matrix W[N,K] as a backend wants it. Holds a view of the
// original (which must outlive it, e.g. the model's mmap) and, for backends
// that repack or convert, the prepared copy.
class PreparedWeights {
 public:
  virtual ~PreparedWeights() = default;
  const core::TensorView& original() const { return original_; }
  int64_t rows() const { return original_.num_rows(); }        // N
  int64_t cols() const { return original_.row_length(); }      // K
  core::DType dtype() const { return original_.dtype(); }

 protected:
  explicit PreparedWeights(core::TensorView original) : original_(original) {}

 private:
  core::TensorView original_;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Lower-case name, e.g. "tiled"; what `--backend` takes.
  virtual absl::string_view name() const = 0;
  // Whether this backend can multiply by weights of `dtype`.
  virtual bool Supports(core::DType dtype) const = 0;

  // Called by Prepare with each span of the original it has copied and will
  // not read again, as it goes: the caller can give that memory back (the
  // pages of a mapped file), so a model never sits in memory twice.
  using ReleaseFn = std::function<void(const void* data, size_t bytes)>;

  // Prepares a rank-2 weight matrix W[N,K]. Errors on an unsupported dtype
  // or a rank other than 2. Thread-safe. `release` may be empty.
  absl::StatusOr<std::unique_ptr<PreparedWeights>> Prepare(
      const core::TensorView& w, const ReleaseFn& release = nullptr) const;

  // Arena bytes a MatMul of `m` rows by `w` needs (beyond what the caller
  // allocates for X and Y). By default none.
  virtual size_t ScratchBytes(int64_t m, const PreparedWeights& w) const;

  // Y = X·Wᵀ (+ bias when non-null; N floats). `x` is F32 [M,K], `y` is F32
  // [M,N]; both may have row strides. Errors (writing nothing) on mismatched
  // shapes, a non-F32 x or y, or scratch that does not fit in `scratch`.
  // Thread-safe for distinct y/scratch; uses `pool` for its threads.
  absl::Status MatMul(const core::TensorView& x, const PreparedWeights& w,
                      const float* bias, const core::TensorView& y,
                      core::ThreadPool& pool, core::Arena& scratch) const;

 protected:
  // Called by Prepare after the dtype and rank are checked. By default W is
  // read in place; backends that repack or convert override this.
  virtual absl::StatusOr<std::unique_ptr<PreparedWeights>> DoPrepare(
      const core::TensorView& w, const ReleaseFn& release) const;

  // Called by MatMul after the shapes are checked.
  virtual absl::Status DoMatMul(const core::TensorView& x,
                                const PreparedWeights& w, const float* bias,
                                const core::TensorView& y,
                                core::ThreadPool& pool,
                                core::Arena& scratch) const = 0;

};

}  // namespace smallmind::backends

#endif  // SMALLMIND_BACKENDS_BACKEND_H_
