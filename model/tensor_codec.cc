#include "model/tensor_codec.h"

#include "absl/strings/str_cat.h"
#include "kernels/convert.h"

namespace smallmind::model {

absl::StatusOr<std::vector<uint8_t>> EncodeF32(absl::Span<const float> values,
                                               int64_t row_length,
                                               core::DType dtype) {
  if (row_length <= 0 || values.size() % row_length != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        values.size(), " values are not whole rows of ", row_length));
  }
  if (row_length % core::BlockElements(dtype) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rows of ", row_length, " are not a whole number of ",
        core::DTypeName(dtype), " blocks of ", core::BlockElements(dtype)));
  }
  const size_t n = values.size();
  absl::StatusOr<size_t> bytes = core::BytesFor(dtype, n);
  if (!bytes.ok()) return bytes.status();
  std::vector<uint8_t> out(*bytes);
  const size_t row_bytes = *core::BytesFor(dtype, row_length);
  for (size_t r = 0; r < n / row_length; ++r) {
    kernels::EncodeRow(dtype, values.data() + r * row_length,
                       out.data() + r * row_bytes, row_length);
  }
  return out;
}

void DecodeRow(const core::TensorView& t, int64_t row, float* out) {
  kernels::DecodeRow(t.dtype(), t.row(row), out, t.row_length());
}

std::vector<float> DecodeAll(const core::TensorView& t) {
  std::vector<float> out(t.shape().num_elements());
  for (int64_t r = 0; r < t.num_rows(); ++r) {
    DecodeRow(t, r, out.data() + r * t.row_length());
  }
  return out;
}

}  // namespace smallmind::model
