// Builds GGUF bytes for tests: well-formed files from golden models, and
// (through the raw hooks) the malformed ones the reader must reject.
#ifndef SMALLMIND_FORMATS_GGUF_BUILDER_H_
#define SMALLMIND_FORMATS_GGUF_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "formats/gguf.h"

namespace smallmind::formats {

class GgufBuilder {
 public:
  explicit GgufBuilder(uint32_t version = 3) : version_(version) {}

  void String(const std::string& key, const std::string& value) {
    Key(key, GgufType::kString);
    Str(kv_, value);
  }
  void Uint32(const std::string& key, uint32_t value) {
    Key(key, GgufType::kUint32);
    Put(kv_, value);
  }
  void Float32(const std::string& key, float value) {
    Key(key, GgufType::kFloat32);
    Put(kv_, value);
  }
  void Bool(const std::string& key, bool value) {
    Key(key, GgufType::kBool);
    Put(kv_, static_cast<uint8_t>(value));
  }
  void Strings(const std::string& key, const std::vector<std::string>& values) {
    Key(key, GgufType::kArray);
    Put(kv_, static_cast<uint32_t>(GgufType::kString));
    Put(kv_, static_cast<uint64_t>(values.size()));
    for (const std::string& v : values) Str(kv_, v);
  }
  void Floats(const std::string& key, const std::vector<float>& values) {
    Key(key, GgufType::kArray);
    Put(kv_, static_cast<uint32_t>(GgufType::kFloat32));
    Put(kv_, static_cast<uint64_t>(values.size()));
    for (float v : values) Put(kv_, v);
  }
  void Int32s(const std::string& key, const std::vector<int32_t>& values) {
    Key(key, GgufType::kArray);
    Put(kv_, static_cast<uint32_t>(GgufType::kInt32));
    Put(kv_, static_cast<uint64_t>(values.size()));
    for (int32_t v : values) Put(kv_, v);
  }
  // Raw bytes appended to the metadata section (one key counted).
  void RawKeyValue(const std::vector<uint8_t>& bytes) {
    ++n_kv_;
    kv_.insert(kv_.end(), bytes.begin(), bytes.end());
  }

  // A tensor with ggml dims (row length first); data placed at the next
  // 32-byte-aligned offset unless `offset` is given.
  void Tensor(const std::string& name, const std::vector<uint64_t>& dims,
              uint32_t type, const std::vector<uint8_t>& bytes,
              int64_t offset = -1) {
    Str(infos_, name);
    Put(infos_, static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) Put(infos_, d);
    Put(infos_, type);
    const uint64_t at = offset >= 0 ? static_cast<uint64_t>(offset) : data_.size();
    Put(infos_, at);
    if (offset < 0) {
      data_.insert(data_.end(), bytes.begin(), bytes.end());
      data_.resize((data_.size() + 31) / 32 * 32, 0);
    }
    ++n_tensors_;
  }

  std::vector<uint8_t> Build() const {
    std::vector<uint8_t> out = {'G', 'G', 'U', 'F'};
    Put(out, version_);
    Put(out, n_tensors_);
    Put(out, n_kv_);
    out.insert(out.end(), kv_.begin(), kv_.end());
    out.insert(out.end(), infos_.begin(), infos_.end());
    out.resize((out.size() + 31) / 32 * 32, 0);
    out.insert(out.end(), data_.begin(), data_.end());
    return out;
  }

  template <typename T>
  static void Put(std::vector<uint8_t>& out, T value) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &value, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
  }
  static void Str(std::vector<uint8_t>& out, const std::string& s) {
    Put(out, static_cast<uint64_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }

 private:
  void Key(const std::string& key, GgufType type) {
    ++n_kv_;
    Str(kv_, key);
    Put(kv_, static_cast<uint32_t>(type));
  }

  uint32_t version_;
  uint64_t n_tensors_ = 0, n_kv_ = 0;
  std::vector<uint8_t> kv_, infos_, data_;
};

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_GGUF_BUILDER_H_
