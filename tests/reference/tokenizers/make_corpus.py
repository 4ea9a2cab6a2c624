#!/usr/bin/env python3
"""Writes corpus.jsonl: the texts the tokenizer tests encode, one JSON
string per line (multilingual prose, code, emoji, numbers, whitespace and
punctuation edge cases). Deterministic; run from the repository root:
  python3 tests/reference/tokenizers/make_corpus.py
"""
import json
import random

random.seed(7)
prose = [
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged, isn't it? They'll say we'd've known.",
    "DON'T SHOUT! I'M LISTENING; YOU'RE LOUD, AREN'T YOU?",
    "Mr. O'Neil's cat—named \"Whiskers\"—wasn't amused (at all).",
    "In 1969, 600,000,000 people watched; in 2024 it was 3.14159 billion.",
    "Call 555-0123 or +1 (800) 123-4567 before 09:30 a.m. on 2026-11-25.",
    "Prices: $12.99, €7,50, £3.20, ¥1200, ₹499.00 — all incl. VAT.",
    "She said: 'Hello?' He replied: \"Hi!\" Then... silence.",
    "Once upon a time, there was a little girl named Lily. She loved to play outside.",
    "The mitochondria is the powerhouse of the cell; ATP synthesis occurs there.",
    "email me at someone.name+tag@example.co.uk or visit https://example.org/a/b?c=1&d=2#frag",
    "C:\\Users\\Public\\Documents\\report_final(2).docx was 1.2 MB.",
    "A  double  spaced   sentence    with     growing      gaps.",
    "   leading spaces and trailing spaces   ",
    "\ttab\tseparated\tvalues\t1\t2\t3",
    "line one\nline two\n\nline four after a blank line",
    "windows\r\nline endings\r\nhere",
    "trailing newlines\n\n\n",
    "\n\nleading newlines",
    "mixed \t \n whitespace \u00a0 nbsp \u2003 em-space \u3000 ideographic",
    "12345678901234567890 and 1,234,567.89 and 0.000001 and 1e-9 and -42",
    "v1.2.3-beta+build.456, semver 10.0.0-rc.1",
    "3×4=12, 10÷2=5, √16=4, ∑x², ∫f(x)dx, π≈3.14, ∞ ≠ −∞, ≤ ≥ ±",
    "Temperature: -3°C (26.6°F); humidity 87%; wind 15 km/h NNE.",
    "The year 2000 problem (Y2K) affected COBOL systems written in the 1960s–1980s.",
    "ALLCAPSWORDSWITHOUTSPACES and camelCaseIdentifiers and snake_case_names",
    "hyphenated-compound-words, well-known state-of-the-art long-term",
    "Ellipsis… em—dash – en-dash ‘curly’ “quotes” «guillemets» ‹single›",
    "#hashtag @mention $cashtag %percent ^caret &amp; *star* _under_ ~tilde~",
    "[brackets] {braces} (parens) <angles> |pipes| \\backslash/ /slash\\",
]
multi = [
    "Bonjour, ça va ? Très bien, merci ! L'été dernier, nous sommes allés à Noël.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein. Straße, Fußgänger, Größe.",
    "¿Dónde está la biblioteca? ¡Está allí, señor! Año, niño, corazón.",
    "Português: não, ação, coração, avó, você está bem?",
    "Italiano: perché, città, più, così è la vita.",
    "Nederlands: één, twee, drie; ijsje, Ĳssel.",
    "Polski: zażółć gęślą jaźń. Łódź, Kraków, Gdańsk.",
    "Čeština: Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Türkçe: Pijamalı hasta yağız şoföre çabucak güvendi. İstanbul, ılık.",
    "Русский: Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Українська: Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів!",
    "Ελληνικά: Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Αθήνα, Θεσσαλονίκη.",
    "עברית: דג סקרן שט בים מאוכזב ולפתע מצא חברה.",
    "العربية: نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر.",
    "فارسی: به نام خداوند جان و خرد، کزین برتر اندیشه برنگذرد.",
    "हिन्दी: ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम।",
    "বাংলা: আমি বাংলায় গান গাই। ঢাকা, কলকাতা।",
    "தமிழ்: யாமறிந்த மொழிகளிலே தமிழ்மொழி போல் இனிதாவது எங்கும் காணோம்.",
    "ไทย: เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน",
    "Tiếng Việt: Tôi có thể ăn thủy tinh mà không hại gì. Hà Nội, Sài Gòn.",
    "中文：我能吞下玻璃而不伤身体。北京、上海、广州和深圳都是大城市。",
    "繁體中文：我們今天去台北一〇一大樓看煙火，真是太漂亮了！",
    "日本語：私はガラスを食べられます。それは私を傷つけません。東京、大阪、京都。",
    "カタカナとひらがな：コンピューター、ありがとう、すみません。",
    "한국어: 나는 유리를 먹을 수 있어요. 그래도 아프지 않아요. 서울, 부산.",
    "Монгол: Би шил идэж чадна, надад хортой биш.",
    "ქართული: მინას ვჭამ და არა მტკივა.",
    "Հայերեն: Կրնամ ապակի ուտել և ինծի անհանգիստ չըներ։",
    "አማርኛ: ብርጭቆ መብላት እችላለሁ፣ አይጎዳኝም።",
    "Kiswahili: Ninaweza kula bilauri na sikunyui.",
    "Íslenska: Ég get etið gler án þess að meiða mig. Þórsmörk, Ævar.",
    "Suomi: Voin syödä lasia, se ei vahingoita minua. Äänekoski, Ylöjärvi.",
    "Dansk/Norsk: Jeg kan spise glas, det gør ikke ondt på mig. Blåbærsyltetøy, Ærø.",
    "Română: Pot să mănânc sticlă și ea nu mă rănește. Țară, știință.",
    "Magyar: Meg tudom enni az üveget, nem lesz tőle bajom. Árvíztűrő tükörfúrógép.",
    "Combining marks: e\u0301 a\u0300 o\u0308 n\u0303 (decomposed) vs é à ö ñ (composed)",
    "Ligatures and fullwidth: ﬁ ﬂ ﬀ Ｆｕｌｌｗｉｄｔｈ １２３ ＡＢＣ",
    "Math letters: 𝐀𝐁𝐂 𝒜ℬ𝒞 𝔄𝔅ℭ 𝕏𝕐ℤ and superscripts x² y³ H₂O",
    # (Not U+FEFF: JavaScript's \s matches it, Unicode's White_Space does not.)
    "Zero-width: a\u200bb c\u200cd e\u200df and word joiner \u2060here",
    "Mixed scripts: Hello世界 Привет мир こんにちは world مرحبا שלום",
]
emoji = [
    "I love pizza 🍕 and sushi 🍣! 😀😃😄😁",
    "Family: 👨‍👩‍👧‍👦 couple: 👩‍❤️‍👨 technologist: 👩🏽‍💻",
    "Flags: 🇺🇸 🇯🇵 🇩🇪 🇧🇷 🇮🇳 🏳️‍🌈 🏴‍☠️",
    "Skin tones: 👋🏻 👋🏼 👋🏽 👋🏾 👋🏿",
    "Keycaps: 1️⃣ 2️⃣ #️⃣ *️⃣ and symbols ©️ ®️ ™️",
    "Weather ☀️🌤️⛅🌧️⛈️🌩️❄️☃️ and hearts ❤️🧡💛💚💙💜🖤🤍🤎",
    "😂😂😂 lol!!! 🤣🤣 so funny 🙃",
    "Animals 🐶🐱🐭🐹🐰🦊🐻🐼🐨🐯🦁🐮🐷🐸🐵",
    "Rocket launch 🚀 in 3... 2... 1... 💥🔥✨",
    "emoji-without-spaces🙂between🙂words🙂here",
    "Math and emoji: 2+2=4 ✅, 2+2=5 ❌",
    "Old emoticons :-) ;-) :D XD <3 ¯\\_(ツ)_/¯ (╯°□°)╯︵ ┻━┻",
    "Box drawing ┌─┬─┐ │ │ │ ├─┼─┤ └─┴─┘ and arrows ← ↑ → ↓ ↔ ⇒",
    "Music ♩ ♪ ♫ ♬ and chess ♔♕♖♗♘♙ and cards ♠♥♦♣",
    "Rare: 𓀀 𓁿 (hieroglyphs) 𐍈 (gothic) 🜁 (alchemy) 🀄 (mahjong)",
]
code = [
    "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)",
    "for (int i = 0; i < n; ++i) {\n  sum += a[i] * b[i];\n}",
    "#include <iostream>\nint main() { std::cout << \"Hello, world!\\n\"; return 0; }",
    "const add = (a, b) => a + b; console.log(`sum: ${add(1, 2)}`);",
    "SELECT name, COUNT(*) AS n FROM users WHERE age >= 18 GROUP BY name ORDER BY n DESC;",
    "{\"key\": \"value\", \"list\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "<div class=\"container\"><p id='x'>Text &amp; more</p></div>",
    "fn main() { let v: Vec<i32> = (0..10).map(|x| x * x).collect(); println!(\"{:?}\", v); }",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}",
    "public static void main(String[] args) throws IOException { System.out.println(args.length); }",
    "$ ls -la /usr/local/bin | grep -E '^-rwx' | awk '{print $9}' > out.txt 2>&1",
    "if [[ -z \"${VAR:-}\" ]]; then echo \"unset\"; fi",
    "x = np.array([[1.0, 2.0], [3.0, 4.0]]); y = x @ x.T  # matrix product",
    "    indented with four spaces\n\tand a tab\n        and eight spaces",
    "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');",
    "regex: ^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)$",
    "diff --git a/file.c b/file.c\n@@ -1,3 +1,4 @@\n-old line\n+new line",
    "matrix[i][j] += alpha * (x[i] - mean) / (stddev + 1e-5f);",
    "template <typename T> constexpr T square(T x) noexcept { return x * x; }",
    "print(f\"{name!r:>10} | {value:08.3f} | {pct:.1%}\")",
    "lambda x, *args, **kwargs: (x, args, kwargs)",
    "# Heading\n\n- item one\n- item **two**\n1. numbered `code`\n\n> quote",
    "| col1 | col2 |\n|------|------|\n| a    | b    |",
    "0x1F600 0b1010 0o755 1_000_000 3.0e+8 .5 5. 1L 2u 3.0f",
    "if (a && b || !c) { return a ? b : c; } else if (x != y) {}",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><root attr=\"1\"/>",
    "@decorator\nclass Foo(Base, metaclass=Meta):\n    __slots__ = ('a', 'b')",
    "git commit -m \"Fix: handle edge-case in parser (#123)\" && git push origin main",
    "\\begin{equation} E = mc^2 \\end{equation} and $\\frac{a}{b}$",
    "ERROR 2026-11-25T23:59:59.999Z [worker-3] java.lang.NullPointerException at Foo.bar(Foo.java:42)",
]
lines = prose + multi + emoji + code
for c in ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D"]:
    lines.append(f"it{c} we{c} they{c} x{c}y {c} ''{c}")
