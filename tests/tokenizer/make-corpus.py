#!/usr/bin/env python3
"""Builds the tokenizer test text, deterministically, into OUTDIR:
text.txt (the whole text, UTF-8) and segments.json (the same text cut into
segments at line ends, a JSON array of strings whose concatenation is the
text).

Ingredients, in order:
  * corpus/multilingual.txt and corpus/code.txt (written for these tests:
    prose in many languages and scripts, emoji with ZWJ sequences and skin
    tones, whitespace runs; source code in a dozen languages);
  * the licence texts Debian's base-files package ships on every machine
    under /usr/share/common-licenses (English prose); missing ones are
    skipped;
  * generated lines from a fixed seed: numbers and dates, contractions in
    every case, whitespace runs (spaces, tabs, \\n, \\r\\n, no-break and
    ideographic spaces), long runs of one character, and "soup" lines drawn
    from a pool of letters, digits, punctuation, emoji and spaces of many
    scripts; more soup is added until the text is at least MIN_BYTES long.

Characters where JavaScript's regexes and PCRE2 (or Unicode versions)
disagree are kept out, so that the JavaScript references can judge every
id: U+0085 and U+180E (\\s in PCRE2 only), U+FEFF (\\s in JavaScript only),
U+017F (matches 's' case-insensitively) and letters newer than Unicode 14.
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_BYTES = 120_000
LICENSES = ["GPL-3", "Apache-2.0", "MPL-2.0", "LGPL-2.1", "Artistic", "BSD"]
EXCLUDED = {"\u0085", "\u180e", "\ufeff", "\u017f"}

WORDS = ("the of and to in is it you that he was for on are as with his they at be this "
         "have from or one had by word but not what all were we when your can said there use "
         "an each which she do how their if will up other about out many then them these so "
         "Haus Straße über café naïve résumé año niño мир дом солнце 世界 東京 学习 数据 "
         "한국 사랑 مرحبا كتاب नमस्ते भाषा שלום γλώσσα ไทย Việt").split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
SPACES = [" ", "  ", "   ", "    ", "\t", "\t\t", " \t", "\n", "\n\n", "\r\n", "\r\n\r\n",
          " \n", "\n ", "  \n\n  ", "\u00a0", "\u3000", "\u2009", "\u2003", " \u00a0 "]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»“”‘’„…–—•·§¶†‡※‰′″、。，！？：；（）【】「」『』")
EMOJI = ["😀", "🙂", "👍", "👍🏽", "👋🏿", "❤️", "🔥", "🚀", "🇩🇪", "🇯🇵", "👨‍👩‍👧", "🧑🏻‍💻",
         "🏳️‍🌈", "✔️", "1️⃣", "🐻‍❄️", "🤷‍♀️", "🧙🏾‍♂️", "☕", "⚽", "𝄞", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]
LETTERS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
           "äöüßéèêàçñøåæœÄÖÜÉÀÇÑ"
           "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗ"
           "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔ"
           "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"
           "あいうえおかきくけこアイウエオカキクケコ"
           "가나다라마바사아자차카타파하"
           "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
           "אבגדהוזחטיכלמנסעפצקרשת"
           "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह"
           "กขคงจฉชซญดตถทนบปผพฟมยรลวสหอ")
DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３"
MARKS = ["\u0301", "\u0308", "\u0327", "\u093f", "\u0e31", "\u200d", "\u200b", "\ufe0f"]


def numbers_and_dates(rng):
    lines = []
    for _ in range(400):
        kind = rng.randrange(8)
        if kind == 0:
            line = str(rng.randrange(10 ** rng.randrange(1, 25)))
        elif kind == 1:
            line = f"{rng.uniform(-1e6, 1e6):.{rng.randrange(0, 7)}f}"
        elif kind == 2:
            line = f"{rng.randrange(1900, 2100):04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        elif kind == 3:
            line = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}"
        elif kind == 4:
            line = f"${rng.randrange(10**7):,}.{rng.randrange(100):02d} or €{rng.randrange(10**5)},{rng.randrange(100):02d}"
        elif kind == 5:
            line = f"+{rng.randrange(1, 99)} ({rng.randrange(100, 999)}) {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}"
        elif kind == 6:
            line = f"v{rng.randrange(10)}.{rng.randrange(30)}.{rng.randrange(100)}-rc{rng.randrange(5)} build #{rng.randrange(99999)}"
        else:
            line = " ".join(str(rng.randrange(10 ** rng.randrange(1, 8))) for _ in range(rng.randrange(2, 12)))
        lines.append(line + "\n")
    return lines


def contractions(rng):
    lines = []
    for _ in range(250):
        parts = []
        for _ in range(rng.randrange(3, 12)):
            word = rng.choice(WORDS)
            if rng.random() < 0.5:
                c = rng.choice(CONTRACTIONS)
                c = "".join(ch.upper() if rng.random() < 0.5 else ch for ch in c)
                word = word + c if rng.random() < 0.8 else c + word
            parts.append(word)
        lines.append(" ".join(parts) + rng.choice([".", "!", "?", "", "'"]) + "\n")
    return lines


def whitespace(rng):
    lines = []
    for _ in range(250):
        out = rng.choice(["", " ", "\t", "  "])
        for _ in range(rng.randrange(2, 10)):
            out += rng.choice(WORDS + PUNCT[:10]) + rng.choice(SPACES)
        lines.append(out + "\n")
    return lines


def runs(rng):
    lines = []
    for ch in [" ", "\t", "\n", "-", "=", "_", ".", "a", "0", "!", "我", "😀", "▁", "\u3000"]:
        for n in (1, 2, 3, 5, 8, 13, 31, 32, 33, 64):
            lines.append("x" + ch * n + "y\n")
    return lines


def soup(rng):
    pools = [LETTERS, DIGITS, PUNCT, EMOJI, SPACES, MARKS]
    weights = [50, 10, 15, 5, 15, 2]
    out = []
    for _ in range(rng.randrange(5, 200)):
        pool = rng.choices(pools, weights)[0]
        out.append(rng.choice(pool))
    return "".join(out) + "\n"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def build():
    rng = random.Random(20240229)
    pieces = [read(os.path.join(HERE, "corpus", "multilingual.txt")),
              read(os.path.join(HERE, "corpus", "code.txt"))]
    # The same prose once more with Windows line ends.
    pieces.append(pieces[0].replace("\n", "\r\n"))
    for name in LICENSES:
        path = os.path.join("/usr/share/common-licenses", name)
        if os.path.exists(path):
            pieces.append(read(path))
    pieces.append("".join(numbers_and_dates(rng)))
    pieces.append("".join(contractions(rng)))
    pieces.append("".join(whitespace(rng)))
    pieces.append("".join(runs(rng)))
    text = "".join(pieces)
    while len(text.encode("utf-8")) < MIN_BYTES:
        text += "".join(soup(rng) for _ in range(50))
    text = "".join(ch for ch in text if ch not in EXCLUDED)
    return text, rng


def segment(text, rng):
    """Cuts after line ends, 1 to 12 lines a segment."""
    lines = text.splitlines(keepends=True)
    segments = []
    i = 0
    while i < len(lines):
        n = rng.randrange(1, 13)
        segments.append("".join(lines[i:i + n]))
        i += n
    assert "".join(segments) == text
    return segments


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    text, rng = build()
    segments = segment(text, rng)
    with open(os.path.join(out, "text.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(text)
    with open(os.path.join(out, "segments.json"), "w", encoding="utf-8") as f:
        json.dump(segments, f, ensure_ascii=False)
    print(f"{len(segments)} segments, {len(text.encode('utf-8'))} bytes, {len(text)} characters")


if __name__ == "__main__":
    main()
