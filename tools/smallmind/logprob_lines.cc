#include "tools/smallmind/logprob_lines.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace smallmind::cli {

runtime::TokenCallback LogprobLines::Callback() {
  return [this](const runtime::TokenLogprobs& t) {
    auto quoted = [&](int32_t id) {
      return absl::StrCat("\"", absl::CEscape(tokenizer_.Piece(id)), "\"");
    };
    absl::StrAppendFormat(&lines_, "%s%-16s %9.4f ", t.prompt ? "prompt " : "", quoted(t.token),
                          t.logprob);
    for (const auto& [id, logprob] : t.top) {
      absl::StrAppendFormat(&lines_, " | %s %.4f", quoted(id), logprob);
    }
    lines_ += "\n";
  };
}

void LogprobLines::Print(int top) {
  if (top >= 0) {
    absl::FPrintF(stderr, "logprobs (token, natural log of its probability, then the %d likeliest):\n%s",
                  top, lines_);
  }
  lines_.clear();
}

}  // namespace smallmind::cli
