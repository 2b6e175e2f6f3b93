"""The task-generation request (AlpaCare's requirements, in our own words) and a robust reply parser.

The request shows sampled seed and generated tasks and asks for a batch of new ones spread over
topic, viewpoint, task type and difficulty 1-5, each written as::

    Type: ...
    Topic: ...
    View: ...
    Difficulty: ...
    Instruction: ...
    Input: ...     (<noinput> when none is needed)

with a line ``###`` between tasks. Field labels stay in English in both languages so that one
parser reads every reply; Chinese replies may use the full-width colon.

:func:`parse_tasks` accepts numbering (``1. Type:``), markdown emphasis (``**Type:**``), multi-line
instructions and inputs, and drops a malformed item with a reason (see ``REASONS``) instead of
failing the batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from datagen.dedup import tokenize
from datagen.records import is_noinput, parse_difficulty

FIELDS = ("type", "topic", "view", "difficulty", "instruction", "input")

# Why an item of a reply is dropped (the stats report counts them under these names).
REASONS = {
    "no_instruction": "no 'Instruction:' field (not in the task layout)",
    "missing_fields": "Type, Topic, View or Difficulty missing",
    "bad_difficulty": "difficulty not a whole number 1-5",
    "too_short": "instruction under 4 tokens",
    "too_long": "instruction over 300 tokens or input over 3000 characters",
    "wrong_language": "not in the requested language",
    "needs_media": "refers to an image, video or attachment the model cannot see",
    "truncated": "last item of a reply cut off at the token limit",
    "near_duplicate": "ROUGE-L F against a kept instruction above the threshold",
}

_FIELD_RE = re.compile(
    r"^\s*(?:[-*]\s*)?(?:\d+\s*[.)、]\s*)?[*_]*\s*(type|topic|view|difficulty|instruction|input)\s*[*_]*\s*[:：]\s*[*_]*\s*(.*)$",
    re.I,
)
_SEPARATOR_RE = re.compile(r"^\s*#{3,}.*$", re.M)
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_MEDIA_RE = re.compile(
    r"\b(image|picture|photo|photograph|video|diagram|attached|attachment)s?\b|图片|照片|视频|附件|附图|如图|下图|上图",
    re.I,
)

MIN_TOKENS, MAX_TOKENS, MAX_INPUT_CHARS = 4, 300, 3000

_REQUIREMENTS = {
    "en": """You are helping to build a varied collection of medical instruction-following tasks, used to train
and test a medical assistant. Write {n} new tasks. Requirements:
1. Every task is about medicine or health.
2. Vary the point of view: patients, family members, physicians, nurses, pharmacists, medical students,
   researchers, public-health staff, and others.
3. Cover as wide a range of topics as you can: diseases, diagnosis, treatment, drugs and pharmacology,
   pathophysiology, anatomy, genetics, epidemiology, prevention, nutrition, mental health, medical
   education, and more.
4. Use many task types: open questions, explanations, dialogue replies, rewriting, summarising,
   classification, information extraction, multiple-choice exam questions, single-step and multi-step
   clinical reasoning, and more. Use every type at least once across the batch.
5. Give each task a difficulty from 1 (basic) to 5 (expert) and spread the batch over all levels.
6. Word the instructions differently from each other and from the examples.
7. When a task needs no further input, write <noinput>. Otherwise give a concrete, detailed input of
   50 to 200 words: a case description, symptoms, test results, a clinical note, an exam question, ...
8. Patients and family members write simply, in the first person; clinicians and researchers use
   professional terms.
9. Write the tasks in English, each in exactly this layout, with a line containing only ### between tasks:
Type: <task type>
Topic: <topic>
View: <who is asking>
Difficulty: <1-5>
Instruction: <the instruction>
Input: <the input, or <noinput>>

Example tasks:
""",
    "zh": """你在帮助构建一批多样化的医学指令任务，用来训练和测试医疗助手。请写出 {n} 个新任务。要求：
