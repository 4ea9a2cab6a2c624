#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace smallmind::core {

absl::StatusOr<MappedFile> MappedFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file"));
  }
  MappedFile file;
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      return absl::InternalError(
          absl::StrCat("cannot mmap ", path, ": ", std::strerror(error)));
    }
    file.bytes_ = {static_cast<const uint8_t*>(map), size};
  }
  file.fd_ = fd;
  return file;
}

bool MappedFile::ReadAt(const void* data, size_t size, void* out) const {
  const uint8_t* begin = static_cast<const uint8_t*>(data);
  if (fd_ < 0 || bytes_.empty() || begin < bytes_.data() ||
      size > static_cast<size_t>(bytes_.data() + bytes_.size() - begin)) {
    return false;
  }
  size_t done = 0;
  const off_t offset = static_cast<off_t>(begin - bytes_.data());
  while (done < size) {
    const ssize_t n = ::pread(fd_, static_cast<uint8_t*>(out) + done, size - done,
                              offset + static_cast<off_t>(done));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

void MappedFile::Release(const void* data, size_t size) const {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t map_begin = reinterpret_cast<uintptr_t>(bytes_.data());
  const uintptr_t map_end = map_begin + bytes_.size();
  uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  uintptr_t end = begin + size;
  if (bytes_.empty() || begin < map_begin || end > map_end) return;
  begin = (begin + page - 1) / page * page;
  end = end / page * page;
  if (end > begin) {
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    this->~MappedFile();
    bytes_ = std::exchange(other.bytes_, {});
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (!bytes_.empty()) {
    ::munmap(const_cast<uint8_t*>(bytes_.data()), bytes_.size());
    bytes_ = {};
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace smallmind::core
