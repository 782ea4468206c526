"""Per-customer conversation state and the small talk that only makes sense in context.

`Dialogue` is what the bot remembers between a customer's messages: what it last asked for,
the recent turns, and per open ticket how often the customer complained and whether the
priority was raised. It is plain data (`to_data` / `from_data`) kept in the FSM storage, so
with RedisStorage every worker sees the same state; the open ticket itself is always read
from the database (the source of truth), the dialogue only remembers its number.

`act` recognises conversational acts - waiting ("还有人吗", "快点", "?"), thanks, OK, goodbye -
in short messages only. It is deliberately separate from the intent catalog: these phrases
are ambiguous out of context, and adding them to the catalog made the main matcher worse.
The conversation asks for an act only when there is context (an open ticket or a recent
bot turn). `is_praise` / `is_suggestion` split feedback into the two replies it deserves.

>>> act("還有人嗎?"), act("?"), act("快点,我等不及了"), act("有冇人呀")
('waiting', 'waiting', 'waiting', 'waiting')
>>> act("好的，谢谢！"), act("唔該晒"), act("Thanks a lot!"), act("ok"), act("拜拜")
('thanks', 'thanks', 'thanks', 'ok', 'bye')
>>> act("谢谢你们的服务很差") is None, act("我的快递三天还没到") is None
(True, True)
>>> is_praise("你们的服务很好,店员很热情"), is_praise("建议你们增加晚上的营业时间")
(True, False)
>>> is_angry("都三天了还没人理我!!!"), is_angry("订单号是 SF1234567890")
(True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from intents import normalize, squash

__all__ = [
    "CONTEXT_WINDOW",
    "DIALOGUE",
    "Act",
    "Dialogue",
    "act",
    "is_angry",
    "is_praise",
    "is_suggestion",
]

Act = Literal["waiting", "thanks", "ok", "bye"]

#: The key of the dialogue in a customer's FSM data.
DIALOGUE = "dialogue"
#: A bot reply older than this is no longer "the exchange" a thanks or "?" refers to.
CONTEXT_WINDOW = timedelta(minutes=30)
_TURNS = 8
_SHORT = 16  # characters of normalized CJK text; English counts words (below)
_SHORT_WORDS = 8


def _words(joined: str) -> tuple[str, ...]:
    return tuple(word for word in joined.split("|") if word)


# Normalized forms (Simplified, lower case, no punctuation, no spaces).
_WAITING = _words(
    "还有人吗|有人吗|有人在吗|在吗|在不在|有没有人|人呢|怎么没人|没人理|"
    "没人回|还没回|怎么还没|快点|快一点|快些|赶紧|等不及|等了好久|等很久|"
    "等半天|要等多久|还要等|多久才|什么时候回|回复我|理我|有冇人|仲有冇人|"
    "喺唔喺度|喺度吗|喺度嗎|快啲|等咗|等好耐|几时覆|幾時覆|点解仲未|未覆|"
    "hello|helo|hi|anyone|anybody|"
    "someone there|are you there|you there|"
    "still there|hurry|how long|any update|"
    "any news|waiting|still waiting|"
    "reply please|please reply|answer me|"
    "respond"
)
_THANKS = _words(
    "谢谢|多谢|感谢|谢了|谢啦|唔该|唔该晒|多谢晒|万分感谢|辛苦了|辛苦晒|"
    "thanks|thank you|thankyou|thx|ty|cheers|"
    "appreciate it|much appreciated|thank u|thanku|tks|tq|many thanks|"
    "thanks a lot|thanks a lot|ta|谢谢你|谢谢您|感激|感恩"
)
_BYE = _words("再见|拜拜|拜|88|下次见|回头见|bye|goodbye|bye bye|see you|see ya")
_OK = _words(
    "好的|好|好吧|好滴|行|可以|嗯|嗯嗯|收到|知道了|明白|明白了|了解|"
    "懂了|没问题|好嘅|得|冇问题|ok|okay|k|kk|sure|"
    "got it|alright|all right|fine|noted|"
    "understood|great|cool|perfect|okie|okok|好呀|好啊|得啦|ok啦|"
    "好嘅|知道啦|明白晒|收到晒|yes|yep|yeah|right|i see|i will wait|ill wait|"
    "我等|等你们消息|等你消息|等你们回复|等消息|麻烦了|麻烦你们了|唔该晒先"
)
_FILLERS = _words(
    "了|啦|呀|啊|哈|的|哦|喔|噢|呢|吧|嘛|哟|咯|嘅|晒|喇|你|你们|"
    "您|我|知道|非常|很|太|真|好多|大家|客服|亲|so|much|very|"
    "a|lot|you|all|again|for|the|help|your|"
    "guys|oh|ah|um|and|then|now|u|it|sir|madam|"
    "哈哈|呵呵|嘿|咩|喔|一下|先"
)

_PRAISE = _words(
    "很好|不错|满意|好评|点赞|赞|棒|热情|专业|喜欢|给力|好用|贴心|周到|"
    "耐心|细心|靠谱|好正|好好|一流|优秀|表扬|感动|省心|great|"
    "excellent|love|amazing|awesome|"
    "wonderful|fantastic|good job|well done|"
    "perfect|helpful|friendly|impressed|best|"
    "brilliant|nice"
)
_SUGGESTION = _words(
    "建议|希望|能不能|能否|可不可以|可以不可以|如果|最好|应该|要是|改进|"
    "增加|加个|加一个|改善|不如|可唔可以|得唔得|期待|考虑|多一些|少一些|"
    "但是|不过|就是|可惜|suggest|should|could you|"
    "would be|please add|wish|hope|improve|"
    "maybe|but|however|idea|consider"
)
_ANGER = _words(
    "太差|很差|差劲|垃圾|气死|生气|愤怒|火大|骗子|离谱|忍无可忍|岂有此理|"
    "什么破|搞什么|搞乜|激死|嬲|投诉你们|曝光|消协|12315|太过分|过分|"
    "无语|受够|退钱|滚|terrible|ridiculous|"
    "unacceptable|worst|angry|furious|"
    "disgusting|scam|fraud|wtf|fed up|"
    "useless|pathetic"
)

_THANKS_EMOJI = re.compile("[\U0001f64f\u2764\U0001f495\U0001f496\U0001f339\U0001f490]")
_OK_EMOJI = re.compile("[\U0001f44d\U0001f44c\u2705\u2714\U0001f44b]")
_ONLY_PUNCTUATION = re.compile(r"^[\s?？!！.。…~～]+$")


def _alternation(words: tuple[str, ...]) -> str:
    forms = sorted({squash(w) for w in words if squash(w)}, key=len, reverse=True)
    return "|".join(re.escape(f) for f in forms)


_ONLY = {
    name: re.compile(rf"^(?:{_alternation(words)}|{_alternation(_FILLERS)})+$")
    for name, words in (("thanks", _THANKS + _OK + _BYE), ("bye", _BYE + _OK), ("ok", _OK))
}
_GREETING = re.compile(r"^(?:你|您|大家)好")
_HAS_THANKS = re.compile(_alternation(_THANKS))
_HAS_BYE = re.compile(_alternation(_BYE))


def _contains(words: tuple[str, ...], normalized: str) -> bool:
    """Chinese phrases anywhere; English words only as whole words."""
    return _finder(words).search(normalized) is not None


@cache
def _finder(words: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern per word list (they are module constants): a search per message instead
    of one per word."""
    latin = "|".join(re.escape(w) for w in words if w.isascii())
    other = "|".join(re.escape(w) for w in words if not w.isascii())
    parts = ([rf"(?<![a-z])(?:{latin})(?![a-z])"] if latin else []) + ([other] if other else [])
    return re.compile("|".join(parts) or "(?!)")


