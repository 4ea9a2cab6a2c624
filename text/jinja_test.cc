#include "text/jinja.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smallmind::text::jinja {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Render(const std::string& source, const Dict& globals = {}) {
  absl::StatusOr<Template> t = Template::Parse(source);
  if (!t.ok()) return "PARSE: " + std::string(t.status().message());
  absl::StatusOr<std::string> out = t->Render(globals);
  if (!out.ok()) return "RENDER: " + std::string(out.status().message());
  return *out;
}

TEST(JinjaTest, TextExpressionsAndLiterals) {
  EXPECT_EQ(Render("plain"), "plain");
  EXPECT_EQ(Render("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 1 / 2 }}"), "7 3 1 2 0.5");
  EXPECT_EQ(Render("{{ 'a' + \"b\" ~ 3 }}{{ 'x' 'y' }}"), "ab3xy");
  EXPECT_EQ(Render("{{ true }} {{ none }} {{ [1, 'a'] }} {{ {'k': 2} }}"), "True None [1, 'a'] {'k': 2}");
  EXPECT_EQ(Render("{{ undefined_name }}|{{ x.y }}"), "|");
  EXPECT_EQ(Render("{{ 'a\\nb\\t\\'q\\'' }}"), "a\nb\t'q'");
  EXPECT_EQ(Render("{{ 1 if false else 2 }}{{ 3 if true }}{{ 4 if false }}"), "23");
}

TEST(JinjaTest, WhitespaceControlAsHuggingFaceSetsIt) {
  // `-` strips all whitespace on its side.
  EXPECT_EQ(Render("a  {{- 'b' -}}  \n c"), "abc");
  // Blocks take their line's indentation and the newline after them.
  EXPECT_EQ(Render("x\n  {% if true %}\n  y\n  {% endif %}\nz"), "x\n  y\nz");
  EXPECT_EQ(Render("{# note #}\nA"), "A");
  // Not an expression's newline, and not indentation after other text.
  EXPECT_EQ(Render("{{ 'a' }}\nb {% if true %}c{% endif %}"), "a\nb c");
  // `+` keeps the indentation.
  EXPECT_EQ(Render("  {%+ if true %}x{% endif %}"), "  x");
}

