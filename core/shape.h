// Tensor shapes: rank 0..4, non-negative dimensions, and an element count
// that is checked for overflow when the shape is made.
#ifndef SMALLMIND_CORE_SHAPE_H_
#define SMALLMIND_CORE_SHAPE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace smallmind::core {

class Shape {
 public:
  static constexpr int kMaxRank = 4;

  // A rank-0 shape (one element).
  Shape() = default;

  // Errors on rank > 4, a negative dimension, or an element count that does
  // not fit in int64.
  static absl::StatusOr<Shape> Make(absl::Span<const int64_t> dims);
  static absl::StatusOr<Shape> Make(std::initializer_list<int64_t> dims) {
    return Make(absl::MakeConstSpan(dims.begin(), dims.size()));
  }

  int rank() const { return rank_; }
  int64_t dim(int i) const { return dims_[i]; }
  absl::Span<const int64_t> dims() const { return {dims_.data(), size_t(rank_)}; }
  int64_t num_elements() const { return num_elements_; }
  // Length of the last dimension (1 for rank 0).
  int64_t row_length() const { return rank_ == 0 ? 1 : dims_[rank_ - 1]; }
  // Product of all but the last dimension (1 for rank 0 and 1).
  int64_t num_rows() const {
    return row_length() == 0 ? 0 : num_elements_ / row_length();
  }

  // "[2, 3, 4]".
  std::string ToString() const;  // "[2, 3]"

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.dims() == b.dims();
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
  int64_t num_elements_ = 1;
};

// Dimensions as Shape::ToString writes them, for shapes not (yet) validated,
// e.g. in error messages about a file's tensor table.
std::string DimsToString(absl::Span<const int64_t> dims);

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_SHAPE_H_