def _short(normalized: str) -> bool:
    if normalized.isascii():
        return len(normalized.split()) <= _SHORT_WORDS
    return len(normalized.replace(" ", "")) <= _SHORT


def act(text: str) -> Act | None:
    """The conversational act of a short message, or None (then the intent engine decides)."""
    if _ONLY_PUNCTUATION.match(text) and ("?" in text or "？" in text):
        return "waiting"
    normalized = normalize(text)
    if not normalized:
        # Only emoji: 🙏 / 👍 are a thanks or an OK after an exchange.
        if _THANKS_EMOJI.search(text):
            return "thanks"
        return "ok" if _OK_EMOJI.search(text) else None
    if not _short(normalized):
        return None
    squashed = normalized.replace(" ", "")
    if _GREETING.match(squashed):
        return None
    if _ONLY["thanks"].match(squashed):
        if _HAS_THANKS.search(squashed):
            return "thanks"
        if _HAS_BYE.search(squashed):
            return "bye"
        return "ok"
    if _contains(_WAITING, normalized) and not is_angry(text):
        return "waiting"
    return None


def is_praise(text: str) -> bool:
    """Feedback that only praises (a suggestion or a "but" makes it a suggestion)."""
    normalized = normalize(text)
    return _contains(_PRAISE, normalized) and not is_suggestion(text)


