// Models written out in other programs' formats, for the importers' round-
// trip tests and the fuzz targets' seeds (test-only).
#ifndef SMALLMIND_FORMATS_TEST_FORMATS_H_
#define SMALLMIND_FORMATS_TEST_FORMATS_H_

#include <map>
#include <string>

#include "model/model.h"

namespace smallmind::formats {

// A llama-architecture model as llama2.c's run.c reads it: model.bin and
// tokenizer.bin (as export.py wrote them: a space for ▁, BOS and EOS wrapped
// in newlines).
struct Llama2cFiles {
  std::string checkpoint, tokenizer;
};
Llama2cFiles Llama2cFromModel(const model::Model& m);

// A GPT-2 model as a Hugging Face GPT2LMHeadModel directory's files, the
// matrices stored as `dtype` ("F32" or "F16").
struct HfGpt2Files {
  std::string safetensors, config, vocab, merges;
};
HfGpt2Files HfGpt2FromModel(const model::Model& m, const std::string& dtype = "F32");

// A llama, qwen2, qwen3, gemma3 or phi3 model as a Hugging Face checkpoint
// directory's files by name: config.json, tensors as `dtype` (F32, F16,
// BF16) in model.safetensors or `shards` files with their index, and a
// byte-level tokenizer.json over the model's vocabulary.
std::map<std::string, std::string> HfFromModel(const model::Model& m, const std::string& dtype,
                                               int shards = 1);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_TEST_FORMATS_H_
