#include "text/jinja.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "core/status.h"
#include "text/jinja_builtins.h"

namespace smallmind::text::jinja {

// ---- values -----------------------------------------------------------------

Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}
Value::Value(bool b) : kind_(Kind::kBool), b_(b) {}
Value::Value(int64_t i) : kind_(Kind::kInt), i_(i) {}
Value::Value(double d) : kind_(Kind::kFloat), d_(d) {}
Value::Value(std::string s)
    : kind_(Kind::kString), s_(std::make_shared<const std::string>(std::move(s))) {}
Value::Value(List list)
    : kind_(Kind::kList), list_(std::make_shared<const List>(std::move(list))) {}
Value::Value(Dict dict) : kind_(Kind::kDict), dict_(std::make_shared<Dict>(std::move(dict))) {}
Value Value::Callable(Function fn) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.fn_ = std::make_shared<const Function>(std::move(fn));
  return v;
}
Value Value::Namespace(Dict dict) {
  Value v(std::move(dict));
  v.mutable_ = true;
  return v;
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return d_ != 0;
    case Kind::kString: return !s_->empty();
    case Kind::kList: return !list_->empty();
    case Kind::kDict: return !dict_->empty();
    case Kind::kFunction: return true;
  }
  return false;
}

Value Value::Get(absl::string_view key) const {
  if (!is_dict()) return Value();
  for (const auto& [k, v] : *dict_) {
    if (k == key) return v;
  }
  return Value();
}

namespace {

// Python's repr of a float: the shortest digits that read back the same.
std::string FloatText(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

void AppendJsonString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void AppendJson(const Value& v, int indent, int depth, std::string* out) {
  const std::string newline =
      indent < 0 ? "" : "\n" + std::string(static_cast<size_t>(indent * (depth + 1)), ' ');
  const std::string close =
      indent < 0 ? "" : "\n" + std::string(static_cast<size_t>(indent * depth), ' ');
  const char* comma = indent < 0 ? ", " : ",";
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
    case Value::Kind::kFunction: out->append("null"); return;
    case Value::Kind::kBool: out->append(v.boolean() ? "true" : "false"); return;
    case Value::Kind::kInt: out->append(absl::StrCat(v.integer())); return;
    case Value::Kind::kFloat: out->append(FloatText(v.number())); return;
    case Value::Kind::kString: AppendJsonString(v.str(), out); return;
    case Value::Kind::kList:
      if (v.list().empty()) {
        out->append("[]");
        return;
      }
      out->push_back('[');
      for (size_t i = 0; i < v.list().size(); ++i) {
        if (i > 0) out->append(comma);
        out->append(newline);
        AppendJson(v.list()[i], indent, depth + 1, out);
      }
      out->append(close);
      out->push_back(']');
      return;
    case Value::Kind::kDict:
      if (v.dict().empty()) {
        out->append("{}");
        return;
      }
      out->push_back('{');
      for (size_t i = 0; i < v.dict().size(); ++i) {
        if (i > 0) out->append(comma);
        out->append(newline);
        AppendJsonString(v.dict()[i].first, out);
        out->append(": ");
        AppendJson(v.dict()[i].second, indent, depth + 1, out);
      }
      out->append(close);
      out->push_back('}');
      return;
  }
}

// Python's repr of a string inside a list or dict.
std::string Repr(const Value& v) {
  if (!v.is_string()) return v.ToString();
  return absl::StrCat("'", absl::StrReplaceAll(v.str(), {{"\\", "\\\\"}, {"'", "\\'"}}), "'");
}

}  // namespace

std::string Value::ToString() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return b_ ? "True" : "False";
    case Kind::kInt: return absl::StrCat(i_);
    case Kind::kFloat: return FloatText(d_);
    case Kind::kString: return *s_;
    case Kind::kList: {
      std::string out = "[";
      for (size_t i = 0; i < list_->size(); ++i) {
        absl::StrAppend(&out, i > 0 ? ", " : "", Repr((*list_)[i]));
      }
      return out + "]";
    }
    case Kind::kDict: {
      std::string out = "{";
      for (size_t i = 0; i < dict_->size(); ++i) {
        absl::StrAppend(&out, i > 0 ? ", " : "", Repr(Value((*dict_)[i].first)), ": ",
                        Repr((*dict_)[i].second));
      }
      return out + "}";
    }
    case Kind::kFunction: return "<function>";
  }
  return "";
}

std::string Value::ToJson(int indent) const {
  std::string out;
  AppendJson(*this, indent, 0, &out);
  return out;
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.number() == b.number();
  if (a.kind() == Value::Kind::kBool && b.kind() == Value::Kind::kBool) {
    return a.boolean() == b.boolean();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.str() == b.str();
    case Value::Kind::kList: return a.list() == b.list();
    case Value::Kind::kDict: return a.dict() == b.dict();
    default: return false;
  }
}

// ---- syntax tree --------------------------------------------------------------

struct Node {
  enum class Type {
    // expressions
    kLiteral, kVar, kAttr, kItem, kSlice, kCall, kFilter, kTest, kUnary, kBinary, kCond,
    kList, kDict,
    // statements
    kText, kPrint, kIf, kFor, kSet, kBody,
  };
  Type type;
  int line = 0;
  Value value;                   // kLiteral, kText (the text)
  std::string name;              // variable, attribute, filter, test, operator
  std::vector<std::shared_ptr<const Node>> kids;
  std::vector<std::string> names;  // kCall/kFilter/kTest: kwarg names for the
                                   // trailing kids; kFor: targets; kSet: target
  size_t positional = 0;         // kCall/kFilter/kTest: positional arguments
  bool negated = false;          // kTest: `is not`
  const Filter* filter = nullptr;  // kFilter: what `name` is, found when parsing
  const Test* test = nullptr;      // kTest
};
using NodePtr = std::shared_ptr<const Node>;

namespace {

absl::Status SyntaxError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("chat template line ", line, ": ", what));
}

// ---- the template's tags --------------------------------------------------------

struct Segment {
  enum class Kind { kText, kExpr, kStmt, kComment } kind;
  std::string text;
  int line = 1;
  bool trim_left = false, trim_right = false, keep_left = false;
};

