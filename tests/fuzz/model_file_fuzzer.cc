// Fuzzes the model file reader and model loader with arbitrary bytes: every
// input must give a model or a Status, never a crash or an out-of-bounds read.
#include <cstdint>
#include <memory>

#include "model/model.h"
#include "model/model_file.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using smallmind::model::Model;
  auto file = smallmind::model::ParseModelFile(absl::MakeConstSpan(data, size));
  if (!file.ok()) return 0;
  auto model = Model::Create(std::move(*file));
  if (!model.ok()) return 0;
  auto tokenizer = smallmind::text::Tokenizer::Create(
      (*model)->description().tokenizer());
  if (tokenizer.ok()) {
    auto ids = (*tokenizer)->Encode("Hello, fuzz! \xe2\x82\xac", true);
    if (ids.ok()) (*tokenizer)->Decode(*ids);
  }
  return 0;
}
