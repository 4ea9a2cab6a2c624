#include "training/data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status.h"

namespace smallmind::training {
namespace {

namespace fs = std::filesystem;

size_t CharLength(unsigned char c) {
  return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

}  // namespace

absl::StatusOr<std::string> ReadCorpus(const std::string& path) {
  std::error_code error;
  if (!fs::is_directory(path, error)) return core::ReadFileToString(path);
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(path, error)) {
    if (e.is_symlink() || !e.is_regular_file() || e.path().extension() == ".dat") {
      continue;
    }
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::string text;
  for (const fs::path& f : files) {
    SM_ASSIGN_OR_RETURN(std::string contents, core::ReadFileToString(f.string()));
    if (contents.find('\0') != std::string::npos) continue;  // binary
    text += contents;
  }
  if (text.empty()) {
    return absl::NotFoundError(absl::StrCat("no text files under ", path));
  }
  return text;
}

model::TokenizerSpec CharVocabulary(const std::string& text) {
  std::set<std::string> chars;
  for (size_t i = 0; i < text.size();) {
    const size_t n = std::min(CharLength(text[i]), text.size() - i);
    chars.insert(text.substr(i, n));
    i += n;
  }
  model::TokenizerSpec spec;
  spec.set_kind(model::CHAR);
  for (const std::string& c : chars) spec.add_tokens(c);  // byte order = code point order
  return spec;
}

absl::StatusOr<Dataset> MakeDataset(const std::string& text,
                                    const text::Tokenizer& tokenizer,
                                    double validation_fraction, int64_t seq) {
  SM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer.Encode(text, false));
  const int64_t n = ids.size();
  const int64_t held_out =
      std::max<int64_t>(seq + 1, static_cast<int64_t>(n * validation_fraction));
  if (n < held_out + seq + 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the corpus has ", n, " tokens: too few for windows of ", seq,
        " with ", held_out, " held out for validation"));
  }
  Dataset d;
  d.train.assign(ids.begin(), ids.end() - held_out);
  d.validation.assign(ids.end() - held_out, ids.end());
  return d;
}

void SampleBatch(const std::vector<int32_t>& data, int64_t batch, int64_t seq,
                 std::mt19937_64& rng, std::vector<int32_t>& tokens,
                 std::vector<int32_t>& targets) {
  tokens.resize(batch * seq);
  targets.resize(batch * seq);
  std::uniform_int_distribution<int64_t> start(0, data.size() - seq - 1);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t s = start(rng);
    std::copy(data.begin() + s, data.begin() + s + seq, tokens.begin() + b * seq);
    std::copy(data.begin() + s + 1, data.begin() + s + seq + 1, targets.begin() + b * seq);
  }
}

double UnigramLoss(const std::vector<int32_t>& train,
                   const std::vector<int32_t>& eval, int64_t vocab) {
  std::vector<double> counts(vocab, 1.0);
  for (int32_t t : train) counts[t] += 1.0;
  const double total = train.size() + static_cast<double>(vocab);
  double loss = 0;
  for (int32_t t : eval) loss -= std::log(counts[t] / total);
  return loss / eval.size();
}

}  // namespace smallmind::training
