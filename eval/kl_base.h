// The file `perplexity --kl-divergence-base` writes and `--kl-divergence`
// reads: a base model's log-probabilities for every token ScoreText scores,
// so another model (a quantized one, or the same with another KV cache
// type) can be compared with it token by token. Little-endian:
//   "SMKLBASE", u32 version (1), u32 vocab, u32 context, u32 chunks,
//   u64 token count (chunks × context), the tokens (i32 each), then
//   chunks × ScoredPerChunk(context) rows of `vocab` F16 log-probabilities.
#ifndef SMALLMIND_EVAL_KL_BASE_H_
#define SMALLMIND_EVAL_KL_BASE_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace smallmind::eval {

struct KlBaseHeader {
  uint32_t vocab = 0, context = 0, chunks = 0;
  std::vector<int32_t> tokens;
  uint64_t rows_offset = 0;  // where the first row starts
  uint64_t Rows() const;
};

// Bytes of the fixed part, before the tokens.
inline constexpr size_t kKlBaseFixedBytes = 32;

// Parses the fixed part and the tokens at the start of `bytes`, of a file
// `file_size` bytes long. Errors name what does not hold: the magic, the
// version, the sizes, a file whose length is not what they make.
absl::StatusOr<KlBaseHeader> ParseKlBaseHeader(absl::string_view bytes, uint64_t file_size);

class KlBaseWriter {
 public:
  static absl::StatusOr<KlBaseWriter> Create(const std::string& path, uint32_t vocab,
                                             uint32_t context, uint32_t chunks,
                                             absl::Span<const int32_t> tokens);
  // The next scored token's log-probabilities (vocab of them).
  absl::Status Append(absl::Span<const float> logprobs);
  // Errors unless every row was appended, or on a write error.
  absl::Status Close();

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::string path_;
  uint64_t rows_left_ = 0;
  std::vector<uint16_t> row_;
};

class KlBaseReader {
 public:
  static absl::StatusOr<KlBaseReader> Open(const std::string& path);
  const KlBaseHeader& header() const { return header_; }
  // The next row's log-probabilities into `out` (vocab of them).
  absl::Status Next(absl::Span<float> out);

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::string path_;
  KlBaseHeader header_;
  std::vector<uint16_t> row_;
};

}  // namespace smallmind::eval

#endif  // SMALLMIND_EVAL_KL_BASE_H_
