"""Context of a finding, NegEx / ConText style: is it negated, in the past or recurrent,
hypothetical, part of a general-knowledge question, a dream, a study question, or resolved? The
cue lists (zh and en) are in safety/lexicon_context.py; the functions here say how they are
applied to one finding in its clause and segment. Not runnable.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

from safety.lexicon_context import (
    ANIMAL,
    ASSESSED,
    BACK_REF,
    CLAUSE_SPLIT,
    DREAM,
    DREAM_END,
    HAN_CHAR,
    HUMAN,
    HYPOTHETICAL,
    IDEATION,
    INFO_FICTION,
    INFO_FRAME,
    INFO_STRONG,
    INFO_WEAK,
    MEDIA,
    NARRATIVE_DONE,
    NARRATIVE_PAST,
    NEG_CUE,
    NEG_FILLER,
    NEG_LIST_ITEM,
    NEXT_LATER,
    NIGHT_BLOCK,
    NO_RESOLVE,
    NOW_AFTER_NIGHT,
    PAST_NIGHT_DRUNK,
    PERSONAL,
    POST_NEGATION,
    PROSPECTIVE,
    RECURRENT,
    REPORTED_BLOCK,
    REPORTED_NO_PLAN,
    REPORTED_SPEAKER,
    RESOLVED,
    RESOLVED_BLOCK,
    RESOLVED_NEXT,
    SELF_HARM_FINDING,
    SENTENCE_SPLIT,
    STUDY,
    TIME_MARKER,
    YESNO_MEANS,
)


def spans(pattern: re.Pattern, text: str) -> list[tuple[int, int]]:
    """Start/end of the pieces ``pattern`` cuts ``text`` into."""
    bounds = [0] + [x for m in pattern.finditer(text) for x in (m.start(), m.end())] + [len(text)]
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]


def _containing(pieces: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    for start, end in pieces:
        if start <= pos < end or (start == end == pos):
            return start, end
    return pieces[-1]


def is_current(text: str, m: re.Match, clauses, segments, all_spans, request: bool = False) -> bool:
    """False when the finding ``m`` is negated, in the past or recurrent, hypothetical, or general.

    ``clauses`` / ``segments``: :func:`spans` of ``text`` by ``CLAUSE_SPLIT`` / ``SEGMENT_SPLIT``;
    ``all_spans``: every concept match in ``text`` (a negated list may name several findings).
    ``request``: ``m`` is a harmful request, which fiction, question frames, a resolved episode, an
    animal or asking ahead do not excuse ("in my novel she poisons her husband, how…")."""
    c_start, c_end = _containing(clauses, m.start())
    s_start, s_end = _containing(segments, m.start())
    if (
        _negated(text, m, c_start, c_end, all_spans)
        or _past(
            text[c_start:c_end],
            m.start() - c_start,
            m.end() - c_start,
            not SELF_HARM_FINDING.search(m.group()),
        )
        or _hypothetical_before(text[s_start:s_end], m.start() - s_start)
        or _in_dream(text, m)
        or _inherits_past(text, clauses, c_start, c_end, m)
    ):
        return False
    if request:
        return not _general(text[s_start:s_end], frames=False)
    return not (
        _general(text[s_start:s_end])
        or _resolved(text, m)
        or _animal(text[c_start:c_end])
        or _prospective(text, text[c_start:c_end])
        or _study(text, m)
        or _media(text, m)
        or _reported_no_plan(text, m)
        or _night_over(text, m)
    )


_NEG_WINDOW = 80  # characters before a finding searched for a negation cue or filler
_NEG_STEPS = 16  # findings and fillers a negation may reach back across ("no a, b, c or d")


def _negated(text: str, m: re.Match, c_start: int, c_end: int, all_spans) -> bool:
    pos = m.start()
    ends = {}
    for start, end in all_spans:
        if start >= c_start and end <= pos and start < end:
            ends[end] = min(start, ends.get(end, start))
    for _ in range(_NEG_STEPS):
        if pos <= c_start:
            break
        # The cues and fillers are end-anchored and short: a bounded window keeps a long clause of
        # back-to-back findings linear instead of re-scanning the whole clause at every step.
        prefix = text[max(c_start, pos - _NEG_WINDOW) : pos]
        if YESNO_MEANS.search(prefix):
            break
        if NEG_CUE.search(prefix):
            return True
        filler = NEG_LIST_ITEM.search(prefix) or NEG_FILLER.search(prefix)
        if pos in ends:
            pos = ends[pos]
        elif filler and filler.end() > filler.start():
            pos -= filler.end() - filler.start()
        else:
            break
    return bool(POST_NEGATION.match(text[m.end() : c_end]))


def _past(clause: str, start: int, end: int, recurrent_is_past: bool = True) -> bool:
    """Whether the time marker that governs the finding at ``clause[start:end]`` is a past one.

    Markers in the finding's own comma-phrase come first ("she now has a fever, my daughter had a
    febrile seizure when she was one": the seizure is past), then the rest of the clause; in each,
    the nearest marker before the finding decides, else the first one after it."""
    markers = _time_markers(clause, recurrent_is_past)
    lo = clause.rfind(",", 0, start) + 1
    hi = clause.find(",", end)
    hi = len(clause) if hi < 0 else hi
    prev = clause.rfind(",", 0, max(lo - 1, 0)) + 1 if lo else 0
    for left, right, own_phrase in ((lo, hi, True), (prev, len(clause), False)):
        before = [kind for pos, kind, _ in markers if left <= pos < start]
        if before:
            return before[-1] == "past"
        # "usually" or "平时" in a later phrase contrasts with the finding, it does not date it:
        # "haven't felt the baby move since last night, usually he kicks loads".
        after = [
            kind for pos, kind, recurrent in markers if end <= pos < right and (own_phrase or not recurrent)
        ]
        if after:
            return after[0] == "past"
    return False


@lru_cache(maxsize=256)
def _time_markers(clause: str, recurrent_is_past: bool) -> tuple[tuple[int, str, bool], ...]:
    """(position, "past" | "now", recurrent?) of the time markers in ``clause``; cached, because
    every finding of a clause asks for the same list (a long clause would otherwise be re-scanned
    per finding)."""
    found = ((mk, bool(RECURRENT.fullmatch(mk.group().strip()))) for mk in TIME_MARKER.finditer(clause))
    return tuple(
        (mk.start(), "past" if mk.group("past") else "now", recurrent)
        for mk, recurrent in found
        if recurrent_is_past or not recurrent
    )


@lru_cache(maxsize=256)
def _hypothetical_ends(segment: str) -> tuple[int, ...]:
    """End positions of the hypothetical cues of ``segment``; cached, so a long segment of many
    findings is scanned once instead of once per finding."""
    return tuple(h.end() for h in HYPOTHETICAL.finditer(segment) if h.group("hyp"))


def _hypothetical_before(segment: str, pos: int) -> bool:
    """Whether a hypothetical cue ends before ``pos`` in ``segment``."""
    ends = _hypothetical_ends(segment)
    return bool(ends) and ends[0] <= pos


@lru_cache(maxsize=256)
def _general(segment: str, frames: bool = True) -> bool:
    if INFO_STRONG.search(segment) or (frames and INFO_FICTION.search(segment)):
        return True
    if frames and INFO_FRAME.search(segment) and not _has_now_marker(segment):
        return True
    return bool(INFO_WEAK.search(segment) and not PERSONAL.search(segment))


def _resolved(text: str, m: re.Match) -> bool:
    """Whether the sentence of finding ``m`` says, after it, that the episode passed."""
    start, end = _containing(_sentences(text), m.start())
    window = 30 if HAN_CHAR.search(m.group()) else 90
    sentence, after = text[start:end], text[m.end() : min(end, m.end() + window)]
    checked = ASSESSED.search(after)
    if checked and not RESOLVED_BLOCK.search(after[checked.start() :]):
        return True
    following = text[end : end + 40]
    if (
        RESOLVED_NEXT.search(following)
        and not RESOLVED_BLOCK.search(following)
        and not NO_RESOLVE.search(sentence)
    ):
        return True
    cue = RESOLVED.search(after)
    return bool(cue) and not RESOLVED_BLOCK.search(after[cue.start() :]) and not NO_RESOLVE.search(sentence)


def _animal(clause: str) -> bool:
    return bool(ANIMAL.search(clause)) and not HUMAN.search(clause)


@lru_cache(maxsize=4)
def _sentences(text: str) -> list[tuple[int, int]]:
    return spans(SENTENCE_SPLIT, text)


@lru_cache(maxsize=16)
def _mentions(cue: re.Pattern, text: str) -> bool:
    """Whether ``text`` contains ``cue`` anywhere; cached, because every finding of a message asks."""
    return bool(cue.search(text))


def _prospective(text: str, clause: str) -> bool:
    return _mentions(PROSPECTIVE, text) and not _has_now_marker(clause)


def _has_now_marker(text: str) -> bool:
    return any(kind == "now" for _, kind, _ in _time_markers(text, True))


def _in_dream(text: str, m: re.Match) -> bool:
    """Whether a dream cue before ``m`` in its sentence governs it (no waking or "now" in between).
    Thoughts of suicide or self-harm only in the dream cue's own clause ("梦见自己跳楼")."""
    cues = _dream_cues(text)
    if not cues:
        return False
    start, _ = _containing(_sentences(text), m.start())
    i = bisect.bisect_left(cues, (m.start(), -1))
    if i == 0 or cues[i - 1][0] < start or cues[i - 1][1] > m.start():
        return False
    rest = text[cues[i - 1][1] : m.start()]
    if DREAM_END.search(rest):
        return False
    if SELF_HARM_FINDING.search(m.group()):
        return not CLAUSE_SPLIT.search(rest)
    return True


