// Hugging Face tokenizer files into a TokenizerSpec:
//   tokenizer.json         the BPE model (vocabulary, merges, byte fallback,
//                          ignore_merges), normalizer, pre-tokenizers and
//                          added tokens;
//   tokenizer_config.json  BOS/EOS, add_bos_token and the chat template;
//   generation_config.json the ids that end generation.
// Byte-level BPE (GPT-2, Llama 3, Qwen, SmolLM: a ByteLevel pre-tokenizer
// after Split regexes or Digits) and SentencePiece-style BPE (Llama 2,
// Gemma: spaces replaced by `▁`, byte fallback), BERT's WordPiece and
// SentencePiece's Unigram (XLM-RoBERTa) are read; other models and
// pre-tokenizers are refused by name.
#ifndef SMALLMIND_FORMATS_HF_TOKENIZER_H_
#define SMALLMIND_FORMATS_HF_TOKENIZER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/model.pb.h"

namespace smallmind::formats {

struct HfTokenizerFiles {
  std::string tokenizer_json;
  std::string tokenizer_config_json;   // empty when the file is absent
  std::string generation_config_json;  // empty when the file is absent
};

// Errors name the file and key. The vocabulary holds every id from 0 to
// the largest one the files name; a gap is an error.
absl::StatusOr<model::TokenizerSpec> TokenizerFromHf(const HfTokenizerFiles& files);

// GPT-2 checkpoints' older files: vocab.json (token -> id) and merges.txt,
// as a byte-level BPE vocabulary of `vocab_size` tokens.
absl::StatusOr<model::TokenizerSpec> TokenizerFromGpt2Files(absl::string_view vocab_json,
                                                            absl::string_view merges,
                                                            int64_t vocab_size);

// The files of `directory` (tokenizer.json required, the others optional).
absl::StatusOr<HfTokenizerFiles> ReadHfTokenizerFiles(const std::string& directory);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_HF_TOKENIZER_H_
