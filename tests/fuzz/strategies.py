"""Text that arrives from outside: any Unicode (lone surrogates, NULs, controls included)."""

from __future__ import annotations

from hypothesis import strategies as st

#: Every code point, surrogates included: Telegram's JSON can carry "\ud83d" alone.
any_text = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF))

#: Text a customer plausibly types, with hostile bits mixed in.
_PIECES = st.sampled_from(
    [
        "我的快递三天还没到",
        "請問你們幾點關門",
        "where is my order",
        "投诉",
        "{{ 7*7 }}",
        "{% for %}",
        "<b>x</b>",
        "\x00",
        "\ud83d",
        "😀",
        "\u200b",
        "这是公司的规定",
        " ",
        "\n",
        "=cmd|' /C calc'!A0",
        "ａｂｃ",
    ]
)
customer_text = st.one_of(any_text, st.lists(st.one_of(_PIECES, any_text), max_size=6).map("".join))

#: Bytes for files: anything, or text in UTF-8 / GBK with structure characters mixed in.
_STRUCTURE = st.sampled_from(
    [",", "\n", "\r\n", '"', "'", ":", "-", " ", "\t", "#", "[", "]", "{", "}", "|", ">", "&", "*"]
)
structured_text = st.lists(st.one_of(_STRUCTURE, _PIECES, any_text), max_size=30).map("".join)
file_bytes = st.one_of(
    st.binary(max_size=400),
    structured_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    structured_text.map(lambda t: t.encode("gb18030", "replace")),
)
