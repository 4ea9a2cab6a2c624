#include "runtime/loaded_model.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smallmind::runtime {
namespace {

using ::testing::HasSubstr;

constexpr char kModel[] = "tests/golden/llama_tiny.smm";

TEST(LoadedModelTest, LoadsOntoTheNamedBackend) {
  absl::StatusOr<LoadedModel> loaded = LoadedModel::Load(kModel, {.backend = "Portable"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->path, kModel);
  EXPECT_EQ(loaded->backend->name(), "portable");
  EXPECT_EQ(&loaded->transformer->model(), loaded->model.get());
  EXPECT_EQ(loaded->tokenizer->vocab_size(), 64);
  EXPECT_GT(loaded->load_seconds, 0);
  // Moving the bundle keeps the transformer's model alive and in place.
  LoadedModel moved = std::move(*loaded);
  EXPECT_EQ(&moved.transformer->model(), moved.model.get());
  EXPECT_EQ(LoadedModel::Load(kModel, {})->backend->name(), "tiled");  // auto
}

TEST(LoadedModelTest, ErrorsSayWhatIsWrong) {
  EXPECT_THAT(LoadedModel::Load("", {}).status().message(), HasSubstr("no model given"));
  EXPECT_THAT(LoadedModel::Load("/no/such.smm", {}).status().message(),
              HasSubstr("cannot open /no/such.smm"));
  EXPECT_THAT(LoadedModel::Load(kModel, {.backend = "cuda"}).status().message(),
              HasSubstr("unknown backend 'cuda'"));
}

}  // namespace
}  // namespace smallmind::runtime
