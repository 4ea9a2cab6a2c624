#include "core/tensor.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

TEST(TensorTest, ZerosIsPackedAlignedAndWritable) {
  auto t = Tensor::Zeros(DType::kF32, *Shape::Make({3, 5}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->size_bytes(), 60u);
  EXPECT_TRUE(t->view().is_packed());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data()) % kAlignment, 0u);
  t->row_as<float>(2)[4] = 7.0f;
  EXPECT_EQ(static_cast<float*>(t->data())[14], 7.0f);
  EXPECT_EQ(t->view().ToString(), "f32[3, 5]");
}

TEST(TensorTest, QuantizedRowsAreWholeBlocks) {
  auto t = Tensor::Zeros(DType::kQ4_0, *Shape::Make({4, 64}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->view().row_bytes(), 36u);
  EXPECT_EQ(t->size_bytes(), 144u);
  EXPECT_EQ(t->row_as<BlockQ4_0>(1), t->row_as<BlockQ4_0>(0) + 2);
  auto bad = Tensor::Zeros(DType::kQ8_0, *Shape::Make({4, 48}));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorViewTest, StridedViewSkipsPadding) {
  std::vector<float> storage(4 * 8);
  for (size_t i = 0; i < storage.size(); ++i) storage[i] = float(i);
  auto v = TensorView::Make(storage.data(), DType::kF32, *Shape::Make({4, 5}),
                            8 * sizeof(float));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->is_packed());
  EXPECT_EQ(v->row_as<float>(3)[0], 24.0f);
  EXPECT_EQ(v->num_rows(), 4);
  EXPECT_EQ(v->row_length(), 5);
}

TEST(TensorViewTest, RejectsStrideSmallerThanARow) {
  float data[16];
  auto v = TensorView::Make(data, DType::kF32, *Shape::Make({2, 8}), 16);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorViewTest, RejectsNullDataForNonEmptyTensor) {
  EXPECT_FALSE(TensorView::Make(nullptr, DType::kF32, *Shape::Make({2})).ok());
  EXPECT_TRUE(TensorView::Make(nullptr, DType::kF32, *Shape::Make({0, 2})).ok());
}

TEST(TensorViewTest, DetectsByteExtentOverflow) {
  float data[1];
  const int64_t rows = int64_t{1} << 61;
  auto v = TensorView::Make(data, DType::kF32, *Shape::Make({rows, 2}));
  EXPECT_EQ(v.status().code(), absl::StatusCode::kOutOfRange);
  auto t = Tensor::Zeros(DType::kF32, *Shape::Make({rows, 2}));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace smallmind::core
