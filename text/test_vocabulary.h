// A small SentencePiece BPE vocabulary for tests: a few pieces ("hello",
// "w", ...) with byte fallback, <unk>/<s>/</s> as ids 0-2, BOS added.
#ifndef SMALLMIND_TEXT_TEST_VOCABULARY_H_
#define SMALLMIND_TEXT_TEST_VOCABULARY_H_

#include "model/model.pb.h"

namespace smallmind::text {

model::TokenizerSpec SmallSentencePieceSpec();

}  // namespace smallmind::text

#endif  // SMALLMIND_TEXT_TEST_VOCABULARY_H_
