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
  // Whether MatMul reads a copy (repacked or converted) rather than the
  // original, whose memory the caller may then give back.
  virtual bool holds_copy() const { return false; }

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

  // Prepares a rank-2 weight matrix W[N,K]. Errors on an unsupported dtype
  // or a rank other than 2. Thread-safe. By default W is read in place;
  // backends that repack or convert override this.
  virtual absl::StatusOr<std::unique_ptr<PreparedWeights>> Prepare(
      const core::TensorView& w) const;

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
  // Called by MatMul after the shapes are checked.
  virtual absl::Status DoMatMul(const core::TensorView& x,
                                const PreparedWeights& w, const float* bias,
                                const core::TensorView& y,
                                core::ThreadPool& pool,
                                core::Arena& scratch) const = 0;

  // The error Prepare returns for a dtype the backend does not support, or a
  // weight tensor that is not rank 2.
  absl::Status CheckPreparable(const core::TensorView& w) const;
};

}  // namespace smallmind::backends

#endif  // SMALLMIND_BACKENDS_BACKEND_H_