def is_suggestion(text: str) -> bool:
    return _contains(_SUGGESTION, normalize(text))


def is_angry(text: str) -> bool:
    """Clear anger: strong words, or shouting ("!!!", "？！！")."""
    if re.search(r"[!！]{3,}|[?？][!！]{2,}", text):
        return True
    return _contains(_ANGER, normalize(text))


@dataclass(slots=True)
class Dialogue:
    """What the bot remembers about one customer's conversation (see the module doc)."""

    #: What the bot's last reply asked the customer for ("details", "order_number"...).
    asked: str | None = None
    #: The open ticket this state refers to (its number), and how often the customer
    #: complained on it; `raised`: its priority was already raised for repeat complaints.
    ticket: str | None = None
    complaints: int = 0
    raised: bool = False
    #: When the bot last answered (ISO 8601, UTC).
    last_reply_at: str | None = None
    #: Recent turns, oldest first: [direction, intent-or-script, ISO time].
    turns: list[list[str]] = field(default_factory=list)
    #: Why the bot answered the last message as it did (intent, score, act, flow, ticket).
    last: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Any) -> Dialogue:
        """Tolerant of anything (an older or foreign shape becomes a fresh dialogue)."""
        if not isinstance(data, dict):
            return cls()
        try:
            return cls(
                asked=_str_or_none(data.get("asked")),
                ticket=_str_or_none(data.get("ticket")),
                complaints=int(data.get("complaints") or 0),
                raised=bool(data.get("raised")),
                last_reply_at=_str_or_none(data.get("last_reply_at")),
                turns=[[str(x) for x in t] for t in data.get("turns") or [] if isinstance(t, list)],
                last=dict(data.get("last") or {}),
            )
        except (TypeError, ValueError):
            return cls()

    def to_data(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "ticket": self.ticket,
            "complaints": self.complaints,
            "raised": self.raised,
            "last_reply_at": self.last_reply_at,
            "turns": [list(t) for t in self.turns],
            "last": dict(self.last),
        }

    def follow(self, ticket: str | None) -> None:
        """Point the state at the customer's open ticket (a new or no ticket resets counts)."""
        if ticket != self.ticket:
            self.ticket, self.complaints, self.raised = ticket, 0, False

    def heard(self, what: str, now: datetime) -> None:
        self._turn("in", what, now)

    def answered(self, script_id: str, asked: str | None, now: datetime) -> None:
        self._turn("out", script_id, now)
        self.asked = asked
        self.last_reply_at = now.isoformat()

    def in_context(self, now: datetime) -> bool:
        """Whether the bot answered recently enough for "thanks" or "?" to refer to it."""
        if self.last_reply_at is None:
            return False
        try:
            last = datetime.fromisoformat(self.last_reply_at)
        except ValueError:
            return False
        return timedelta(0) <= now - last <= CONTEXT_WINDOW

    def _turn(self, direction: str, what: str, now: datetime) -> None:
        self.turns.append([direction, what, now.isoformat()])
        del self.turns[:-_TURNS]


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
