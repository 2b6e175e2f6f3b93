"""Near-duplicate filter for generated instructions: ROUGE-L F-measure against every kept instruction.

AlpaCare (following self-instruct) keeps a new instruction only when its ROUGE-L F-measure against
every instruction kept so far (seeds included) is at most 0.7, and computes that score against all
of them: n candidates cost O(n²) LCS computations. :class:`NearDuplicateFilter` makes exactly the
same accept/reject decisions while computing LCS for only a handful of candidates per query.

Tokens: each CJK character is one token, each run of other letters/digits is one (lower-cased)
word; punctuation and spaces are dropped. For ASCII text this is rouge_score's own tokenizer
(no stemmer), so English decisions match AlpaCare's.

Why the pruning is exact. For token sequences x (length m) and y (length n):

* ROUGE-L F = 2·LCS/(m+n) (rouge_score computes it as 2PR/(P+R) with P=LCS/n, R=LCS/m).
* LCS ≤ I(x, y), the multiset intersection size Σ_t min(count_x(t), count_y(t)), and I ≤ min(m, n).
* Write every sequence as the *set* of its occurrence-numbered tokens ("的"#1, "的"#2, ...); then
  I is the size of the intersection of the two sets.
* F > τ needs I > τ(m+n)/2, and since I ≤ n this needs I > τm/(2−τ), i.e. I ≥ a with
  a = ⌊τm/(2−τ)⌋ + 1, a function of the query alone.
* Pigeonhole: any m−a+1 of x's occurrence tokens (a "probe set") must contain one of the ≥ a
  shared ones, because only a−1 tokens lie outside it. The index holds *every* occurrence token
  of every kept instruction, so each y with F > τ shares a probe token and is found by looking up
  the probe set's posting lists. We pick the probe tokens with the shortest posting lists (often
  tokens never seen before, which cost nothing), plus every other token whose list is at most
  ``probe_cheap`` long (reading it with numpy costs less than the LCS computations it saves).
* For a found y that shares h probe tokens, I ≤ h + (m − |probe set|), so F ≤ 2·that/(m+n); y is
  skipped when this bound (or the length bound 2·min(m,n)/(m+n)) is ≤ τ. The rest get an exact
  bit-parallel LCS and rouge_score's own floating-point formula, so scores at the threshold
  compare exactly as all-pairs does. Pruning keeps a 1e-9 safety margin against rounding.

Use::

    f = NearDuplicateFilter(threshold=0.7)
    f.add_all(seed_instructions)          # indexed unconditionally
    verdict = f.offer(new_instruction)    # checked; indexed when accepted
    verdict.accepted, verdict.score, verdict.similar_to
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# CJK Unified Ideographs (+ extension A, compatibility ideographs), kana and Hangul syllables:
# one token per character, since these scripts do not separate words with spaces.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_MARGIN = 1e-9  # pruning slack, far above float rounding of 2·LCS/(m+n) and far below any real gap


def tokenize(text: str) -> list[str]:
    """ROUGE tokens: one per CJK character, one per lower-cased run of other letters/digits."""
    return _TOKEN_RE.findall(text.lower())


class RougeTokenizer:
    """``tokenize`` wrapped for ``rouge_score.rouge_scorer.RougeScorer(tokenizer=...)``."""

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)


def rouge_l_f(m: int, n: int, lcs: int) -> float:
    """ROUGE-L F-measure exactly as rouge_score computes it (same float operations)."""
    if not m or not n:
        return 0.0
    precision, recall = lcs / n, lcs / m
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def match_masks(a: list[int]) -> dict[int, int]:
    """For each token of ``a``, the bit set of its positions in ``a`` (input to :func:`lcs_length`)."""
    masks: dict[int, int] = {}
    for i, t in enumerate(a):
        masks[t] = masks.get(t, 0) | (1 << i)
    return masks


def lcs_length(a: list[int], b: list[int], masks: dict[int, int] | None = None) -> int:
    """Length of the longest common subsequence of two id sequences.

    Bit-parallel (Hyyrö 2004): one big-integer word holds a column of the DP table, so the cost is
    len(b) word operations of len(a) bits instead of len(a)·len(b) Python steps. ``masks`` is
    ``match_masks(a)``, passed in when ``a`` is compared with many ``b``."""
    if not a or not b:
        return 0
    masks = masks if masks is not None else match_masks(a)
    full = (1 << len(a)) - 1
    v = full
    get = masks.get
    for t in b:
        u = v & get(t, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


@dataclass
class Verdict:
    """The filter's decision on one instruction.

    ``score`` and ``similar_to`` name the kept instruction that blocked it (rejections only; the
    filter does not search for the best match of an accepted one)."""

    accepted: bool
    score: float = 0.0
    similar_to: str | None = None


class NearDuplicateFilter:
    """Reject an instruction whose ROUGE-L F against any kept instruction exceeds ``threshold``.

    Decisions are identical to comparing against every kept instruction (tests compare with
    rouge_score all-pairs); see the module docstring for why the pruning is exact."""

    def __init__(self, threshold: float = 0.7, probe_cheap: int = 2048):
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.threshold = threshold
        # Beyond the minimal probe set, also probe tokens with at most this many postings: cheap to
        # read, and every extra probed token tightens the overlap bound.
        self.probe_cheap = probe_cheap
        self._vocab: dict[str, int] = {}
        # (token id, occurrence number) -> ids of the kept instructions holding that occurrence,
        # as int32 arrays so a query reads them with numpy without copying.
        self._postings: dict[tuple[int, int], array] = {}
        self._docs: list[list[int]] = []  # token-id sequence of each kept instruction
        self._lengths = array("i")  # token count of each kept instruction
        self._texts: list[str] = []
        self.lcs_computed = 0  # exact LCS evaluations so far (a measure of pruning)

    def __len__(self) -> int:
        return len(self._docs)

    def _ids(self, text: str, grow: bool) -> list[int]:
        vocab = self._vocab
        if grow:
            return [vocab.setdefault(t, len(vocab)) for t in tokenize(text)]
        # Tokens never indexed get fresh negative ids: they match nothing, and need no vocab entry.
        return [vocab.get(t, -1 - i) for i, t in enumerate(tokenize(text))]

    @staticmethod
    def _occurrences(ids: list[int]) -> list[tuple[int, int]]:
        seen: dict[int, int] = {}
        occ = []
        for t in ids:
            k = seen.get(t, 0) + 1
            seen[t] = k
            occ.append((t, k))
        return occ

    def add(self, text: str) -> None:
        """Index ``text`` without checking it (seed instructions, tasks kept by an earlier run)."""
        ids = self._ids(text, grow=True)
        doc = len(self._docs)
        self._docs.append(ids)
        self._lengths.append(len(ids))
        self._texts.append(text)
        postings = self._postings
        for key in self._occurrences(ids):
            if key not in postings:
                postings[key] = array("i")
            postings[key].append(doc)

    def add_all(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(text)

    def check(self, text: str) -> Verdict:
        """Decide on ``text`` against every kept instruction, without indexing it."""
        tau = self.threshold
        x = self._ids(text, grow=False)
        m = len(x)
        if m == 0 or not self._docs:
            return Verdict(True)
        need = int(tau * m / (2 - tau)) + 1  # a: the least overlap any y with F > τ can have (≤ m)
        postings = self._postings
        empty = array("i")
        occ = sorted(self._occurrences(x), key=lambda key: len(postings.get(key, empty)))
        n_probe = m - need + 1
        while n_probe < m and len(postings.get(occ[n_probe], empty)) <= self.probe_cheap:
            n_probe += 1
        lists = [np.frombuffer(postings[key], dtype=np.int32) for key in occ[:n_probe] if key in postings]
        if not lists:
            return Verdict(True)
        # hits[i]: how many probe tokens kept instruction docs[i] shares with x.
        counts = np.bincount(np.concatenate(lists), minlength=len(self._docs))
        docs = np.flatnonzero(counts)
        hits = counts[docs]
        n = np.frombuffer(self._lengths, dtype=np.int32)[docs]
        overlap = np.minimum(np.minimum(hits + (m - n_probe), n), m)  # upper bound on I(x, y)
        bound = 2 * overlap / (m + n)  # upper bound on ROUGE-L F
        keep = bound > tau - _MARGIN
        candidates = docs[keep][np.argsort(-bound[keep], kind="stable")]
        # Exact LCS where the bound passes the threshold, likeliest blockers first (we stop at one).
        masks = match_masks(x)
        for doc in candidates.tolist():
            y = self._docs[doc]
            self.lcs_computed += 1
            score = rouge_l_f(m, len(y), lcs_length(x, y, masks))
            if score > tau:
                return Verdict(False, score, self._texts[doc])
        return Verdict(True)

    def offer(self, text: str) -> Verdict:
        """Check ``text``; when accepted, index it so later instructions are checked against it."""
        verdict = self.check(text)
        if verdict.accepted:
            self.add(text)
        return verdict


def reference_decisions(existing: list[str], candidates: list[str], threshold: float = 0.7) -> list[bool]:
    """The plain all-pairs method (AlpaCare's): each candidate is scored with rouge_score against
    every kept instruction and accepted when no score exceeds ``threshold``. Quadratic; used by
    the tests and the benchmark to check :class:`NearDuplicateFilter`."""
    from rouge_score import rouge_scorer

    kept = [tokenize(t) for t in existing]
    decisions = []
    for text in candidates:
        tokens = tokenize(text)
        ok = all(rouge_scorer._score_lcs(tokens, other).fmeasure <= threshold for other in kept)
        decisions.append(ok)
        if ok:
            kept.append(tokens)
    return decisions