1. 每个任务都与医学或健康有关。
2. 视角多样：患者、家属、医生、护士、药师、医学生、研究人员、公共卫生人员等。
3. 主题尽量广：疾病、诊断、治疗、药物与药理、病理生理、解剖、遗传、流行病学、预防、营养、心理健康、医学教育等。
4. 任务类型多样：开放式问答、解释、对话回复、改写、摘要、分类、信息抽取、选择题、单步与多步临床推理等，每种类型在这批任务中至少出现一次。
5. 每个任务标注难度 1（基础）到 5（专家），整批任务覆盖各个难度。
6. 指令的措辞彼此不同，也不要照搬示例。
7. 不需要额外输入时写 <noinput>；否则给出具体、详细的输入（50 到 200 字）：病例描述、症状、检查结果、病历记录、考试题目等。
8. 患者和家属用通俗的第一人称口吻；医生和研究人员使用专业术语。
9. 任务内容用中文书写，字段名保持英文，严格使用下面的格式，任务之间用单独一行 ### 分隔：
Type: <任务类型>
Topic: <主题>
View: <提问者视角>
Difficulty: <1-5>
Instruction: <指令>
Input: <输入，或 <noinput>>

示例任务：
""",
}
_CLOSING = {
    "en": "\nNow write {n} new tasks, different from the examples, in the same layout:\n",
    "zh": "\n现在请按相同格式写出 {n} 个与示例不同的新任务：\n",
}


def format_task(task: dict) -> str:
    """One task in the reply layout (what the model is shown and asked to write)."""
    difficulty = task.get("difficulty") or ""
    return (
        f"Type: {task.get('type', '')}\nTopic: {task.get('topic', '')}\nView: {task.get('view', '')}\n"
        f"Difficulty: {difficulty}\nInstruction: {task['instruction']}\nInput: {task['input'] or '<noinput>'}"
    )


def task_prompt(examples: list[dict], n: int, lang: str = "zh") -> str:
    """The request for ``n`` new tasks, showing ``examples`` (sampled seed and generated tasks)."""
    shown = "\n###\n".join(format_task(t) for t in examples)
    return _REQUIREMENTS[lang].format(n=n) + shown + "\n###\n" + _CLOSING[lang].format(n=n)


@dataclass
class Parsed:
    """What one reply yielded: well-formed tasks, and dropped items as (reason, raw text)."""

    tasks: list[dict] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)


def _items(block: str) -> list[dict[str, str]]:
    """Field values of the task(s) in a block; a repeated label starts a new task (a missing ###)."""
    items: list[dict[str, list[str]]] = []
    current = None
    for line in block.splitlines():
        m = _FIELD_RE.match(line)
        if m:
            name = m.group(1).lower()
            if not items or name in items[-1]:
                items.append({})
            items[-1][name] = [m.group(2)]
            current = name
        elif current is not None:
            items[-1][current].append(line)
    if not items:
        return [{}]  # text without any field: one malformed item
    return [{k: "\n".join(v).strip().strip("*_").strip() for k, v in item.items()} for item in items]


def check_task(f: dict[str, str], lang: str) -> tuple[dict | None, str | None]:
    """A parsed item -> (task, None) or (None, reason)."""
    instruction = f.get("instruction", "")
    if not instruction:
        return None, "no_instruction"
    if not all(f.get(k) for k in ("type", "topic", "view", "difficulty")):
        return None, "missing_fields"
    difficulty = parse_difficulty(f["difficulty"])
    if difficulty is None:
        return None, "bad_difficulty"
    n_tokens = len(tokenize(instruction))
    if n_tokens < MIN_TOKENS:
        return None, "too_short"
    input_text = "" if is_noinput(f.get("input")) else f["input"]
    if n_tokens > MAX_TOKENS or len(input_text) > MAX_INPUT_CHARS:
        return None, "too_long"
    has_cjk = bool(_CJK_RE.search(instruction))
    if (lang == "zh") != has_cjk:
        return None, "wrong_language"
    if _MEDIA_RE.search(instruction):
        return None, "needs_media"
    task = {
        "type": f["type"],
        "topic": f["topic"],
        "view": f["view"],
        "difficulty": difficulty,
        "instruction": instruction,
        "input": input_text,
    }
    return task, None


def parse_tasks(reply: str, lang: str = "zh", truncated: bool = False) -> Parsed:
    """Split a reply at ``###`` lines and check each item. ``truncated``: the reply hit the token
    limit, so its last item is incomplete and dropped as "truncated"."""
    blocks = [b for b in _SEPARATOR_RE.split(reply) if b.strip()]
    parsed = Parsed()
    for i, block in enumerate(blocks):
        items = _items(block)
        for j, item in enumerate(items):
            raw = block.strip() if len(items) == 1 else format_task({"instruction": "", "input": "", **item})
            if truncated and i == len(blocks) - 1 and j == len(items) - 1:
                parsed.dropped.append(("truncated", raw))
                continue
            task, reason = check_task(item, lang)
            if task is None:
                parsed.dropped.append((reason, raw))
            else:
                parsed.tasks.append(task)
    return parsed
