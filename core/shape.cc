#include "core/shape.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace smallmind::core {

absl::StatusOr<Shape> Shape::Make(absl::Span<const int64_t> dims) {
  if (dims.size() > kMaxRank) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "shape has rank %d; at most %d is supported", dims.size(), kMaxRank));
  }
  Shape shape;
  shape.rank_ = static_cast<int>(dims.size());
  int64_t count = 1;
  bool overflow = false;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "shape [%s] has a negative dimension", absl::StrJoin(dims, ", ")));
    }
    shape.dims_[i] = dims[i];
    // Keep checking for negatives after an overflow, but remember it; a zero
    // dimension later makes the true count 0, so decide at the end.
    if (!overflow && dims[i] != 0 &&
        count > std::numeric_limits<int64_t>::max() / dims[i]) {
      overflow = true;
    } else if (!overflow) {
      count *= dims[i];
    }
  }
  const bool has_zero =
      std::find(dims.begin(), dims.end(), int64_t{0}) != dims.end();
  if (has_zero) {
    count = 0;
  } else if (overflow) {
    return absl::OutOfRangeError(absl::StrFormat(
        "shape [%s] has more elements than fit in int64",
        absl::StrJoin(dims, ", ")));
  }
  shape.num_elements_ = count;
  return shape;
}

std::string Shape::ToString() const {
  return DimsToString(dims());
}

std::string DimsToString(absl::Span<const int64_t> dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

}  // namespace smallmind::core
