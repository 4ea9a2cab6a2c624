#include "core/tensor.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status.h"

namespace smallmind::core {

absl::StatusOr<TensorView> TensorView::Make(void* data, DType dtype,
                                            Shape shape, size_t row_stride) {
  SM_ASSIGN_OR_RETURN(const size_t row_bytes,
                      BytesFor(dtype, static_cast<uint64_t>(shape.row_length())));
  if (row_stride == 0) row_stride = row_bytes;
  if (row_stride < row_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "row stride %d is smaller than a row of %s (%d bytes)", row_stride,
        shape.ToString(), row_bytes));
  }
  const uint64_t rows = static_cast<uint64_t>(shape.num_rows());
  if (rows > 0 && row_stride > std::numeric_limits<size_t>::max() / rows) {
    return absl::OutOfRangeError(
        absl::StrFormat("tensor %s overflows a byte extent", shape.ToString()));
  }
  if (data == nullptr && rows > 0 && row_bytes > 0) {
    return absl::InvalidArgumentError("tensor view of null data");
  }
  TensorView view;
  view.data_ = data;
  view.dtype_ = dtype;
  view.shape_ = std::move(shape);
  view.row_stride_ = row_stride;
  view.row_bytes_ = row_bytes;
  return view;
}

std::string TensorView::ToString() const {
  return absl::StrCat(DTypeName(dtype_), shape_.ToString());
}

absl::StatusOr<Tensor> Tensor::Zeros(DType dtype, Shape shape) {
  SM_ASSIGN_OR_RETURN(const size_t row_bytes,
                      BytesFor(dtype, static_cast<uint64_t>(shape.row_length())));
  const uint64_t rows = static_cast<uint64_t>(shape.num_rows());
  if (rows > 0 && row_bytes > std::numeric_limits<size_t>::max() / rows) {
    return absl::OutOfRangeError(
        absl::StrFormat("tensor %s overflows a byte extent", shape.ToString()));
  }
  Tensor tensor;
  SM_ASSIGN_OR_RETURN(tensor.buffer_, AlignedBuffer::Allocate(rows * row_bytes));
  SM_ASSIGN_OR_RETURN(tensor.view_,
                      TensorView::Make(tensor.buffer_.data(), dtype,
                                       std::move(shape)));
  return tensor;
}

}  // namespace smallmind::core