int LinesIn(absl::string_view s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// The end of the tag whose body starts at `from`: `close`, outside string
// literals.
size_t FindClose(absl::string_view source, size_t from, absl::string_view close,
                 bool strings) {
  char quote = 0;
  for (size_t i = from; i + close.size() <= source.size(); ++i) {
    const char c = source[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (strings && (c == '\'' || c == '"')) {
      quote = c;
    } else if (source.substr(i, close.size()) == close) {
      if (i > from && source[i - 1] == '-' ) return i - 1;
      return i;
    }
  }
  return absl::string_view::npos;
}

absl::StatusOr<std::vector<Segment>> Split(absl::string_view source) {
  std::vector<Segment> out;
  size_t pos = 0;
  int line = 1;
  while (pos < source.size()) {
    size_t open = source.find('{', pos);
    while (open != absl::string_view::npos && open + 1 < source.size() &&
           source[open + 1] != '{' && source[open + 1] != '%' && source[open + 1] != '#') {
      open = source.find('{', open + 1);
    }
    if (open == absl::string_view::npos || open + 1 >= source.size()) {
      out.push_back({Segment::Kind::kText, std::string(source.substr(pos)), line});
      break;
    }
    if (open > pos) {
      out.push_back({Segment::Kind::kText, std::string(source.substr(pos, open - pos)), line});
      line += LinesIn(source.substr(pos, open - pos));
    }
    Segment tag;
    tag.line = line;
    const char kind = source[open + 1];
    tag.kind = kind == '{' ? Segment::Kind::kExpr
               : kind == '%' ? Segment::Kind::kStmt
                             : Segment::Kind::kComment;
    const absl::string_view close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    size_t body = open + 2;
    if (body < source.size() && source[body] == '-') {
      tag.trim_left = true;
      ++body;
    } else if (body < source.size() && source[body] == '+') {
      tag.keep_left = true;
      ++body;
    }
    const size_t end = FindClose(source, body, close, tag.kind != Segment::Kind::kComment);
    if (end == absl::string_view::npos) {
      return SyntaxError(line, absl::StrCat("unclosed '{", std::string(1, kind), "'"));
    }
    size_t after = end;
    if (source[end] == '-') {
      tag.trim_right = true;
      ++after;
    }
    tag.text = std::string(source.substr(body, end - body));
    line += LinesIn(source.substr(open, after + 2 - open));
    out.push_back(std::move(tag));
    pos = after + 2;
  }
  // Whitespace control: `-` strips all whitespace on its side; blocks and
  // comments also take the newline after them (trim_blocks) and the
  // indentation before them (lstrip_blocks).
  for (size_t i = 0; i < out.size(); ++i) {
    Segment& tag = out[i];
    if (tag.kind == Segment::Kind::kText) continue;
    const bool block = tag.kind != Segment::Kind::kExpr;
    if (i > 0 && out[i - 1].kind == Segment::Kind::kText) {
      std::string& before = out[i - 1].text;
      if (tag.trim_left) {
        before = std::string(absl::StripTrailingAsciiWhitespace(before));
      } else if (block && !tag.keep_left) {
        const size_t newline = before.find_last_of('\n');
        const size_t start = newline == std::string::npos ? 0 : newline + 1;
        const bool line_start = newline != std::string::npos || i == 1;
        if (line_start && before.find_first_not_of(" \t", start) == std::string::npos) {
          before.erase(start);
        }
      }
    }
    if (i + 1 < out.size() && out[i + 1].kind == Segment::Kind::kText) {
      std::string& after = out[i + 1].text;
      if (tag.trim_right) {
        after = std::string(absl::StripLeadingAsciiWhitespace(after));
      } else if (block) {
        if (absl::StartsWith(after, "\r\n")) {
          after.erase(0, 2);
        } else if (absl::StartsWith(after, "\n")) {
          after.erase(0, 1);
        }
      }
    }
  }
  return out;
}

// ---- expressions -----------------------------------------------------------

struct Token {
  enum class Kind { kName, kInt, kFloat, kString, kOp, kEnd } kind;
  std::string text;
  int64_t integer = 0;
  double real = 0;
};

absl::StatusOr<std::vector<Token>> Lex(absl::string_view s, int line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (absl::ascii_isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) {
        ++j;
      }
      out.push_back({Token::Kind::kName, std::string(s.substr(i, j - i))});
      i = j;
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[j]))) ++j;
      const bool real = j + 1 < s.size() && s[j] == '.' &&
                        absl::ascii_isdigit(static_cast<unsigned char>(s[j + 1]));
      if (real) {
        ++j;
        while (j < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[j]))) ++j;
      }
      Token t{real ? Token::Kind::kFloat : Token::Kind::kInt, std::string(s.substr(i, j - i))};
      if (real) {
        t.real = std::strtod(t.text.c_str(), nullptr);
      } else if (t.text.size() > 18) {
        return SyntaxError(line, absl::StrCat("number ", t.text, " is too large"));
      } else {
        t.integer = std::strtoll(t.text.c_str(), nullptr, 10);
      }
      out.push_back(std::move(t));
      i = j;
    } else if (c == '\'' || c == '"') {
      std::string text;
      size_t j = i + 1;
      for (; j < s.size() && s[j] != c; ++j) {
        if (s[j] != '\\' || j + 1 >= s.size()) {
          text.push_back(s[j]);
          continue;
        }
        const char e = s[++j];
        switch (e) {
          case 'n': text.push_back('\n'); break;
          case 't': text.push_back('\t'); break;
          case 'r': text.push_back('\r'); break;
          case '\\': text.push_back('\\'); break;
          case '\'': text.push_back('\''); break;
          case '"': text.push_back('"'); break;
          default: text.push_back('\\'); text.push_back(e);
        }
      }
      if (j >= s.size()) return SyntaxError(line, "unterminated string");
      out.push_back({Token::Kind::kString, std::move(text)});
      i = j + 1;
    } else {
      static constexpr const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "(", ")", "[",
                                             "]",  "{",  "}",  ".",  ",",  ":",  "|", "~", "+",
                                             "-",  "*",  "/",  "%",  "<",  ">",  "="};
      bool found = false;
      for (const char* op : kOps) {
        if (absl::StartsWith(s.substr(i), op)) {
          out.push_back({Token::Kind::kOp, op});
          i += std::strlen(op);
          found = true;
          break;
        }
      }
      if (!found) return SyntaxError(line, absl::StrCat("unexpected character '", s.substr(i, 1), "'"));
    }
  }
  out.push_back({Token::Kind::kEnd, ""});
  return out;
}

