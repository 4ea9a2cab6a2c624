// A file mapped read-only into memory: what the model loader and the
// converters read from, so weights are used in place and never copied.
#ifndef SMALLMIND_CORE_MAPPED_FILE_H_
#define SMALLMIND_CORE_MAPPED_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace smallmind::core {

class MappedFile {
 public:
  // Errors: NotFound when `path` cannot be opened, InvalidArgument when it
  // is not a regular file. An empty file maps to an empty span.
  static absl::StatusOr<MappedFile> Open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  absl::Span<const uint8_t> bytes() const { return bytes_; }

  // Copies [data, data + size), which must lie inside the mapping, into
  // `out` with a read of the file rather than through the mapping: the
  // pages are not mapped into the process (so a scattered lookup, such as
  // embedding rows, does not fault in the large folios around each row).
  // False when the range is outside the mapping or the read fails.
  bool ReadAt(const void* data, size_t size, void* out) const;

  // Drops the pages wholly inside [data, data + size) from this process's
  // memory, for data that was copied elsewhere (weights repacked at load):
  // the process then holds one copy, not two. They stay readable; a later
  // read brings them back from the file. Ranges outside the mapping are
  // ignored.
  void Release(const void* data, size_t size) const;

 private:
  absl::Span<const uint8_t> bytes_;
  int fd_ = -1;  // kept open for ReadAt
};

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_MAPPED_FILE_H_
