// Training text: files or a directory of them, a character vocabulary taken
// from the text, a train/validation split, and random windows for batches.
#ifndef SMALLMIND_TRAINING_DATA_H_
#define SMALLMIND_TRAINING_DATA_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model.pb.h"
#include "text/tokenizer.h"

namespace smallmind::training {

// The text of `path`: a file, or every regular file under a directory
// (recursively, in name order) that looks like text: no NUL bytes, not a
// `.dat` index, not a symbolic link. Errors when nothing is found.
absl::StatusOr<std::string> ReadCorpus(const std::string& path);

// A CHAR vocabulary of every UTF-8 character in `text`, in code point order.
model::TokenizerSpec CharVocabulary(const std::string& text);

struct Dataset {
  std::vector<int32_t> train, validation;
};

// Encodes `text` and splits it: the last `validation_fraction` of the tokens
// (at least one window's worth) are held out.
absl::StatusOr<Dataset> MakeDataset(const std::string& text,
                                    const text::Tokenizer& tokenizer,
                                    double validation_fraction, int64_t seq);

// Fills `tokens` and `targets` (batch·seq each) with random windows of
// `data`; targets are the tokens shifted by one.
void SampleBatch(const std::vector<int32_t>& data, int64_t batch, int64_t seq,
                 std::mt19937_64& rng, std::vector<int32_t>& tokens,
                 std::vector<int32_t>& targets);

// The unigram baseline: the cross-entropy of predicting `eval` from the
// token frequencies of `train` (add-one smoothed), in nats per token.
double UnigramLoss(const std::vector<int32_t>& train,
                   const std::vector<int32_t>& eval, int64_t vocab);

}  // namespace smallmind::training

#endif  // SMALLMIND_TRAINING_DATA_H_