// How deeply expressions (and blocks) may nest: far beyond any template,
// and well within the stack.
constexpr int kMaxNesting = 64;

class ExprParser {
 public:
  ExprParser(std::vector<Token> tokens, int line) : tokens_(std::move(tokens)), line_(line) {}

  absl::StatusOr<NodePtr> Expression() {
    if (++depth_ > kMaxNesting) return SyntaxError(line_, "the expression is nested too deeply");
    absl::StatusOr<NodePtr> e = Conditional();
    --depth_;
    return e;
  }

  bool AtEnd() const { return Peek().kind == Token::Kind::kEnd; }
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  bool IsOp(absl::string_view op, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kOp && Peek(ahead).text == op;
  }
  bool IsName(absl::string_view name, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kName && Peek(ahead).text == name;
  }
  bool Accept(absl::string_view op) {
    if (!IsOp(op)) return false;
    ++pos_;
    return true;
  }
  bool AcceptName(absl::string_view name) {
    if (!IsName(name)) return false;
    ++pos_;
    return true;
  }
  absl::Status Expect(absl::string_view op) {
    if (Accept(op)) return absl::OkStatus();
    return SyntaxError(line_, absl::StrCat("expected '", op, "' but found '", Peek().text, "'"));
  }
  absl::StatusOr<std::string> Name() {
    if (Peek().kind != Token::Kind::kName) {
      return SyntaxError(line_, absl::StrCat("expected a name but found '", Peek().text, "'"));
    }
    return tokens_[pos_++].text;
  }

 private:
  NodePtr Make(Node::Type type, std::string name, std::vector<NodePtr> kids) const {
    auto n = std::make_shared<Node>();
    n->type = type;
    n->line = line_;
    n->name = std::move(name);
    n->kids = std::move(kids);
    return n;
  }

  absl::StatusOr<NodePtr> Conditional() {
    SM_ASSIGN_OR_RETURN(NodePtr value, Or());
    if (!IsName("if")) return value;
    ++pos_;
    SM_ASSIGN_OR_RETURN(NodePtr condition, Or());
    NodePtr otherwise;
    if (AcceptName("else")) {
      SM_ASSIGN_OR_RETURN(otherwise, Conditional());
    } else {
      auto undefined = std::make_shared<Node>();
      undefined->type = Node::Type::kLiteral;
      otherwise = undefined;
    }
    return Make(Node::Type::kCond, "", {condition, value, otherwise});
  }

  absl::StatusOr<NodePtr> Or() {
    SM_ASSIGN_OR_RETURN(NodePtr left, And());
    while (AcceptName("or")) {
      SM_ASSIGN_OR_RETURN(NodePtr right, And());
      left = Make(Node::Type::kBinary, "or", {left, right});
    }
    return left;
  }

  absl::StatusOr<NodePtr> And() {
    SM_ASSIGN_OR_RETURN(NodePtr left, Not());
    while (AcceptName("and")) {
      SM_ASSIGN_OR_RETURN(NodePtr right, Not());
      left = Make(Node::Type::kBinary, "and", {left, right});
    }
    return left;
  }

  absl::StatusOr<NodePtr> Not() {
    if (AcceptName("not")) {
      if (++depth_ > kMaxNesting) return SyntaxError(line_, "the expression is nested too deeply");
      SM_ASSIGN_OR_RETURN(NodePtr operand, Not());
      --depth_;
      return Make(Node::Type::kUnary, "not", {operand});
    }
    return Compare();
  }

  absl::StatusOr<NodePtr> Compare() {
    SM_ASSIGN_OR_RETURN(NodePtr left, Concat());
    while (true) {
      std::string op;
      if (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp(">") || IsOp("<=") || IsOp(">=")) {
        op = tokens_[pos_++].text;
      } else if (IsName("in")) {
        ++pos_;
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        pos_ += 2;
        op = "not in";
      } else {
        return left;
      }
      SM_ASSIGN_OR_RETURN(NodePtr right, Concat());
      left = Make(Node::Type::kBinary, op, {left, right});
    }
  }

  absl::StatusOr<NodePtr> Concat() {
    SM_ASSIGN_OR_RETURN(NodePtr left, Sum());
    while (Accept("~")) {
      SM_ASSIGN_OR_RETURN(NodePtr right, Sum());
      left = Make(Node::Type::kBinary, "~", {left, right});
    }
    return left;
  }

  absl::StatusOr<NodePtr> Sum() {
    SM_ASSIGN_OR_RETURN(NodePtr left, Product());
    while (IsOp("+") || IsOp("-")) {
      const std::string op = tokens_[pos_++].text;
      SM_ASSIGN_OR_RETURN(NodePtr right, Product());
      left = Make(Node::Type::kBinary, op, {left, right});
    }
    return left;
  }

