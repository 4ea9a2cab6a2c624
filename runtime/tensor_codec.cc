#include "runtime/tensor_codec.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kernels/elementwise.h"
#include "kernels/quant.h"

namespace smallmind::runtime {

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
  switch (dtype) {
    case core::DType::kF32:
      if (n > 0) std::memcpy(out.data(), values.data(), out.size());
      break;
    case core::DType::kF16:
      kernels::F32ToF16(values.data(), reinterpret_cast<uint16_t*>(out.data()), n);
      break;
    case core::DType::kBF16:
      kernels::F32ToBF16(values.data(), reinterpret_cast<uint16_t*>(out.data()), n);
      break;
    case core::DType::kQ8_0:
      kernels::QuantizeQ8_0(values.data(),
                            reinterpret_cast<core::BlockQ8_0*>(out.data()), n);
      break;
    case core::DType::kQ4_0:
      kernels::QuantizeQ4_0(values.data(),
                            reinterpret_cast<core::BlockQ4_0*>(out.data()), n);
      break;
  }
  return out;
}

void DecodeRow(const core::TensorView& t, int64_t row, float* out) {
  const size_t n = t.row_length();
  const uint8_t* p = t.row(row);
  switch (t.dtype()) {
    case core::DType::kF32:
      std::memcpy(out, p, n * sizeof(float));
      break;
    case core::DType::kF16:
      kernels::F16ToF32(reinterpret_cast<const uint16_t*>(p), out, n);
      break;
    case core::DType::kBF16:
      kernels::BF16ToF32(reinterpret_cast<const uint16_t*>(p), out, n);
      break;
    case core::DType::kQ8_0:
      kernels::DequantizeQ8_0(reinterpret_cast<const core::BlockQ8_0*>(p), out, n);
      break;
    case core::DType::kQ4_0:
      kernels::DequantizeQ4_0(reinterpret_cast<const core::BlockQ4_0*>(p), out, n);
      break;
  }
}

std::vector<float> DecodeAll(const core::TensorView& t) {
  std::vector<float> out(t.shape().num_elements());
  for (int64_t r = 0; r < t.num_rows(); ++r) {
    DecodeRow(t, r, out.data() + r * t.row_length());
  }
  return out;
}

}  // namespace smallmind::runtime