TEST(JinjaTest, ControlFlow) {
  const Dict g = {{"xs", Value(List{Value(1), Value(2), Value(3)})}};
  EXPECT_EQ(Render("{% for x in xs %}{{ loop.index }}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", g),
            "11,22,33");
  EXPECT_EQ(Render("{% for x in xs if x != 2 %}{{ loop.index0 }}:{{ x }} {% endfor %}", g), "0:1 1:3 ");
  EXPECT_EQ(Render("{% for x in [] %}a{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(Render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
  EXPECT_EQ(Render("{% if 0 %}a{% elif '' %}b{% elif [0] %}c{% else %}d{% endif %}"), "c");
  // set in a loop stays in it; a namespace carries values out.
  EXPECT_EQ(Render("{% set n = 0 %}{% for x in xs %}{% set n = x %}{% endfor %}{{ n }}", g), "0");
  EXPECT_EQ(Render("{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}"
                   "{% endfor %}{{ ns.n }}",
                   g),
            "6");
}

TEST(JinjaTest, FiltersTestsAndMethods) {
  EXPECT_EQ(Render("{{ '  a b  ' | trim }}|{{ 'ab' | upper }}|{{ [1,2,3] | length }}|{{ 'x' | length }}"),
            "a b|AB|3|1");
  EXPECT_EQ(Render("{{ [1, 2] | join('-') }}|{{ x | default('d') }}|{{ '' | default('e', true) }}"), "1-2|d|e");
  EXPECT_EQ(Render("{{ {'a': [1, 'x', true, none]} | tojson }}"), "{\"a\": [1, \"x\", true, null]}");
  EXPECT_EQ(Render("{{ {'a': 1} | tojson(indent=2) }}"), "{\n  \"a\": 1\n}");
  EXPECT_EQ(Render("{{ 'é\"\\n' | tojson }}"), "\"é\\\"\\n\"");
  EXPECT_EQ(Render("{{ x is defined }}{{ none is none }}{{ 'a' is string }}{{ 1 is not string }}"
                   "{{ {} is mapping }}{{ false is false }}{{ 3 is odd }}"),
            "FalseTrueTrueTrueTrueTrueTrue");
  EXPECT_EQ(Render("{{ '  x\\n'.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ 'ab'.startswith('a') }}"
                   "|{{ 'a,b'.split(',')[-1] }}|{{ 'a b'.split() }}|{{ 'aXa'.replace('X', '-') }}"),
            "x|a|True|b|['a', 'b']|a-a");
  EXPECT_EQ(Render("{{ [1,2,3,4][::-1] }}{{ [1,2,3][1:] }}{{ 'abcd'[1:3] }}{{ [1,2,3][-1] }}"),
            "[4, 3, 2, 1][2, 3]bc3");
  EXPECT_EQ(Render("{{ 'a' in 'cat' }}{{ 2 in [1, 2] }}{{ 'k' in {'k': 1} }}{{ 3 not in [1] }}"),
            "TrueTrueTrueTrue");
  EXPECT_EQ(Render("{{ {'a': 1}.get('b', 5) }}{{ range(3) | list }}"), "5[0, 1, 2]");
  // escape is markupsafe's (templates render with autoescape off).
  EXPECT_EQ(Render("{{ '<a href=\"x\">&</a>' | e }}|{{ \"it's\" | e }}|{{ 3 | escape }}"
                   "|{{ 'x<' | safe }}"),
            "&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;|it&#39;s|3|x<");
}

TEST(JinjaTest, ErrorsNameTheConstruct) {
  EXPECT_THAT(Render("{% macro f() %}{% endmacro %}"), HasSubstr("'macro' is not supported"));
  EXPECT_THAT(Render("{% if true %}x"), HasSubstr("missing 'endif'"));
  EXPECT_THAT(Render("{{ 1 +"), HasSubstr("unclosed '{{'"));
  EXPECT_THAT(Render("a\nb\n{{ 1 + }}"), HasSubstr("line 3"));
  EXPECT_THAT(Render("{{ x | nonesuch }}"), HasSubstr("filter 'nonesuch' is not supported"));
  EXPECT_THAT(Render("{{ x is nonesuch }}"), HasSubstr("test 'nonesuch' is not supported"));
  EXPECT_THAT(Render("{{ raise_exception('no way') }}"), HasSubstr("no way"));
  EXPECT_THAT(Render("{{ 1 - 'a' }}"), HasSubstr("cannot apply '-'"));
  EXPECT_THAT(Render("{{ 'a'.nonesuch() }}"), HasSubstr("method 'nonesuch' is not supported"));
  // Names are resolved when the template is parsed, so a branch no render
  // reaches is checked too.
  EXPECT_THAT(Render("{% if false %}\n{{ x | nonesuch }}{% endif %}"),
              AllOf(HasSubstr("PARSE: chat template line 2"),
                    HasSubstr("filter 'nonesuch' is not supported")));
  EXPECT_THAT(Render("{% if false %}{{ x is nonesuch }}{% endif %}"), HasSubstr("PARSE:"));
  // A method of another kind of value is found only when rendering.
  EXPECT_THAT(Render("{{ 'a'.items() }}"), HasSubstr("'items' is not a method of a string"));
  EXPECT_THAT(Render("{{ 'unterminated }}"), HasSubstr("unclosed '{{'"));
  EXPECT_THAT(Render("{{ 1 @ 2 }}"), HasSubstr("unexpected character '@'"));
  EXPECT_THAT(Render("{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}"),
              HasSubstr("nested too deeply"));
  EXPECT_THAT(Render("{{ " + std::string(500, '-') + "1 }}"), HasSubstr("nested too deeply"));
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{% if true %}";
  EXPECT_THAT(Render(deep), HasSubstr("blocks are nested too deeply"));
  EXPECT_THAT(Render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
              HasSubstr("too many steps"));
}

}  // namespace
}  // namespace smallmind::text::jinja