  absl::StatusOr<NodePtr> Product() {
    SM_ASSIGN_OR_RETURN(NodePtr left, Unary());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const std::string op = tokens_[pos_++].text;
      SM_ASSIGN_OR_RETURN(NodePtr right, Unary());
      left = Make(Node::Type::kBinary, op, {left, right});
    }
    return left;
  }

  absl::StatusOr<NodePtr> Unary() {
    if (IsOp("-") || IsOp("+")) {
      const bool minus = IsOp("-");
      ++pos_;
      if (++depth_ > kMaxNesting) return SyntaxError(line_, "the expression is nested too deeply");
      SM_ASSIGN_OR_RETURN(NodePtr operand, Unary());
      --depth_;
      return minus ? Make(Node::Type::kUnary, "-", {operand}) : operand;
    }
    SM_ASSIGN_OR_RETURN(NodePtr node, Postfix());
    return FiltersAndTests(node);
  }

  // Arguments of a call, filter or test after its "(": positional, then
  // name=value.
  absl::Status Arguments(Node& call) {
    while (!Accept(")")) {
      if (call.kids.size() > 1) SM_RETURN_IF_ERROR(Expect(","));  // kids[0]: the callee
      if (IsOp(")")) continue;
      if (Peek().kind == Token::Kind::kName && IsOp("=", 1)) {
        call.names.push_back(tokens_[pos_].text);
        pos_ += 2;
      } else if (!call.names.empty()) {
        return SyntaxError(line_, "a positional argument after a keyword one");
      } else {
        ++call.positional;
      }
      SM_ASSIGN_OR_RETURN(NodePtr arg, Expression());
      call.kids.push_back(arg);
      if (AtEnd()) return SyntaxError(line_, "unclosed '('");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<NodePtr> FiltersAndTests(NodePtr node) {
    while (true) {
      if (Accept("|")) {
        auto filter = std::make_shared<Node>();
        filter->type = Node::Type::kFilter;
        filter->line = line_;
        SM_ASSIGN_OR_RETURN(filter->name, Name());
        filter->filter = FindFilter(filter->name);
        if (filter->filter == nullptr) {
          return SyntaxError(line_, absl::StrCat("filter '", filter->name, "' is not supported"));
        }
        filter->kids.push_back(node);
        if (Accept("(")) SM_RETURN_IF_ERROR(Arguments(*filter));
        node = filter;
      } else if (IsName("is")) {
        ++pos_;
        auto test = std::make_shared<Node>();
        test->type = Node::Type::kTest;
        test->line = line_;
        test->negated = AcceptName("not");
        SM_ASSIGN_OR_RETURN(test->name, Name());
        test->test = FindTest(test->name);
        if (test->test == nullptr) {
          return SyntaxError(line_, absl::StrCat("test '", test->name, "' is not supported"));
        }
        test->kids.push_back(node);
        if (Accept("(")) {
          SM_RETURN_IF_ERROR(Arguments(*test));
        } else if (Peek().kind == Token::Kind::kString || Peek().kind == Token::Kind::kInt ||
                   Peek().kind == Token::Kind::kFloat ||
                   (Peek().kind == Token::Kind::kName && !IsName("and") && !IsName("or") &&
                    !IsName("else") && !IsName("if") && !IsName("is") && !IsName("in") &&
                    !IsName("not"))) {
          // `x is sameas y`, `x is eq 3`: one argument without parentheses.
          SM_ASSIGN_OR_RETURN(NodePtr arg, Postfix());
          test->kids.push_back(arg);
          test->positional = 1;
        }
        node = test;
      } else {
        return node;
      }
    }
  }

  absl::StatusOr<NodePtr> Postfix() {
    SM_ASSIGN_OR_RETURN(NodePtr node, Primary());
    while (true) {
      if (Accept(".")) {
        SM_ASSIGN_OR_RETURN(std::string attr, Name());
        node = Make(Node::Type::kAttr, attr, {node});
      } else if (Accept("[")) {
        // An index or a slice [start:stop:step] (each part optional).
        std::vector<NodePtr> parts(3);
        bool slice = false;
        for (int part = 0; part < 3; ++part) {
          if (!IsOp(":") && !IsOp("]")) {
            SM_ASSIGN_OR_RETURN(parts[part], Expression());
          }
          if (!Accept(":")) break;
          slice = true;
        }
        SM_RETURN_IF_ERROR(Expect("]"));
        if (slice) {
          auto n = std::make_shared<Node>();
          n->type = Node::Type::kSlice;
          n->line = line_;
          n->kids = {node, parts[0], parts[1], parts[2]};
          node = n;
        } else {
          if (parts[0] == nullptr) return SyntaxError(line_, "empty subscript");
          node = Make(Node::Type::kItem, "", {node, parts[0]});
        }
      } else if (Accept("(")) {
        if (node->type == Node::Type::kAttr && !IsMethod(node->name)) {
          return SyntaxError(line_, absl::StrCat("method '", node->name, "' is not supported"));
        }
        auto call = std::make_shared<Node>();
        call->type = Node::Type::kCall;
        call->line = line_;
        call->kids.push_back(node);
        SM_RETURN_IF_ERROR(Arguments(*call));
        node = call;
      } else {
        return node;
      }
    }
  }

  absl::StatusOr<NodePtr> Primary() {
    const Token t = Peek();
    auto literal = [&](Value v) {
      auto n = std::make_shared<Node>();
      n->type = Node::Type::kLiteral;
      n->line = line_;
      n->value = std::move(v);
      ++pos_;
      return n;
    };
    switch (t.kind) {
      case Token::Kind::kInt: return literal(Value(t.integer));
      case Token::Kind::kFloat: return literal(Value(t.real));
      case Token::Kind::kString: {
        // Adjacent string literals concatenate.
        std::string text = t.text;
        ++pos_;
        while (Peek().kind == Token::Kind::kString) text += tokens_[pos_++].text;
        --pos_;
        return literal(Value(std::move(text)));
      }
      case Token::Kind::kName:
        if (t.text == "true" || t.text == "True") return literal(Value(true));
        if (t.text == "false" || t.text == "False") return literal(Value(false));
        if (t.text == "none" || t.text == "None") return literal(Value::None());
        ++pos_;
        return Make(Node::Type::kVar, t.text, {});
      case Token::Kind::kOp:
        if (Accept("(")) {
          SM_ASSIGN_OR_RETURN(NodePtr inner, Expression());
          SM_RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        if (Accept("[")) {
          std::vector<NodePtr> items;
          while (!Accept("]")) {
            if (!items.empty()) SM_RETURN_IF_ERROR(Expect(","));
            if (Accept("]")) break;
            SM_ASSIGN_OR_RETURN(NodePtr item, Expression());
            items.push_back(item);
            if (AtEnd()) return SyntaxError(line_, "unclosed '['");
          }
          return Make(Node::Type::kList, "", std::move(items));
        }
        if (Accept("{")) {
          std::vector<NodePtr> items;  // key, value, key, value, ...
          while (!Accept("}")) {
            if (!items.empty()) SM_RETURN_IF_ERROR(Expect(","));
            if (Accept("}")) break;
            SM_ASSIGN_OR_RETURN(NodePtr key, Expression());
            SM_RETURN_IF_ERROR(Expect(":"));
            SM_ASSIGN_OR_RETURN(NodePtr value, Expression());
            items.push_back(key);
            items.push_back(value);
            if (AtEnd()) return SyntaxError(line_, "unclosed '{'");
          }
          return Make(Node::Type::kDict, "", std::move(items));
        }
        break;
      case Token::Kind::kEnd: return SyntaxError(line_, "unexpected end of expression");
    }
    return SyntaxError(line_, absl::StrCat("unexpected '", t.text, "'"));
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int line_;
  int depth_ = 0;
};

// ---- statements ---------------------------------------------------------------

class TemplateParser {
 public:
  explicit TemplateParser(std::vector<Segment> segments) : segments_(std::move(segments)) {}

  absl::StatusOr<NodePtr> Parse() {
    std::string end;
    SM_ASSIGN_OR_RETURN(NodePtr body, Body({}, &end));
    return body;
  }

 private:
  // Statements up to one of `ends` (whose tag keyword goes to *end and whose
  // parser is left in *tail for elif/else conditions).
  absl::StatusOr<NodePtr> Body(const std::vector<std::string>& ends, std::string* end,
                               std::unique_ptr<ExprParser>* tail = nullptr) {
    auto body = std::make_shared<Node>();
    body->type = Node::Type::kBody;
    while (pos_ < segments_.size()) {
      const Segment& s = segments_[pos_++];
      switch (s.kind) {
        case Segment::Kind::kComment: break;
        case Segment::Kind::kText:
          if (!s.text.empty()) {
            auto text = std::make_shared<Node>();
            text->type = Node::Type::kText;
            text->value = Value(s.text);
            body->kids.push_back(text);
          }
          break;
        case Segment::Kind::kExpr: {
          SM_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(s.text, s.line));
          ExprParser p(std::move(tokens), s.line);
          SM_ASSIGN_OR_RETURN(NodePtr expr, p.Expression());
          if (!p.AtEnd()) {
            return SyntaxError(s.line, absl::StrCat("unexpected '", p.Peek().text, "'"));
          }
          auto print = std::make_shared<Node>();
          print->type = Node::Type::kPrint;
          print->line = s.line;
          print->kids.push_back(expr);
          body->kids.push_back(print);
          break;
        }
        case Segment::Kind::kStmt: {
          SM_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(s.text, s.line));
          auto p = std::make_unique<ExprParser>(std::move(tokens), s.line);
          SM_ASSIGN_OR_RETURN(std::string keyword, p->Name());
          if (std::find(ends.begin(), ends.end(), keyword) != ends.end()) {
            *end = keyword;
            if (tail != nullptr) *tail = std::move(p);
            return body;
          }
          SM_ASSIGN_OR_RETURN(NodePtr stmt, Statement(keyword, *p, s.line));
          if (!p->AtEnd()) {
            return SyntaxError(s.line, absl::StrCat("unexpected '", p->Peek().text, "' in '",
                                                    keyword, "'"));
          }
          body->kids.push_back(stmt);
          break;
        }
      }
    }
    if (!ends.empty()) {
      return SyntaxError(segments_.empty() ? 1 : segments_.back().line,
                         absl::StrCat("missing '", ends.back(), "'"));
    }
    return body;
  }

  absl::StatusOr<NodePtr> Statement(const std::string& keyword, ExprParser& p, int line) {
    if (depth_ >= kMaxNesting) return SyntaxError(line, "blocks are nested too deeply");
    ++depth_;
    absl::StatusOr<NodePtr> n = NestedStatement(keyword, p, line);
    --depth_;
    return n;
  }

  absl::StatusOr<NodePtr> NestedStatement(const std::string& keyword, ExprParser& p, int line) {
    auto n = std::make_shared<Node>();
    n->line = line;
    if (keyword == "if") {
      n->type = Node::Type::kIf;
      SM_ASSIGN_OR_RETURN(NodePtr condition, p.Expression());
      while (true) {
        std::string end;
        std::unique_ptr<ExprParser> tail;
        SM_ASSIGN_OR_RETURN(NodePtr body, Body({"elif", "else", "endif"}, &end, &tail));
        n->kids.push_back(condition);
        n->kids.push_back(body);
        if (end == "endif") break;
        if (end == "else") {
          SM_ASSIGN_OR_RETURN(NodePtr rest, Body({"endif"}, &end));
          auto always = std::make_shared<Node>();
          always->type = Node::Type::kLiteral;
          always->value = Value(true);
          n->kids.push_back(always);
          n->kids.push_back(rest);
          break;
        }
        SM_ASSIGN_OR_RETURN(condition, tail->Expression());
      }
      return NodePtr(n);
    }
    if (keyword == "for") {
      n->type = Node::Type::kFor;
      do {
        SM_ASSIGN_OR_RETURN(std::string target, p.Name());
        n->names.push_back(target);
      } while (p.Accept(","));
      if (!p.AcceptName("in")) return SyntaxError(line, "expected 'in' in 'for'");
      SM_ASSIGN_OR_RETURN(NodePtr iterable, p.Expression());
      NodePtr filter;
      if (iterable->type == Node::Type::kCond && iterable->kids[2]->type == Node::Type::kLiteral &&
          iterable->kids[2]->value.is_undefined()) {
        // `for x in xs if cond`: parsed as a conditional; take it apart.
        filter = iterable->kids[0];
        iterable = iterable->kids[1];
      }
      std::string end;
      SM_ASSIGN_OR_RETURN(NodePtr body, Body({"else", "endfor"}, &end));
      NodePtr otherwise;
      if (end == "else") {
        SM_ASSIGN_OR_RETURN(otherwise, Body({"endfor"}, &end));
      }
      n->kids = {iterable, body, filter, otherwise};
      return NodePtr(n);
    }
    if (keyword == "set") {
      n->type = Node::Type::kSet;
      SM_ASSIGN_OR_RETURN(std::string target, p.Name());
      n->names.push_back(target);
      if (p.Accept(".")) {
        SM_ASSIGN_OR_RETURN(std::string attr, p.Name());
        n->names.push_back(attr);
      }
      if (!p.Accept("=")) {
        return SyntaxError(line, "block 'set' (without '=') is not supported");
      }
      SM_ASSIGN_OR_RETURN(NodePtr value, p.Expression());
      n->kids.push_back(value);
      return NodePtr(n);
    }
    return SyntaxError(line, absl::StrCat("'", keyword, "' is not supported"));
  }

  std::vector<Segment> segments_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// ---- evaluation ---------------------------------------------------------------

// Python's index into a sequence of `size` (negative from the end).
std::optional<size_t> Index(int64_t i, size_t size) {
  if (i < 0) i += static_cast<int64_t>(size);
  if (i < 0 || i >= static_cast<int64_t>(size)) return std::nullopt;
  return static_cast<size_t>(i);
}

class Renderer {
 public:
  explicit Renderer(const Dict& globals) {
    scopes_.emplace_back();
    for (const auto& [k, v] : globals) scopes_.back()[k] = v;
    auto define = [&](const char* name, Function fn) {
      if (!scopes_.front().count(name)) scopes_.front()[name] = Value::Callable(std::move(fn));
    };
    define("range", [](const std::vector<Value>& args, const Dict&) -> absl::StatusOr<Value> {
      int64_t start = 0, stop = 0, step = 1;
      for (const Value& a : args) {
        if (a.kind() != Value::Kind::kInt) return absl::InvalidArgumentError("range() of a non-integer");
      }
      if (args.size() == 1) {
        stop = args[0].integer();
      } else if (args.size() >= 2) {
        start = args[0].integer();
        stop = args[1].integer();
        if (args.size() == 3) step = args[2].integer();
      }
      if (step == 0 || (stop - start) / step > 100000) {
        return absl::InvalidArgumentError("range() is empty-stepped or too long");
      }
      List out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
      return Value(std::move(out));
    });
    define("namespace", [](const std::vector<Value>& args, const Dict& kwargs) -> absl::StatusOr<Value> {
      Dict d;
      if (!args.empty() && args[0].is_dict()) d = args[0].dict();
      for (const auto& kv : kwargs) d.push_back(kv);
      return Value::Namespace(std::move(d));
    });
    define("raise_exception", [](const std::vector<Value>& args, const Dict&) -> absl::StatusOr<Value> {
      return absl::InvalidArgumentError(absl::StrCat(
          "the chat template refuses this conversation: ", args.empty() ? "" : args[0].ToString()));
    });
  }

  absl::Status Run(const Node& n, std::string* out) {
    if (++steps_ > kMaxSteps) {
      return RenderError(n.line, "the template takes too many steps");
    }
    switch (n.type) {
      case Node::Type::kBody:
        for (const NodePtr& kid : n.kids) SM_RETURN_IF_ERROR(Run(*kid, out));
        return absl::OkStatus();
      case Node::Type::kText:
        out->append(n.value.str());
        break;
      case Node::Type::kPrint: {
        SM_ASSIGN_OR_RETURN(Value v, Eval(*n.kids[0]));
        out->append(v.ToString());
        break;
      }
      case Node::Type::kIf:
        for (size_t i = 0; i + 1 < n.kids.size(); i += 2) {
          SM_ASSIGN_OR_RETURN(Value condition, Eval(*n.kids[i]));
          if (condition.Truthy()) return Run(*n.kids[i + 1], out);
        }
        break;
      case Node::Type::kFor: return For(n, out);
      case Node::Type::kSet: {
        SM_ASSIGN_OR_RETURN(Value v, Eval(*n.kids[0]));
        if (n.names.size() == 1) {
          scopes_.back()[n.names[0]] = std::move(v);
          break;
        }
        const Value ns = Lookup(n.names[0]);
        if (!ns.is_namespace()) {
          return RenderError(n.line, absl::StrCat("'", n.names[0], "' is not a namespace"));
        }
        Dict& d = ns.mutable_dict();
        auto it = std::find_if(d.begin(), d.end(), [&](const auto& kv) { return kv.first == n.names[1]; });
        if (it != d.end()) {
          it->second = std::move(v);
        } else {
          d.emplace_back(n.names[1], std::move(v));
        }
        break;
      }
      default:
        return RenderError(n.line, "an expression where a statement belongs");
    }
    if (out->size() > kMaxOutput) return RenderError(n.line, "the rendered text is too long");
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kMaxOutput = 64 << 20;
  static constexpr int64_t kMaxSteps = 2'000'000;

  Value Lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(name);
      if (found != it->end()) return found->second;
    }
    return Value();
  }

  absl::Status For(const Node& n, std::string* out) {
    SM_ASSIGN_OR_RETURN(Value iterable, Eval(*n.kids[0]));
    List items;
    if (iterable.is_list()) {
      items = iterable.list();
    } else if (iterable.is_dict()) {
      for (const auto& kv : iterable.dict()) items.emplace_back(kv.first);
    } else if (iterable.is_string()) {
      for (char c : iterable.str()) items.emplace_back(std::string(1, c));
    } else if (!iterable.is_undefined() && !iterable.is_none()) {
      return RenderError(n.line, absl::StrCat("cannot loop over a ", KindName(iterable)));
    }
    auto bind = [&](const Value& item) -> absl::Status {
      if (n.names.size() == 1) {
        scopes_.back()[n.names[0]] = item;
        return absl::OkStatus();
      }
      if (!item.is_list() || item.list().size() != n.names.size()) {
        return RenderError(n.line, "cannot unpack the loop item");
      }
      for (size_t i = 0; i < n.names.size(); ++i) scopes_.back()[n.names[i]] = item.list()[i];
      return absl::OkStatus();
    };
    // `for x in xs if cond` filters before loop.* counts.
    if (n.kids[2] != nullptr) {
      List kept;
      scopes_.emplace_back();
      for (const Value& item : items) {
        SM_RETURN_IF_ERROR(bind(item));
        SM_ASSIGN_OR_RETURN(Value keep, Eval(*n.kids[2]));
        if (keep.Truthy()) kept.push_back(item);
      }
      scopes_.pop_back();
      items = std::move(kept);
    }
    if (items.empty()) {
      return n.kids[3] != nullptr ? Run(*n.kids[3], out) : absl::OkStatus();
    }
    const int64_t length = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < length; ++i) {
      scopes_.emplace_back();
      SM_RETURN_IF_ERROR(bind(items[i]));
      scopes_.back()["loop"] = Value(Dict{
          {"index", Value(i + 1)},
          {"index0", Value(i)},
          {"revindex", Value(length - i)},
          {"revindex0", Value(length - i - 1)},
          {"first", Value(i == 0)},
          {"last", Value(i == length - 1)},
          {"length", Value(length)},
          {"previtem", i > 0 ? items[i - 1] : Value()},
          {"nextitem", i + 1 < length ? items[i + 1] : Value()},
      });
      absl::Status s = Run(*n.kids[1], out);
      scopes_.pop_back();
      SM_RETURN_IF_ERROR(s);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Value>> Args(const Node& n, size_t first, Dict* kwargs) {
    std::vector<Value> args;
    for (size_t i = first; i < n.kids.size(); ++i) {
      SM_ASSIGN_OR_RETURN(Value v, Eval(*n.kids[i]));
      const size_t k = i - first;
      if (k < n.positional) {
        args.push_back(std::move(v));
      } else {
        kwargs->emplace_back(n.names[k - n.positional], std::move(v));
      }
    }
    return args;
  }

  absl::StatusOr<Value> Eval(const Node& n) {
    if (++steps_ > kMaxSteps) return RenderError(n.line, "the template takes too many steps");
    switch (n.type) {
      case Node::Type::kLiteral: return n.value;
      case Node::Type::kVar: return Lookup(n.name);
      case Node::Type::kAttr: {
        SM_ASSIGN_OR_RETURN(Value object, Eval(*n.kids[0]));
        return object.Get(n.name);
      }
      case Node::Type::kItem: {
        SM_ASSIGN_OR_RETURN(Value object, Eval(*n.kids[0]));
        SM_ASSIGN_OR_RETURN(Value key, Eval(*n.kids[1]));
        if (object.is_dict() && key.is_string()) return object.Get(key.str());
        if ((object.is_list() || object.is_string()) && key.kind() == Value::Kind::kInt) {
          const size_t size = object.is_list() ? object.list().size() : object.str().size();
          const std::optional<size_t> i = Index(key.integer(), size);
          if (!i) return Value();
          return object.is_list() ? object.list()[*i] : Value(object.str().substr(*i, 1));
        }
        return Value();
      }
      case Node::Type::kSlice: return Slice(n);
      case Node::Type::kCall: return Call(n);
      case Node::Type::kFilter: return Filter(n);
      case Node::Type::kTest: {
        SM_ASSIGN_OR_RETURN(bool result, Test(n));
        return Value(result != n.negated);
      }
      case Node::Type::kUnary: {
        SM_ASSIGN_OR_RETURN(Value v, Eval(*n.kids[0]));
        if (n.name == "not") return Value(!v.Truthy());
        if (v.kind() == Value::Kind::kInt) return Value(-v.integer());
        if (v.kind() == Value::Kind::kFloat) return Value(-v.number());
        return RenderError(n.line, absl::StrCat("cannot negate a ", KindName(v)));
      }
      case Node::Type::kBinary: return Binary(n);
      case Node::Type::kCond: {
        SM_ASSIGN_OR_RETURN(Value condition, Eval(*n.kids[0]));
        return Eval(*n.kids[condition.Truthy() ? 1 : 2]);
      }
      case Node::Type::kList: {
        List items;
        for (const NodePtr& kid : n.kids) {
          SM_ASSIGN_OR_RETURN(Value v, Eval(*kid));
          items.push_back(std::move(v));
        }
        return Value(std::move(items));
      }
      case Node::Type::kDict: {
        Dict d;
        for (size_t i = 0; i + 1 < n.kids.size(); i += 2) {
          SM_ASSIGN_OR_RETURN(Value k, Eval(*n.kids[i]));
          SM_ASSIGN_OR_RETURN(Value v, Eval(*n.kids[i + 1]));
          d.emplace_back(k.ToString(), std::move(v));
        }
        return Value(std::move(d));
      }
      default: return RenderError(n.line, "a statement where an expression belongs");
    }
  }

  absl::StatusOr<Value> Slice(const Node& n) {
    SM_ASSIGN_OR_RETURN(Value object, Eval(*n.kids[0]));
    int64_t bounds[3] = {0, 0, 1};
    bool given[3] = {false, false, false};
    for (int i = 0; i < 3; ++i) {
      if (n.kids[i + 1] == nullptr) continue;
      SM_ASSIGN_OR_RETURN(Value v, Eval(*n.kids[i + 1]));
      if (v.is_none()) continue;
      if (v.kind() != Value::Kind::kInt) return RenderError(n.line, "a slice bound is not an integer");
      bounds[i] = v.integer();
      given[i] = true;
    }
    const int64_t step = bounds[2];
    if (step == 0) return RenderError(n.line, "a slice step of zero");
    if (!object.is_list() && !object.is_string()) return Value();
    const int64_t size = static_cast<int64_t>(object.is_list() ? object.list().size()
                                                               : object.str().size());
    auto clamp = [&](int64_t i, bool is_given, int64_t fallback) {
      if (!is_given) return fallback;
      if (i < 0) i += size;
      return step > 0 ? std::clamp<int64_t>(i, 0, size) : std::clamp<int64_t>(i, -1, size - 1);
    };
    const int64_t start = clamp(bounds[0], given[0], step > 0 ? 0 : size - 1);
    const int64_t stop = clamp(bounds[1], given[1], step > 0 ? size : -1);
    List items;
    std::string text;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (object.is_list()) {
        items.push_back(object.list()[static_cast<size_t>(i)]);
      } else {
        text.push_back(object.str()[static_cast<size_t>(i)]);
      }
    }
    return object.is_list() ? Value(std::move(items)) : Value(std::move(text));
  }

  absl::StatusOr<Value> Call(const Node& n) {
    Dict kwargs;
    SM_ASSIGN_OR_RETURN(std::vector<Value> args, Args(n, 1, &kwargs));
    const Node& callee = *n.kids[0];
    if (callee.type == Node::Type::kAttr) {
      SM_ASSIGN_OR_RETURN(Value object, Eval(*callee.kids[0]));
      const Value member = object.Get(callee.name);
      if (member.kind() == Value::Kind::kFunction) return member.function()(args, kwargs);
      absl::StatusOr<Value> result = CallMethod(object, callee.name, {args, kwargs, n.line});
      if (absl::IsNotFound(result.status())) {
        return RenderError(n.line, absl::StrCat("'", callee.name, "' is not a method of a ",
                                                KindName(object)));
      }
      return result;
    }
    SM_ASSIGN_OR_RETURN(Value fn, Eval(callee));
    if (fn.kind() != Value::Kind::kFunction) {
      return RenderError(n.line, absl::StrCat("'", callee.name, "' is not a function"));
    }
    absl::StatusOr<Value> result = fn.function()(args, kwargs);
    if (!result.ok()) return RenderError(n.line, result.status().message());
    return result;
  }

  absl::StatusOr<Value> Filter(const Node& n) {
    SM_ASSIGN_OR_RETURN(Value v, Eval(*n.kids[0]));
    Dict kwargs;
    SM_ASSIGN_OR_RETURN(std::vector<Value> args, Args(n, 1, &kwargs));
    return n.filter->apply(v, {args, kwargs, n.line});
  }

  absl::StatusOr<bool> Test(const Node& n) {
    SM_ASSIGN_OR_RETURN(Value v, Eval(*n.kids[0]));
    Dict kwargs;
    SM_ASSIGN_OR_RETURN(std::vector<Value> args, Args(n, 1, &kwargs));
    return n.test->apply(v, {args, kwargs, n.line});
  }

  absl::StatusOr<Value> Binary(const Node& n) {
    const std::string& op = n.name;
    SM_ASSIGN_OR_RETURN(Value a, Eval(*n.kids[0]));
    // and / or return an operand, short-circuiting, as in Python.
    if (op == "and") return a.Truthy() ? Eval(*n.kids[1]) : a;
    if (op == "or") return a.Truthy() ? a : Eval(*n.kids[1]);
    SM_ASSIGN_OR_RETURN(Value b, Eval(*n.kids[1]));
    if (op == "==") return Value(a == b);
    if (op == "!=") return Value(!(a == b));
    if (op == "~") return Value(a.ToString() + b.ToString());
    if (op == "in" || op == "not in") {
      bool found = false;
      if (b.is_string() && a.is_string()) {
        found = absl::StrContains(b.str(), a.str());
      } else if (b.is_list()) {
        found = std::find(b.list().begin(), b.list().end(), a) != b.list().end();
      } else if (b.is_dict() && a.is_string()) {
        found = !b.Get(a.str()).is_undefined();
      } else if (!b.is_undefined() && !b.is_none()) {
        return RenderError(n.line, absl::StrCat("'in' a ", KindName(b)));
      }
      return Value(found != (op == "not in"));
    }
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      int order;
      if (a.is_number() && b.is_number()) {
        order = a.number() < b.number() ? -1 : a.number() > b.number() ? 1 : 0;
      } else if (a.is_string() && b.is_string()) {
        order = a.str().compare(b.str());
      } else {
        return RenderError(n.line, absl::StrCat("cannot compare a ", KindName(a), " with a ",
                                                KindName(b)));
      }
      return Value(op == "<" ? order < 0 : op == ">" ? order > 0 : op == "<=" ? order <= 0 : order >= 0);
    }
    if (op == "+") {
      if (a.is_string() && b.is_string()) return Value(a.str() + b.str());
      if (a.is_list() && b.is_list()) {
        List joined = a.list();
        joined.insert(joined.end(), b.list().begin(), b.list().end());
        return Value(std::move(joined));
      }
    }
    if (a.is_number() && b.is_number()) {
      const bool ints = a.kind() == Value::Kind::kInt && b.kind() == Value::Kind::kInt;
      if (op == "+") return ints ? Value(a.integer() + b.integer()) : Value(a.number() + b.number());
      if (op == "-") return ints ? Value(a.integer() - b.integer()) : Value(a.number() - b.number());
      if (op == "*") return ints ? Value(a.integer() * b.integer()) : Value(a.number() * b.number());
      if (b.number() == 0) return RenderError(n.line, "division by zero");
      if (op == "/") return Value(a.number() / b.number());
      if (op == "//") {
        return ints ? Value(static_cast<int64_t>(std::floor(a.number() / b.number())))
                    : Value(std::floor(a.number() / b.number()));
      }
      if (op == "%") {
        if (ints) {
          const int64_t m = a.integer() % b.integer();
          return Value((m != 0 && (m < 0) != (b.integer() < 0)) ? m + b.integer() : m);
        }
        return Value(std::fmod(a.number(), b.number()));
      }
    }
    if (op == "*" && a.is_string() && b.kind() == Value::Kind::kInt && b.integer() >= 0 &&
        b.integer() < 100000) {
      std::string out;
      for (int64_t i = 0; i < b.integer(); ++i) out += a.str();
      return Value(std::move(out));
    }
    return RenderError(n.line, absl::StrCat("cannot apply '", op, "' to a ", KindName(a),
                                            " and a ", KindName(b)));
  }

  std::vector<std::map<std::string, Value>> scopes_;
  int64_t steps_ = 0;
};

}  // namespace

absl::StatusOr<Template> Template::Parse(absl::string_view source) {
  SM_ASSIGN_OR_RETURN(std::vector<Segment> segments, Split(source));
  TemplateParser parser(std::move(segments));
  Template t;
  SM_ASSIGN_OR_RETURN(t.root_, parser.Parse());
  return t;
}

absl::StatusOr<std::string> Template::Render(const Dict& globals) const {
  Renderer renderer(globals);
  std::string out;
  SM_RETURN_IF_ERROR(renderer.Run(*root_, &out));
  return out;
}

}  // namespace smallmind::text::jinja
