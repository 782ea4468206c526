"""Question frames: the words around a question that say "this is a question", not what about.

"想問下點樣申請退款?" is a refund question wearing an inquiry frame (想問下 = "may I ask").
The coarse ``inquiry`` intent is taught with exactly such frames, so a framed FAQ question
scores higher as a generic inquiry (which answers with a clarifying question) than as the
FAQ that answers it. The matcher therefore scores a framed question a second time with its
leading frame removed (`strip_frames`) and takes the FAQ that the bare topic finds.

Frames are matched on normalised text (`intents.normalize`: Simplified, lower case, no
punctuation), longest first, and repeatedly ("不好意思 想请教一下 ..."). Only leading
frames are removed: a frame inside a sentence is part of what it says.
"""

from __future__ import annotations

__all__ = ["strip_frames"]

# Mainland, Taiwan and Hong Kong (Cantonese) openers, after normalisation to Simplified.
_CHINESE = (
    "你好",
    "您好",
    "哈喽",
    "在吗",
    "在不在",
    "亲",
    "hello",
    "hi",
    "不好意思",
    "打扰一下",
    "打扰了",
    "麻烦问一下",
    "麻烦问下",
    "麻烦你",
    "麻烦",
    "唔该",
    "唔该晒",
    "请问一下",
    "请问下",
    "请问",
    "想请问一下",
    "想请问",
    "想请教一下",
    "请教一下",
    "请教",
    "想问一下",
    "想问下",
    "想问问",
    "想问",
    "我想问一下",
    "我想问下",
    "我想问问",
    "我想问",
    "问一下",
    "问下",
    "问问",
    "咨询一下",
    "想咨询一下",
    "想咨询",
    "我想咨询一下",
    "我想咨询",
    "我想知道",
    "想知道",
    "我想了解一下",
    "想了解一下",
    "想了解",
    "可以问一下",
    "可以问下",
    "可唔可以问下",
    "我想问你哋",
    "想问你哋",
    "想问你们",
    "我想问你们",
    "问你们",
    "问你哋",
)
_ENGLISH = (
    "hello",
    "hi",
    "hey",
    "excuse me",
    "sorry",
    "quick question",
    "question",
    "can you tell me",
    "could you tell me",
    "can u tell me",
    "please tell me",
    "tell me",
    "i want to know",
    "i would like to know",
    "id like to know",
    "i wanna know",
    "may i ask",
    "can i ask",
    "could i ask",
    "i have a question",
    "i have a question about",
    "just wondering",
    "i was wondering",
    "wondering",
    "please",
    "pls",
)
# Longest first, so "请问一下" goes before "请问" and leaves no stray "一下".
_FRAMES = tuple(sorted({*_CHINESE, *_ENGLISH}, key=len, reverse=True))


def strip_frames(normalized: str) -> str:
    """`normalized` without its leading question frames (unchanged when it has none).

    Never strips a message down to nothing: a message that is only a frame ("请问") is a
    bare inquiry, and stays one.
    """
    text = normalized.strip()
    while True:
        for frame in _FRAMES:
            if text.startswith(frame):
                rest = text[len(frame) :].lstrip()
                # an English frame must end at a word boundary ("hi" is not "history")
                if frame.isascii() and rest and text[len(frame)] not in " ":
                    continue
                if not rest:
                    return text
                text = rest
                break
        else:
            return text
