#include "eval/kl_base.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/half.h"
#include "eval/perplexity.h"

namespace smallmind::eval {
namespace {

constexpr char kMagic[8] = {'S', 'M', 'K', 'L', 'B', 'A', 'S', 'E'};
constexpr uint32_t kVersion = 1;
// Bounds that keep every size below computable without overflow.
constexpr uint32_t kMaxVocab = 1u << 24;
constexpr uint32_t kMaxContext = 1u << 24;
constexpr uint64_t kMaxTokens = uint64_t{1} << 32;

template <class T>
T Read(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <class T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

}  // namespace

uint64_t KlBaseHeader::Rows() const {
  return uint64_t{chunks} * static_cast<uint64_t>(ScoredPerChunk(context));
}

absl::StatusOr<KlBaseHeader> ParseKlBaseHeader(absl::string_view bytes, uint64_t file_size) {
  if (bytes.size() < kKlBaseFixedBytes) {
    return absl::InvalidArgumentError("not a KL base file: shorter than its header");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::InvalidArgumentError("not a KL base file (no SMKLBASE magic)");
  }
  const char* p = bytes.data() + sizeof(kMagic);
  if (const uint32_t version = Read<uint32_t>(p); version != kVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("KL base file version ", version, "; this build reads ", kVersion));
  }
  KlBaseHeader h;
  h.vocab = Read<uint32_t>(p + 4);
  h.context = Read<uint32_t>(p + 8);
  h.chunks = Read<uint32_t>(p + 12);
  const uint64_t num_tokens = Read<uint64_t>(p + 16);
  if (h.vocab < 1 || h.vocab > kMaxVocab) {
    return absl::InvalidArgumentError(absl::StrCat("KL base file: vocabulary of ", h.vocab));
  }
  if (h.context < 4 || h.context > kMaxContext || h.chunks < 1) {
    return absl::InvalidArgumentError(absl::StrCat("KL base file: context ", h.context, ", ",
                                                   h.chunks, " chunks"));
  }
  if (num_tokens != uint64_t{h.chunks} * h.context || num_tokens > kMaxTokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("KL base file: ", num_tokens, " tokens for ", h.chunks, " chunks of ",
                     h.context));
  }
  h.rows_offset = kKlBaseFixedBytes + num_tokens * sizeof(int32_t);
  // At most 2^32 rows of at most 2^24 entries: the product fits.
  const uint64_t expected = h.rows_offset + h.Rows() * h.vocab * sizeof(uint16_t);
  if (file_size != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KL base file of ", file_size, " bytes; its header makes it ", expected,
        " (truncated, or not written to the end)"));
  }
  if (bytes.size() < h.rows_offset) {
    return absl::InvalidArgumentError("KL base file: the tokens are cut short");
  }
  h.tokens.resize(num_tokens);
  std::memcpy(h.tokens.data(), bytes.data() + kKlBaseFixedBytes, num_tokens * sizeof(int32_t));
  for (int32_t t : h.tokens) {
    if (t < 0 || static_cast<uint32_t>(t) >= h.vocab) {
      return absl::InvalidArgumentError(
          absl::StrCat("KL base file: token id ", t, " outside the vocabulary"));
    }
  }
  return h;
}

absl::StatusOr<KlBaseWriter> KlBaseWriter::Create(const std::string& path, uint32_t vocab,
                                                  uint32_t context, uint32_t chunks,
                                                  absl::Span<const int32_t> tokens) {
  if (tokens.size() != uint64_t{chunks} * context) {
    return absl::InvalidArgumentError("KL base: the tokens are not the chunks'");
  }
  KlBaseWriter w;
  w.path_ = path;
  w.file_.reset(std::fopen(path.c_str(), "wb"));
  if (w.file_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": ",
                                                   std::strerror(errno)));
  }
  std::string head(kMagic, sizeof(kMagic));
  Put(head, kVersion);
  Put(head, vocab);
  Put(head, context);
  Put(head, chunks);
  Put(head, static_cast<uint64_t>(tokens.size()));
  head.append(reinterpret_cast<const char*>(tokens.data()), tokens.size() * sizeof(int32_t));
  if (std::fwrite(head.data(), 1, head.size(), w.file_.get()) != head.size()) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  w.rows_left_ = uint64_t{chunks} * static_cast<uint64_t>(ScoredPerChunk(context));
  w.row_.resize(vocab);
  return w;
}

absl::Status KlBaseWriter::Append(absl::Span<const float> logprobs) {
  if (rows_left_ == 0 || logprobs.size() != row_.size()) {
    return absl::InternalError("KL base: a row more than the header says, or of another size");
  }
  for (size_t i = 0; i < row_.size(); ++i) row_[i] = core::F32ToF16(logprobs[i]);
  if (std::fwrite(row_.data(), sizeof(uint16_t), row_.size(), file_.get()) != row_.size()) {
    return absl::InternalError(absl::StrCat("cannot write ", path_));
  }
  --rows_left_;
  return absl::OkStatus();
}

absl::Status KlBaseWriter::Close() {
  std::FILE* f = file_.release();
  const bool closed = f != nullptr && std::fclose(f) == 0;
  if (!closed) return absl::InternalError(absl::StrCat("cannot write ", path_));
  if (rows_left_ != 0) {
    return absl::InternalError(absl::StrCat(path_, ": ", rows_left_, " rows missing"));
  }
  return absl::OkStatus();
}

absl::StatusOr<KlBaseReader> KlBaseReader::Open(const std::string& path) {
  KlBaseReader r;
  r.path_ = path;
  r.file_.reset(std::fopen(path.c_str(), "rb"));
  if (r.file_ == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::FILE* f = r.file_.get();
  if (std::fseek(f, 0, SEEK_END) != 0) return absl::InternalError("cannot seek " + path);
  const long size = std::ftell(f);
  std::rewind(f);
  std::string head(kKlBaseFixedBytes, '\0');
  if (size < 0 || std::fread(head.data(), 1, head.size(), f) != head.size()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a KL base file (too short)"));
  }
  // Read the tokens the fixed part announces, if the file has them.
  const uint64_t num_tokens = Read<uint64_t>(head.data() + 24);
  if (num_tokens <= kMaxTokens &&
      kKlBaseFixedBytes + num_tokens * sizeof(int32_t) <= static_cast<uint64_t>(size)) {
    head.resize(kKlBaseFixedBytes + num_tokens * sizeof(int32_t));
    if (std::fread(head.data() + kKlBaseFixedBytes, 1, head.size() - kKlBaseFixedBytes, f) !=
        head.size() - kKlBaseFixedBytes) {
      return absl::InternalError("cannot read " + path);
    }
  }
  absl::StatusOr<KlBaseHeader> header = ParseKlBaseHeader(head, static_cast<uint64_t>(size));
  if (!header.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", header.status().message()));
  r.header_ = *std::move(header);
  r.row_.resize(r.header_.vocab);
  return r;
}

absl::Status KlBaseReader::Next(absl::Span<float> out) {
  if (out.size() != row_.size() ||
      std::fread(row_.data(), sizeof(uint16_t), row_.size(), file_.get()) != row_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": fewer rows than scored tokens"));
  }
  for (size_t i = 0; i < row_.size(); ++i) out[i] = core::F16ToF32(row_[i]);
  return absl::OkStatus();
}

}  // namespace smallmind::eval