@lru_cache(maxsize=4)
def _dream_cues(text: str) -> list[tuple[int, int]]:
    return [mk.span() for mk in DREAM.finditer(text)]


def _inherits_past(text: str, clauses, c_start: int, c_end: int, m: re.Match) -> bool:
    """A clause without a time marker of its own after one in narrative past, in the same sentence:
    "当时…" always follows it; a plain clause only when the one before has a strong past marker."""
    clause = text[c_start:c_end]
    if SELF_HARM_FINDING.search(m.group()) or _time_markers(clause, True):
        return False
    idx = bisect.bisect_right(clauses, (c_start, c_end)) - 1
    if idx <= 0 or clauses[idx] != (c_start, c_end):
        return False
    p_start, p_end = clauses[idx - 1]
    gap = text[p_end:c_start]
    if SENTENCE_SPLIT.search(gap) or gap.strip() not in {",", ""}:
        return False
    prev = text[p_start:p_end]
    kinds = [kind for _, kind, _ in _time_markers(prev, True)]
    if not kinds or kinds[-1] != "past":
        return False
    if BACK_REF.match(clause):
        return True
    if not NARRATIVE_PAST.search(prev):
        return False
    following = text[c_end : c_end + 12] if idx + 1 < len(clauses) else ""
    return bool(NARRATIVE_DONE.search(clause) or NEXT_LATER.match(following))


