"""A coarse-kind head: logistic regression over the sentence encoder's catalog vectors.

Why it exists beside the blended intent scores: reviews and tweets in the wild ("菜都凉了
还少送一份", "where is my parcel?!") share few words with any catalog example, so the
lexical scores stay under the fallback threshold, and the encoder's per-intent cosines
(best example / centroid) are too flat to lift them: the message is *evaluative* without
being close to any one example.  A linear classifier over the vectors of all the catalog's
examples, grouped by kind (complaint / feedback / inquiry, FAQ included / other), learns
the directions that separate the kinds, which cosine to the nearest example cannot.

The matcher consults it only where it changes the answer (see `Matcher.finish`): a message
that fell to the fallback or only reached the coarse inquiry, and that the head is
confident is a complaint or praise; and a message the matcher called complaint or praise,
where the head weighs the whole text (a review that mixes praise and gripes) and may pick
the other of the two, or call it chatter.  FAQ answers are never touched.

Besides the catalog's examples it learns from `HEAD_TEXTS`: the chatter below and the
free-text complaints, praise and questions of `intents.head_data`, which stay out of the
catalog so that they do not tilt the fine matcher's per-intent scores.

Design choices (measured on validation rows the benchmark does not score, see
BENCHMARKS.md):

* Features are the unit vectors standardised per dimension with the catalog's mean and
  spread: e5 vectors share a large common component, and without centring the
  regularised model's probabilities stay flat (everything under 0.5).
* scikit-learn's `LogisticRegression` (lbfgs, multinomial, balanced class weights, strong
  regularisation): a few hundred examples per kind, so a small C generalises best
  (C 0.001 on validation reviews: forced-choice complaint vs praise 88% against 80% at 0.03).
* Only its weights are kept (kinds x dims, float32): a query is one small matrix product,
  no scikit-learn call.  Weights are cached on disk keyed by a hash of the vectors and the
  kinds, so a restart or an unchanged reload does not retrain.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from intents.array_cache import load_arrays, save_arrays
from intents.head_data import COMPLAINTS, PRAISE, QUESTIONS
from intents.logistic import fit_standardised

__all__ = ["CHATTER", "HEAD_KINDS", "HEAD_TEXTS", "CoarseHead", "head_kind"]

Float32Array = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]

# Bump when the features or the training change: cached weights must not be reused.
_VERSION = "coarse-head-v3"
#: The head's classes, in order.  Only complaint and feedback are ever answered from it.
HEAD_KINDS = ("complaint", "feedback", "inquiry", "other")
#: Examples of each answered kind needed before a catalog gets a head.
MIN_EXAMPLES = 8
#: Off-topic chatter, the head's `other` class beside the catalog's greeting/handoff
#: examples.  Without it the head has seen no message that is about nothing the shop does,
#: and calls negative chatter ("my boss made me stay late again") a complaint.  Not
#: catalog examples: nothing answers them, the fallback menu does.  Written for the head;
#: kept clear of the topics of the held-out test sets (tests/data), which stay untouched.
CHATTER: tuple[str, ...] = (
    "周末打算去爬山",
    "我在学弹吉他",
    "地铁上人好多挤死了",
    "隔壁在装修吵得不行",
    "我的老板天天让我加班",
    "周一真不想上班",
    "堵车堵了一个小时烦死了",
    "最近在减肥好难",
    "我儿子今天第一次学会走路了",
    "阳台上的花开了",
    "刚搬了新家还在收拾",
    "你知道珠穆朗玛峰有多高吗",
    "我想学日语从哪里开始",
    "今年春节回老家",
    "我同事今天请假了",
    "昨晚做了个奇怪的梦",
    "我在写毕业论文头都大了",
    "嗯嗯",
    "怎么才能早点睡着",
    "孩子不爱写作业怎么办",
    "头发掉得厉害怎么办",
    "感冒了喝什么好",
    "周末陪孩子去公园",
    "今天跑了五公里",
    "我朋友下个月结婚",
    "腰疼得厉害",
    "想换个发型",
    "明年打算出国留学",
    "生日快乐",
    "你平时都干嘛",
    "你叫什么名字",
    "你几岁了",
    "週末打算去爬山",
    "我最近在學畫畫",
    "捷運上人超多",
    "隔壁一直在裝修好吵",
    "老闆又叫我加班",
    "聽日返工好唔想去",
    "塞車塞到快瘋掉",
    "我屋企啲植物開花喇",
    "你知唔知香港有幾多個離島",
    "最近減肥好辛苦",
    "小朋友唔肯做功課點算",
    "頭髮一直掉怎麼辦",
    "感冒了要吃什麼比較好",
    "我下個月要結婚了",
    "你叫咩名",
    "你平常都在做什麼",
    "planning to go hiking this weekend",
    "learning to play the guitar",
    "the subway was packed this morning",
    "my neighbours have been drilling all day",
    "my boss made me stay late again",
    "mondays are the worst",
    "traffic was horrible on the way home",
    "trying to lose weight is so hard",
    "my son took his first steps today",
    "just moved into a new flat",
    "how tall is mount everest",
    "where should i start learning japanese",
    "had the weirdest dream last night",
    "writing my thesis and my head hurts",
    "happy new year everyone",
    "i love autumn leaves",
    "ok cool",
    "hmm",
    "my kid wont do his homework what do i do",
    "my back hurts so much",
    "how do i get rid of a cold",
    "my best friend is getting married next month",
    "whats your name",
    "what do you do for fun",
    "i ran five kilometres today",
    "thinking about getting a haircut",
    # Weather, moods, films and sport: opinions and feelings about nothing the shop does
    # ("今天天气不错" is not praise, "my team lost again" is not a complaint).
    "今天阳光真好",
    "外面下大雨了",
    "这几天降温了好冷",
    "今天好热啊",
    "明天好像要下雪",
    "天气预报说周末有台风",
    "这部电视剧挺好看的",
    "最近在追一部综艺",
    "昨天的球赛太精彩了",
    "我支持的球队又输了",
    "晚饭自己做了个红烧肉",
    "我家猫今天打翻了花瓶",
    "狗狗生病了有点担心",
    "今天心情不太好",
    "今天心情特别好",
    "终于放假了好开心",
    "考试没考好有点难过",
    "刚下班累死了",
    "最近睡眠不太好",
    "这首歌真好听",
    "周末去看了场电影还不错",
    "我妈又催我结婚了",
    "室友太吵了",
    "论文终于交了",
    "今天天氣很好",
    "外面在下大雨",
    "最近天氣好冷",
    "今日好熱呀",
    "呢套劇好好睇",
    "琴晚場波好精彩",
    "我隻貓今日打爛咗個杯",
    "今日心情麻麻",
    "終於放假好開心",
    "收工好攰",
    "呢首歌好好聽",
    "the weather is lovely today",
    "its pouring rain outside",
    "so cold this week",
    "this show is really good",
    "what a game last night",
    "my team lost again",
    "made pasta for dinner tonight",
    "my cat knocked over a plant",
    "feeling a bit down today",
    "so happy its friday",
    "just got home from work, exhausted",
    "this song is stuck in my head",
    "finally finished my exams",
    "my roommate is so loud",
    "happy birthday to my mom",
    "cant believe its already december",
    "good morning everyone, have a nice day",
    "watching the sunset at the beach",
    "i just watched the whole season in one night",
    "my little brother broke his arm playing football",
    "the traffic on the bridge this morning was insane",
    "cant decide what to have for lunch",
    # Rants about life, sport and films: negative, but nobody to apologise for them.
    "i need a longer weekend",
    "working a double shift tonight, send coffee",
    "my sister ate the last slice of pizza, unforgivable",
    "my fantasy football team is a disaster this year",
    "that referee should be fired, worst call ever",
    "i hate mondays so much",
    "finals week is killing me",
    "lost my keys again, classic me",
    "my dog chewed up my favourite shoes",
    "cant believe that ending, im not ok",
    "this meme made my day",
    "my phone fell in the toilet, whatever, my fault",
    "i stayed up way too late watching videos",
    "my flatmate never does the dishes",
    "im so done with this week",
    "nobody came to my party lol",
    "my hair is a mess today",
    "the new season was so disappointing, terrible writing",
    "my coworker keeps stealing my lunch from the fridge",
    "that movie was a waste of two hours",
    "im never running a marathon again",
    "my kid threw up in the car, great start to the day",
    "stuck in traffic again, i should have taken the train",
    "ugh allergies are killing me",
    "i burnt my toast this morning",
    "the neighbours dog barks all night",
    "when your team loses in the last minute, pain",
    "my computer at work is older than me",
    "honestly politics is exhausting",
    "just realised i forgot my mums birthday",
    "我又把钥匙弄丢了",
    "期末考试快把我逼疯了",
    "我家狗把我的鞋咬坏了",
    "室友从来不洗碗",
    "这个剧的结局太烂了",
    "我支持的队又输了，气死",
    "加班到现在还没吃饭",
    "今天出门忘带伞被淋湿了",
    "同事又偷吃我放在冰箱的零食",
    "昨晚熬夜看剧今天好困",
    "又胖了两斤好烦",
    "琴晚捱夜而家好眼瞓",
    "今日出門唔記得帶遮，淋到濕晒",
    "考試快到了壓力好大",
    "do you have any jobs going",
    "what time does the match start tonight",
    "anyone else watching the game",
    "this ad is hilarious",
    "cant wait for the weekend",
    "whats everyone doing for the holidays",
    "lol same",
    "that tweet was funny",
    "me and my friends are going on a road trip",
    "new profile picture who dis",
    "just followed you",
    "this is so me",
    "retweet if you agree",
    "cant sleep again, thinking too much",
    "my sister borrowed my car and scratched it",
    "the season finale was a letdown",
    "i spilled coffee all over my desk this morning",
    "my team played awful tonight",
    "my feet hurt from walking all day",
    "i failed my driving test again",
    "hate when people chew loudly",
    "so tired of this rain",
    "i have three exams next week, help",
    "my cousin keeps posting spoilers",
    "who else is excited for the concert tonight",
    "happy thanksgiving to everyone",
    "what a beautiful morning for a run",
    "that commercial with the dog is adorable",
    "just finished my first week at the new job",
    "heading to the beach this weekend",
    "my mum just learned how to use emojis",
    "i should really go to bed",
    "we won the quiz at the pub tonight",
    "cant believe how fast this year went",
    "watching the game with my dad tonight",
    "just adopted a puppy",
    "what is everyone reading this week",
    "my plants are finally growing",
    "road trip playlist suggestions please",
    "this weather makes me want to stay in bed",
    "my brother just got engaged",
    "made it to the gym three days in a row",
    "is it too early for christmas music",
    "who is watching the finale tonight",
)


#: Everything the head learns from beyond the catalog, as (text, head class): the chatter,
#: and the free-text complaints and praise of `intents.head_data`.
HEAD_TEXTS: tuple[tuple[str, str], ...] = (
    *((text, "other") for text in CHATTER),
    *((text, "complaint") for text in COMPLAINTS),
    *((text, "feedback") for text in PRAISE),
    *((text, "inquiry") for text in QUESTIONS),
)


def head_kind(kind: str) -> str:
    """The head class of an intent kind: FAQ answers are questions, controls are `other`."""
    if kind in ("complaint", "feedback", "inquiry"):
        return kind
    return "inquiry" if kind == "faq" else "other"


class CoarseHead:
    """Multinomial logistic regression over standardised example vectors.

    With `english` and `gate`: a second regression trained on the English examples only,
    mixed in by the gate's P(English) for the message.  The e5 vectors keep a strong
    language direction, and one regression over all scripts fitted the Chinese reviews
    (most of the examples) at the English ones' expense: on the validation tweets an
    English-only head's complaint F1 was 0.740 against 0.718 for the shared one.
    """

    def __init__(
        self,
        mean: Float32Array,
        scale: Float32Array,
        weights: Float32Array,
        bias: Float32Array,
        english: CoarseHead | None = None,
        gate: Float32Array | None = None,
    ) -> None:
        self.mean = mean
        self.scale = scale
        self.weights = weights  # len(HEAD_KINDS) x dims
        self.bias = bias
        self.english = english
        self.gate = gate  # dims weights then the bias, over the raw unit vector

    @classmethod
    def build(
        cls,
        vectors: Float32Array,
        kinds: Sequence[str],
        *,
        c: float,
        cache_dir: Path | None = None,
        english: Sequence[bool] | None = None,
    ) -> CoarseHead | None:
        """Train (or load from `cache_dir`) a head; None when the catalog cannot support one.

        `english` marks the rows written in English (ASCII): with enough English complaint
        and praise among them, they also get a head of their own (see the class).
        """
        labels = np.asarray([HEAD_KINDS.index(head_kind(k)) for k in kinds], dtype=np.int64)
        if vectors.ndim != 2 or vectors.shape[0] != labels.size:
            return None
        counts = np.bincount(labels, minlength=len(HEAD_KINDS))
        if counts[0] < MIN_EXAMPLES or counts[1] < MIN_EXAMPLES:
            return None  # no complaint/praise to learn (an FAQ-only operator catalog)
        mask = np.zeros(labels.size, dtype=bool)
        if english is not None and len(english) == labels.size:
            mask = np.asarray(english, dtype=bool)
        key = _cache_key(vectors, labels, c, mask)
        path = cache_dir / f"head-{key}.npz" if cache_dir is not None else None
        if path is not None:
            loaded = cls._load(path, vectors.shape[1])
            if loaded is not None:
                return loaded
        head = cls._train(vectors, labels, c, mask)
        if path is not None:
            head._save(path)
        return head

    @classmethod
    def _train(
        cls,
        vectors: Float32Array,
        labels: npt.NDArray[np.int64],
        c: float,
        english: npt.NDArray[np.bool_] | None = None,
    ) -> CoarseHead:
        head = cls._fit(vectors, labels, c)
        if english is None or english.all() or not english.any():
            return head
        en_counts = np.bincount(labels[english], minlength=len(HEAD_KINDS))
        if en_counts[0] < MIN_EXAMPLES or en_counts[1] < MIN_EXAMPLES:
            return head
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            gate = LogisticRegression(C=1.0, max_iter=2000).fit(vectors, english)
        head.english = cls._fit(vectors[english], labels[english], c)
        head.gate = np.append(gate.coef_[0], gate.intercept_[0]).astype(np.float32)
        return head

    @classmethod
    def _fit(cls, vectors: Float32Array, labels: npt.NDArray[np.int64], c: float) -> CoarseHead:
        return cls(*fit_standardised(vectors, labels, len(HEAD_KINDS), c, max_iter=2000))

    def probabilities(self, vector: Float32Array) -> FloatArray:
        """P(kind) for one message's unit vector, in `HEAD_KINDS` order."""
        unit = np.asarray(vector, dtype=np.float32).reshape(-1)
        out = self._own(unit)
        if self.english is None or self.gate is None:
            return out
        margin = float(self.gate[:-1] @ unit + self.gate[-1])
        english = 1.0 / (1.0 + math.exp(-max(min(margin, 50.0), -50.0)))
        mixed: FloatArray = english * self.english._own(unit) + (1.0 - english) * out
        return mixed

    def _own(self, unit: Float32Array) -> FloatArray:
        x = (unit - self.mean) / self.scale
        logits = (self.weights @ x + self.bias).astype(np.float64)
        logits -= logits.max()
        exp = np.exp(logits)
        out: FloatArray = exp / exp.sum()
        return out

    @classmethod
    def _load(cls, path: Path, dims: int) -> CoarseHead | None:
        names = ("mean", "scale", "w", "b")
        data = load_arrays(path, names)
        if data is None:
            return None  # missing or corrupt: retrain (and rewrite it)
        parts = [data[n].astype(np.float32) for n in names]
        english = None
        en_data = load_arrays(path, ("gate", *(f"en_{n}" for n in names)))
        if en_data is not None:  # a head with an English part (older caches have none)
            english = cls._checked(
                *(en_data[f"en_{n}"].astype(np.float32) for n in names), dims=dims
            )
            gate = en_data["gate"].astype(np.float32)
            if english is None or gate.shape != (dims + 1,):
                return None
            english.gate = gate  # carried over below
        head = cls._checked(*parts, dims=dims)
        if head is None:
            return None
        if english is not None:
            head.gate, english.gate = english.gate, None
            head.english = english
        return head

    @classmethod
    def _checked(
        cls,
        mean: Float32Array,
        scale: Float32Array,
        weights: Float32Array,
        bias: Float32Array,
        *,
        dims: int,
    ) -> CoarseHead | None:
        k = len(HEAD_KINDS)
        if mean.shape != (dims,) or scale.shape != (dims,) or weights.shape != (k, dims):
            return None
        if bias.shape != (k,):
            return None
        return cls(mean, scale, np.ascontiguousarray(weights), bias)

    def _save(self, path: Path) -> None:
        arrays: dict[str, Any] = {"mean": self.mean, "scale": self.scale, "w": self.weights}
        arrays["b"] = self.bias
        if self.english is not None and self.gate is not None:
            en = self.english
            arrays |= {"en_mean": en.mean, "en_scale": en.scale, "en_w": en.weights}
            arrays |= {"en_b": en.bias, "gate": self.gate}
        save_arrays(path, arrays)


def _cache_key(
    vectors: Float32Array, labels: npt.NDArray[np.int64], c: float, english: npt.NDArray[np.bool_]
) -> str:
    digest = hashlib.sha256(f"{_VERSION}\0{c!r}\0{vectors.shape}".encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    digest.update(labels.tobytes())
    digest.update(english.tobytes())
    return digest.hexdigest()[:32]
