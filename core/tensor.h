// Tensors: `TensorView` is a non-owning view (data, dtype, shape, row
// stride); `Tensor` owns 64-byte-aligned storage and hands out views.
//
// A "row" is the last dimension. Rows are `row_stride()` bytes apart, which
// may exceed the packed row size (for example a view of every other row, or
// padded rows); elements within a row are packed in the dtype's layout.
#ifndef SMALLMIND_CORE_TENSOR_H_
#define SMALLMIND_CORE_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/aligned_buffer.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace smallmind::core {

class TensorView {
 public:
  TensorView() = default;

  // A view of `rows × row bytes` at `data`. `row_stride` 0 means packed.
  // Errors if the row length is not a whole number of blocks of `dtype`, the
  // stride is smaller than a row, or the byte extent overflows.
  static absl::StatusOr<TensorView> Make(void* data, DType dtype, Shape shape,
                                         size_t row_stride = 0);

  void* data() const { return data_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t num_rows() const { return shape_.num_rows(); }
  int64_t row_length() const { return shape_.row_length(); }
  // Bytes between the starts of consecutive rows.
  size_t row_stride() const { return row_stride_; }
  // Bytes one packed row occupies.
  size_t row_bytes() const { return row_bytes_; }
  bool is_packed() const { return row_stride_ == row_bytes_; }

  uint8_t* row(int64_t i) const {
    return static_cast<uint8_t*>(data_) + static_cast<size_t>(i) * row_stride_;
  }
  // Typed access to row i; T must match the dtype's storage (float for F32,
  // uint16_t for F16/BF16, BlockQ8_0 / BlockQ4_0 for the quantized types).
  template <typename T>
  T* row_as(int64_t i) const {
    return reinterpret_cast<T*>(row(i));
  }

  // "f32[2, 3]".
  std::string ToString() const;

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::kF32;
  Shape shape_;
  size_t row_stride_ = 0;
  size_t row_bytes_ = 0;
};

class Tensor {
 public:
  Tensor() = default;

  // A packed, zero-filled tensor. Errors as TensorView::Make does, or when
  // the allocation fails.
  static absl::StatusOr<Tensor> Zeros(DType dtype, Shape shape);

  const TensorView& view() const { return view_; }
  void* data() const { return view_.data(); }
  DType dtype() const { return view_.dtype(); }
  const Shape& shape() const { return view_.shape(); }
  size_t size_bytes() const { return buffer_.size(); }

  template <typename T>
  T* row_as(int64_t i) const {
    return view_.row_as<T>(i);
  }

 private:
  AlignedBuffer buffer_;
  TensorView view_;
};

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_TENSOR_H_
