// --logprobs for generate and chat: one line per token (its text, the log
// of its probability, then the likeliest tokens'), printed to stderr once
// the text is out.
#ifndef SMALLMIND_TOOLS_SMALLMIND_LOGPROB_LINES_H_
#define SMALLMIND_TOOLS_SMALLMIND_LOGPROB_LINES_H_

#include <string>

#include "runtime/token_logprobs.h"
#include "text/tokenizer.h"

namespace smallmind::cli {

class LogprobLines {
 public:
  // The tokenizer must outlive this.
  explicit LogprobLines(const text::Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  // Collects each token's line.
  runtime::TokenCallback Callback();
  // Prints what was collected (when `top` >= 0, --logprobs's value) and
  // forgets it.
  void Print(int top);

 private:
  const text::Tokenizer& tokenizer_;
  std::string lines_;
};

}  // namespace smallmind::cli

#endif  // SMALLMIND_TOOLS_SMALLMIND_LOGPROB_LINES_H_