for n in range(1, 21):
    lines.append(" ".join(str(random.randint(0, 10**n)) for _ in range(3)) + f" digits{n}")
for k in range(1, 17):
    lines.append("word" + " " * k + "word" + "\t" * (k % 4) + "end" + "\n" * (k % 3))
puncts = "!?.,;:-_=+*/\\|@#$%^&~`'\"()[]{}<>"
for k in range(20):
    s = "".join(random.choice(puncts) for _ in range(random.randint(1, 12)))
    lines.append(f"punct{k} {s} after{s}word")
words = "the of and to in is was for on that with as by at it from be this are have an".split()
accented = ["naïve", "café", "résumé", "coöperate", "façade", "jalapeño", "smörgåsbord",
            "Zürich", "São", "Dvořák"]
for k in range(70):
    ws = [random.choice(words + accented) for _ in range(random.randint(3, 15))]
    if k % 3 == 0:
        ws = [w.capitalize() for w in ws]
    if k % 5 == 0:
        ws = [w.upper() for w in ws]
    lines.append(" ".join(ws) + random.choice([".", "!", "?", "", "...", ",", ";"]))
for k in range(30):
    a = random.choice(multi).split(":", 1)[-1].strip()
    b = random.choice(emoji)
    lines.append(a[: random.randint(5, len(a))] + " " + b[: random.randint(2, len(b))])
for k in range(25):
    c = random.choice(code)
    start = random.randint(0, max(0, len(c) - 10))
    lines.append(c[start:start + random.randint(10, 60)])
assert len(lines) >= 300, len(lines)
with open("tests/reference/tokenizers/corpus.jsonl", "w") as f:
    f.write("\n".join(json.dumps(l, ensure_ascii=False) for l in lines) + "\n")
print(len(lines), "lines")