def _study(text: str, m: re.Match) -> bool:
    """Revision or homework: the findings of a sentence naming nobody in particular."""
    return _mentions(STUDY, text) and _names_nobody(text, m, STUDY)


def _media(text: str, m: re.Match) -> bool:
    """A news report or video watched: the findings of a sentence naming nobody of the person's own."""
    return _mentions(MEDIA, text) and _names_nobody(text, m, MEDIA, STUDY)


def _names_nobody(text: str, m: re.Match, *frames: re.Pattern) -> bool:
    """Whether the sentence of ``m``, with the ``frames`` cue words blanked, names no person."""
    start, end = _containing(_sentences(text), m.start())
    sentence = text[start:end]
    for frame in frames:
        sentence = frame.sub(" ", sentence)
    return not PERSONAL.search(sentence)


def _reported_no_plan(text: str, m: re.Match) -> bool:
    """Someone else's thoughts of death reported, with no plan said and no plan or means named."""
    return bool(
        IDEATION.search(m.group())
        and REPORTED_SPEAKER.search(text)
        and REPORTED_NO_PLAN.search(text)
        and not REPORTED_BLOCK.search(text)
    )


def _night_over(text: str, m: re.Match) -> bool:
    """Drunk last night, hungover today: a finding before the "today" part, which says nothing of it
    still going on."""
    night = PAST_NIGHT_DRUNK.search(text)
    if not night:
        return False
    now = NOW_AFTER_NIGHT.search(text, m.end())
    return bool(now) and m.start() < now.start() and not NIGHT_BLOCK.search(text[now.start() :])
