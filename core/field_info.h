// How an option field is named where users set it. Option structs list
// their fields once, in a member
//   template <class Visitor> void VisitFields(Visitor&& v) {
//     v(top_k, {"top-k", 0, "top_k", "top-k sampling; 0 is off"});
//   }
// and everything that reads or prints options walks that list: the
// command line's flag parser and help, the HTTP server's request parser,
// and the tests that check nothing is left out (gemma.cpp's argument
// visitors do the same).
#ifndef SMALLMIND_CORE_FIELD_INFO_H_
#define SMALLMIND_CORE_FIELD_INFO_H_

namespace smallmind::core {

struct FieldInfo {
  const char* flag;  // the command-line flag, dashed, without "--": "top-k"
  char short_flag;   // 'n' for -n, or 0
  const char* key;   // the name in JSON requests and APIs ("top_k"), or
                     // nullptr when it has none there
  const char* help;
};

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_FIELD_INFO_H_
