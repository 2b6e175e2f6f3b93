"""Medical safety layer: emergency red flags (Chinese and English), the standing disclaimer, the demo
notice, and refusal of clearly harmful requests. Used by the Gradio app and the API server.

    python -m model.safety "胸口疼得厉害，还一直出冷汗"        # prints the decision as JSON
    python -m model.safety --allow-harmful "..."               # refusal switched off

How it decides, in order (all of it is plain, readable data below, no model):

1. Normalise: NFKC (full-width -> half-width), Traditional -> Simplified Chinese (OpenCC ``t2s``),
   lower case, figurative phrases masked ("压力大得喘不过气", "this headache is killing me").
2. Find every *concept* (``CONCEPTS``: a named list of zh and en regexes, e.g. ``chest_pain``,
   ``sweating``, ``child``) in the message.
3. Drop the findings that do not describe something happening now (NegEx-style context):
   negated ("没有胸痛", "denies chest pain, shortness of breath or sweating"), past or recurrent
   ("去年", "two years ago", "后遗症", "经常", "sometimes"), hypothetical ("如果", "if"), or part of a
   general-knowledge question ("心梗的典型症状有哪些", "what are the warning signs of ...").
4. Fire the *rules* (``RULES``): a rule names a category and groups of concepts; every group must
   have a current finding (e.g. ``chest_pain`` AND one of ``sweating|breathless|radiating_pain``).

The decision (``SafetyDecision``) says whether it is an emergency (show ``notice`` above the
answer: call 120 in Chinese, 911/112/999 in English, plus a crisis line for suicidal intent) and
whether to refuse (show ``refusal`` instead of generating). Rules lean towards catching every red
flag: a false alarm costs a notice, a miss can cost a life. docs/safety.md has the measured rates.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import opencc

# ----------------------------------------------------------------------------------------------
# Fixed texts
# ----------------------------------------------------------------------------------------------

DISCLAIMER = {
    "zh": "本助手不是医生，回答仅供健康信息参考，不构成诊断或治疗建议。如有不适，请咨询医生或前往医院就诊；紧急情况请立即拨打 120。",
    "en": (
        "This assistant is not a doctor. Its answers are general health information only, not a "
        "diagnosis or treatment advice. Please see a clinician about your own situation; in an emergency, "
        "call your local emergency number (911, 112, 999) now."
    ),
}

DEMO_NOTICE = {
    "zh": "当前是演示模型：一个只用少量示例数据训练的玩具模型，回答没有医学意义，不提供任何医疗建议。",
    "en": (
        "This is the demo model: a toy model trained on a small sample dataset. Its replies have no "
        "medical meaning and give no medical advice."
    ),
}

# Numbers cited are national, widely documented ones: 120 (mainland China ambulance), 911 (US),
# 112 (EU), 999 (UK); 12356 (China's national psychological assistance hotline, all local lines
# connected by May 2025); 988 (US Suicide & Crisis Lifeline); Samaritans 116 123 (UK and Ireland);
# Poison Help 1-800-222-1222 (US poison centres).
EMERGENCY_HEADER = {
    "zh": (
        "⚠️ 紧急提示：你描述的情况可能危及生命（{labels}）。请立即拨打 120 急救电话"
        "（中国大陆；其他地区请拨打当地急救电话），或马上去最近的医院急诊，不要等待线上回复。"
    ),
    "en": (
        "⚠️ Emergency: what you describe may be life-threatening ({labels}). Call your emergency "
        "number now (911 in the US, 112 in the EU, 999 in the UK, or your local number) or go to the "
        "nearest emergency department. Do not wait for an online answer."
    ),
}

HARM_REFUSAL = {
    "zh": (
        "抱歉，这个请求可能被用来伤害他人，或违法获取、滥用药品、伪造医疗文件，我不能提供帮助。"
        "如果有人正处于危险之中，请立即拨打 120 或报警；如果是正当的用药需求，请咨询医生或药师。"
    ),
    "en": (
        "Sorry, I can't help with this: it could be used to harm someone, or to obtain or misuse "
        "medicines or forge medical documents. If someone is in danger, call your emergency number "
        "now. For a genuine medication need, please talk to a doctor or pharmacist."
    ),
}

# Shown instead of an answer when someone asks for lethal doses or ways to die: supportive, never
# a plain "no", always with a crisis line (the emergency notice is shown above it as well).
SELF_HARM_REFUSAL = {
    "zh": (
        "听到你这么难受，我很担心你。我不能提供致死剂量或伤害自己的方法，但你不必一个人扛着："
        "请现在拨打 12356 全国心理援助热线，和专业的人聊一聊，或者告诉一个你信任的人，让他陪着你。"
        "如果你已经服了药或伤害了自己，请立即拨打 120。"
    ),
    "en": (
        "I'm really sorry you're feeling this way, and I'm glad you said something. I can't give "
        "information about lethal doses or ways to hurt yourself, but you don't have to face this "
        "alone: in the US call or text 988, in the UK or Ireland call Samaritans on 116 123, or reach "
        "out to someone you trust right now. If you have already taken something or hurt yourself, "
        "call your emergency number now."
    ),
}

# Per emergency category: (label, first-aid hint) in each language. Hints are standard lay first
# aid (Red Cross / NHS / resuscitation-council level), never treatment advice.
CATEGORY_INFO: dict[str, dict[str, tuple[str, str]]] = {
    "cardiac": {
        "zh": ("疑似心脏急症，如心肌梗死", "停止活动，坐下或半躺休息，不要自己开车去医院。"),
        "en": (
            "possible heart attack",
            "Stop what you are doing and sit or lie down; do not drive yourself to hospital.",
        ),
    },
    "stroke": {
        "zh": ("疑似中风", "记下症状开始的时间，不要给患者吃喝任何东西。"),
        "en": ("possible stroke", "Note the time the symptoms started; give nothing to eat or drink."),
    },
    "suicide": {
        "zh": (
            "自杀或自伤风险",
            "你并不孤单：请现在拨打 12356 全国心理援助热线，或让一个信任的人陪在身边；有立即危险时拨打 120。",
        ),
        "en": (
            "risk of suicide or self-harm",
            "You are not alone: in the US call or text 988 (Suicide & Crisis Lifeline); in the UK or "
            "Ireland call Samaritans on 116 123; stay with someone you trust. If life is in immediate "
            "danger, call the emergency number.",
        ),
    },
    "anaphylaxis": {
        "zh": ("疑似严重过敏反应", "如有肾上腺素自动注射笔，立即使用；平躺抬高双腿，呼吸困难时可坐起。"),
        "en": (
            "possible anaphylaxis",
            "Use an adrenaline (epinephrine) auto-injector now if one is available; lie down with "
            "legs raised, or sit up if breathing is hard.",
        ),
    },
    "bleeding": {
        "zh": ("严重出血", "外伤出血时用干净的布用力持续按压伤口，不要松开。"),
        "en": ("severe bleeding", "For a wound, press firmly and continuously on it with a clean cloth."),
    },
    "poisoning": {
        "zh": (
            "中毒或药物过量",
            "不要自行催吐；带上药瓶或包装。疑似煤气中毒时先开窗并离开现场。",
        ),
        "en": (
            "possible poisoning or overdose",
            "Do not make the person vomit; keep the container or packaging. For suspected carbon "
            "monoxide, get everyone into fresh air. US Poison Help: 1-800-222-1222.",
        ),
    },
    "pediatric_fever_seizure": {
        "zh": (
            "儿童高热惊厥",
            "让孩子侧躺，移开周围硬物，不要往嘴里塞任何东西，不要按住肢体，记录抽搐时长。",
        ),
        "en": (
            "child with fever and a seizure",
            "Lay the child on their side, clear the space, put nothing in their mouth and do not "
            "hold them down; time the seizure.",
        ),
    },
    "seizure": {
        "zh": ("抽搐发作", "让患者侧躺，移开周围硬物，不要往嘴里塞东西，记录抽搐时长。"),
        "en": (
            "seizure",
            "Lay them on their side, clear the space, put nothing in their mouth; time the seizure.",
        ),
    },
    "unconscious": {
        "zh": ("意识丧失", "如果没有正常呼吸，按急救调度员的指导做心肺复苏；有呼吸则让其侧卧。"),
        "en": (
            "loss of consciousness",
            "If they are not breathing normally, start CPR as the call handler instructs; if they "
            "are breathing, place them on their side.",
        ),
    },
    "breathing": {
        "zh": ("严重呼吸困难", "让患者坐直、保持安静；异物卡喉时按急救调度员指导施救。"),
        "en": (
            "severe breathing difficulty",
            "Sit upright and keep calm; for choking, follow the call handler's instructions.",
        ),
    },
    "burns": {
        "zh": (
            "严重烧烫伤或电击伤",
            "用流动的凉水冲洗至少20分钟，不要用冰、牙膏或油；电击先切断电源再接触伤者；化学品入眼用大量清水持续冲洗。",
        ),
        "en": (
            "severe burn or electrical injury",
            "Cool the burn under cool running water for 20 minutes, no ice, butter or creams; for an "
            "electric shock switch off the power before touching the person; rinse chemicals out of "
            "eyes with running water.",
        ),
    },
    "headache": {
        "zh": ("突发剧烈头痛", "这可能是脑出血的信号，不要等待它自行缓解。"),
        "en": (
            "sudden severe headache",
            "This can be a sign of bleeding in the brain; do not wait for it to pass.",
        ),
    },
    "pregnancy": {
        "zh": ("孕产期急症", "立即躺下休息，带上产检资料。"),
        "en": ("pregnancy emergency", "Lie down and take your pregnancy notes with you if you can."),
    },
    "meningitis": {
        "zh": ("疑似脑膜炎", "不要等待皮疹或症状进一步变化。"),
        "en": ("possible meningitis", "Do not wait for the rash or symptoms to change."),
    },
    "head_injury": {
        "zh": ("头部外伤危险信号", "不要让伤者独处；可能伤到颈部时不要随意搬动。"),
        "en": (
            "head injury with danger signs",
            "Do not leave them alone; do not move them if a neck injury is possible.",
        ),
    },
    "urgent_help": {
        "zh": ("你认为情况紧急", "拿不准时，宁可先拨打 120，调度员会告诉你该怎么做。"),
        "en": ("you describe an emergency", "If in doubt, call: the call handler will tell you what to do."),
    },
    "infant_fever": {
        "zh": ("三个月以下婴儿发热", "小婴儿发热需要医生立即评估。"),
        "en": ("fever in a baby under 3 months", "A young baby with a fever needs a doctor straight away."),
    },
}
EMERGENCY_CATEGORIES = tuple(CATEGORY_INFO)
HARM_CATEGORIES = ("harm_others", "forgery", "controlled_drugs")

# ----------------------------------------------------------------------------------------------
# Concepts: named lists of patterns. "finding" concepts are symptoms/events and go through the
# negation / history / hypothetical / general-question checks; "context" concepts (who, trigger,
# "suddenly") only have to be present.
#
# Pattern notation: <gap> is a short filler that cannot cross punctuation or a negation
# ("胸口<gap>痛" matches 胸口一阵阵痛 but not 胸口不痛); English patterns are wrapped in letter
# boundaries automatically. Text is already lower-case, half-width and Simplified.
# ----------------------------------------------------------------------------------------------

ZH_GAP = r"[^,.!?;:、。没无不未]{0,4}?"
EN_GAP = r"[^,.!?;:]{0,25}?"
CHILD_AGE_ZH = r"(?<!\d)(?:[1-9]|1[0-3]|[一二两三四五六七八九十])岁"


@dataclass(frozen=True)
class Concept:
    """A named medical idea, with regex patterns per language; see the notes above."""

    name: str
    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    context: bool = False


def _c(name: str, zh=(), en=(), context: bool = False) -> Concept:
    return Concept(name, tuple(zh), tuple(en), context)


# fmt: off
CONCEPTS: tuple[Concept, ...] = (
    # --- cardiac: chest pain with the classic companions of an acute coronary syndrome ----------
    _c("chest_pain",
       zh=[r"(?:胸|心口|心窝|心脏|前胸|胸膛)<gap>(?:疼|痛|闷|紧|憋|压|绞|揪|堵|沉|刺)",
           r"(?:胸|心口|心窝|心脏|前胸|胸膛)[^,.!?。]{0,3}像[^,.!?。]{0,6}(?:压|堵|捆|勒|绞|揪|扎|撕|攥|捏|夹)",
           r"(?:捂|按|抓|揪)着?(?:胸口|心口|胸)"],
       en=[r"chest (?:pain|pains|ache|aching|tightness|pressure|discomfort|heaviness|hurts?|is hurting|feels (?:tight|heavy|like))",
           r"(?:pain|pressure|tightness|squeezing|heaviness|discomfort|weight) (?:in|on) (?:the (?:middle|centre|center) of )?(?:my|his|her|the) chest",
           r"(?:my|his|her) chest (?:hurts|is (?:killing|crushed|on fire)|feels like)",
           r"(?:my|his|her) chest (?:is|feels) (?:really |very |so |quite |a bit )?(?:tight|heavy|sore|painful|crushed)",
           r"(?:clutching|clutched|holding|grabbing|grabbed) (?:at )?(?:my|his|her) chest",
           r"(?:crushing|squeezing|tight|heavy|pressing|burning) (?:feeling|sensation|pain|pressure) in (?:my|his|her|the) chest",
           r"(?:elephant|weight|something heavy|a vice|a band)[^.!?]{0,20}(?:sitting|pressing|squeezing|on|around) (?:my|his|her) chest"]),
    # Crushing / tearing chest pain alone: myocardial infarction or aortic dissection.
    _c("severe_chest_pain",
       zh=[r"(?:胸|心口|心窝|心脏|前胸)<gap>(?:剧痛|剧烈疼痛|压榨|撕裂|刀割|疼得(?:受不了|要命|厉害))", r"(?:剧烈|撕裂样|压榨样)的?胸(?:痛|口痛|部疼痛)"],
       en=[r"crushing (?:chest )?pain", r"crushing (?:feeling|sensation|pressure) in (?:my|his|her|the) chest", r"(?:tearing|ripping) (?:chest|back) pain", r"severe chest pain",
           r"chest (?:hurts|pain is) (?:so|really) bad"]),
    _c("heart_attack_now",
       zh=[r"(?:好像|可能|是不是|怕是|感觉|估计)是?(?:心梗|心肌梗死|心脏病发作)了?", r"心(?:梗|脏病)发作"],
       en=[r"having a heart attack", r"heart attack right now"]),
    _c("sweating",
       zh=[r"(?<!多)汗(?!毛|疱|斑|腺|脚|臭|蒸|衫|症)", r"(?:浑身|全身|衣服)<gap>湿透"],
       en=[r"sweat(?:ing|y|s)?", r"clammy", r"diaphore\w*", r"drenched", r"perspiring"]),
    _c("breathless",
       zh=[r"喘不\w", r"喘得", r"喘气<gap>(?:费劲|困难|难|急)", r"气喘", r"上不来气", r"透不过气", r"气短", r"气促", r"气急",
           r"呼吸(?:困难|急促|费力)", r"憋气", r"憋得"],
       en=[r"short(?:ness)? of breath", r"breathless", r"can'?t (?:catch|get) (?:my|his|her) breath", r"hard to breathe",
           r"(?:trouble|difficulty|struggling) (?:breathing|to breathe)", r"out of breath", r"winded"]),
    # Pain spreading to the arm, jaw, back or shoulder: the referred pain of myocardial ischaemia.
    _c("radiating_pain",
       zh=[r"放射", r"(?:疼|痛)到了?(?:后背|背|左臂|胳膊|手臂|下巴|肩)", r"牵扯到", r"左(?:胳膊|手臂|臂|肩)<gap>(?:发麻|麻|疼|痛)",
           r"(?:胳膊|手臂|肩膀?|下巴|后背|牙)<gap>(?:跟着|也)<gap>(?:疼|痛|麻)"],
       en=[r"(?:spread(?:ing|s)?|radiat(?:ing|es)|going|shoot(?:ing|s)?|moving) (?:down |up |in)?(?:to |into )(?:my |his |her )?(?:left )?(?:arm|jaw|back|shoulder|neck)",
           r"left arm (?:is )?(?:numb|tingling|aching|hurts)"]),
    # Chest pain lasting 15 minutes or more (minutes or hours, not days) is itself a red flag.
    _c("long_episode", context=True,
       zh=[r"(?:\d+|半|一|两|几)个?(?:多)?(?:小时|钟头)", r"(?:\d{2}|[二三四五]十|几十)分钟"],
       en=[r"(?:\d+|an?|one|two|several) (?:hours?|hrs?)", r"(?:1[5-9]|[2-9]\d|fifteen|twenty|thirty|forty|fifty) (?:minutes|mins)"]),
    _c("weakness", zh=[r"(?:人|浑身|全身)<gap>(?:很虚|发虚|虚弱|没力气|无力|软)", r"乏力", r"(?:脸|面色|脸色)<gap>(?:煞白|苍白|惨白|发白)"], en=[r"weak", r"exhausted", r"gr[ae]y", r"pale"]),
    _c("nausea", zh=[r"恶心", r"想吐", r"呕吐"], en=[r"nause\w*", r"feel(?:ing)? sick", r"vomit\w*", r"throwing up"]),
    _c("faint",
       zh=[r"晕倒", r"晕厥", r"要晕", r"快晕", r"发晕", r"头晕", r"晕(?:晕)?乎", r"眼前发黑", r"站不住", r"站不稳", r"要昏倒"],
       en=[r"faint\w*", r"passed out", r"(?:about to|like) pass(?:ing)? out", r"dizz(?:y|iness)", r"light-?headed"]),
    # --- stroke: FAST (face, arm, speech) plus sudden one-eye vision loss -------------------------
    _c("face_droop",
       zh=[r"口角<gap>(?:歪|斜|下垂)", r"嘴(?:角|巴)?<gap>歪", r"口眼歪斜", r"脸<gap>歪", r"嘴角<gap>(?:下垂|耷拉)",
           r"(?:一侧|半边|半侧|左侧|右侧|一边)的?脸<gap>(?:麻|下垂|耷拉|歪|不能动|动不了|不会动)", r"面部<gap>(?:歪斜|下垂)"],
       en=[r"face (?:is |looks )?(?:droop\w*|lopsided|uneven|crooked)",
           r"(?:one )?side of (?:his|her|my|the) (?:face|mouth) (?:is |looks |went |has gone |has )?(?:droop\w*|numb|sag\w*|crooked|uneven|slack|dropped|fallen)",
           r"(?:smile|mouth) (?:looks |is )?(?:uneven|crooked|lopsided|droop\w*)", r"drooping (?:face|mouth)"]),
    _c("one_side_weak",
       zh=[r"(?:一侧|单侧|左半边|右半边|左半侧|右半侧|半边|半侧|左侧|右侧|左边|右边|一边|左|右)的?(?:肢体|身体|身子|胳膊|手臂|腿|手脚|上肢|下肢)"
           r"(?:和(?:腿|胳膊|手))?<gap>(?:无力|没力|没劲|使不上劲|发麻|麻木|抬不起|不能动|动不了|拿不住|不听使唤|瘫)",
           r"(?:左|右)手<gap>(?:拿不|握不|抬不|没力|无力|不听使唤|动不了)", r"半身不遂"],
       en=[r"(?:weak(?:ness)?|numb(?:ness)?|paraly[sz]ed?) (?:in |on )?(?:the |my |his |her )?(?:one side|left side|right side|left (?:arm|leg)|right (?:arm|leg))",
           r"(?:left|right|one) (?:arm|leg|hand|side)(?: and (?:arm|leg))? (?:is |went |feels |has gone )?(?:just )?"
           r"(?:weak|numb|limp|dead|paraly[sz]ed|hanging|floppy|useless|not working|won'?t move)",
           r"can'?t (?:lift|move|raise|use|feel) (?:his|her|my) (?:left|right) (?:arm|leg|hand|side)", r"one-sided weakness",
           r"dropping things with (?:his|her|my) (?:left|right) hand"]),
    _c("speech_slur",
       zh=[r"说话<gap>(?:含糊|含含糊糊|不清|不利索|不利落|大舌头|不对劲|奇怪|颠三倒四|词不达意)", r"口齿<gap>(?:不清|含糊)",
           r"言语不清", r"吐字不清", r"说不出话", r"讲不出话", r"不会说话了", r"舌头<gap>(?:发硬|不灵|打结|不听使唤)"],
       en=[r"slurr\w*", r"garbled", r"jumbled", r"can'?t (?:speak|talk) (?:properly|clearly|right)", r"can'?t get (?:his|her|my) words out",
           r"(?:trouble|difficulty) (?:speaking|talking)", r"speech (?:suddenly )?(?:went|is|sounds|became|got) (?:all )?(?:weird|strange|funny|off|slurred|garbled|jumbled|muddled)",
           r"talking (?:funny|strangely|nonsense)", r"not making (?:any )?sense", r"can'?t find (?:his|her|my) words",
           r"words (?:are |keep )?(?:coming out )?(?:all )?(?:wrong|jumbled|garbled|mixed up)"]),
    _c("vision_loss",
       zh=[r"(?:一只眼|单眼)<gap>(?:看不见|失明|黑了|模糊)", r"(?:看东西|视物)重影", r"突然(?:看不清|失明|看不见)"],
       en=[r"(?:vision|sight) (?:went |is |goes )?(?:blurry|blurred|dark|black|double) in one eye", r"lost (?:vision|sight) in one eye",
           r"sudden(?:ly)? (?:blindness|double vision)"]),
    _c("stroke_now", zh=[r"(?:中风|脑梗|卒中)了"], en=[r"having a stroke"]),
    # A stroke in the past: lasting deficits are its sequelae, not a new stroke (unless sudden).
    _c("stroke_history", context=True,
       zh=[r"(?:去年|前年|年前|以前|之前|曾经|既往|上次)<gap>(?:中风|脑梗|脑出血|脑梗塞|卒中)", r"(?:中风|脑梗|脑出血|脑梗塞|卒中)(?:后遗症|后|以后|之后|史)"],
       en=[r"had a stroke", r"stroke survivor", r"(?:since|after) (?:his|her|my|their) stroke", r"post-stroke", r"history of stroke"]),
    _c("sudden", context=True,
       zh=[r"突然", r"忽然", r"刚才", r"刚刚", r"一下子", r"早上起来", r"醒来", r"睡醒"],
       en=[r"sudden(?:ly)?", r"all of a sudden", r"just now", r"woke up with", r"out of nowhere", r"minutes ago", r"started"]),
    # --- suicide and self-harm: intent in the first or third person --------------------------
    _c("suicidal",
       zh=[r"想要?(?:自杀|死|去死|轻生|寻死|一死了之|了结自己|解脱|消失)", r"不想活", r"活不下去", r"撑不下去", r"不想再撑",
           r"活着<gap>(?:痛苦|没意思|没意义|没有意思|没有意义)", r"没有活下去的", r"(?:要|准备|打算|计划)去?(?:自杀|轻生|跳楼|跳河|跳江|跳海|跳桥|卧轨|割腕|上吊|烧炭|服毒)",
           r"自杀", r"轻生", r"结束(?:自己的)?生命", r"结束这一切", r"遗书", r"割腕", r"(?:手臂|手腕|胳膊)上?(?:划|割)", r"自残", r"自伤",
           r"伤害自己", r"从楼上跳", r"死了算了", r"不如死了", r"一了百了", r"活够了", r"离开这个世界", r"不想醒来",
           r"(?:准备|打算|想|要|今晚|今天)<gap>(?:吃掉|吞掉|吃光|全吃了?|全部吃)[^,.!?。]{0,4}(?:药|安眠药|片)", r"把(?:所有的?|全部的?)?药<gap>(?:全|都)(?:吃|吞)",
           r"(?:药|安眠药|绳子)<gap>(?:准备好|攒好|攒够|买好|攒起来|存起来)", r"(?:一次性|一口气|一下子)(?:全)?(?:吃完|吃光|吞下|吃掉)",
           r"(?:再也|永远)不(?:要|想)?醒(?:过来|来)?", r"遗言", r"(?:明天|今晚|以后|很快)就不在了",
           r"(?:站|坐|爬|走)(?:在|上|到)<gap>(?:楼顶|天台|顶楼|桥上|桥边|窗台|阳台边|楼边|江边|河边)[^。!?]{0,10}(?:不想再?(?:坚持|撑|活)|撑不|活不|再见|永别|跳下去)"],
       en=[r"kill (?:myself|himself|herself|themselves)", r"suicid(?:e|al)", r"(?:end|ending|take|taking) (?:my|his|her|their) (?:own )?life",
           r"wants? to die", r"wanna die", r"better off dead", r"don'?t want to (?:be alive|live|wake up|be here)",
           r"no (?:reason|point) (?:to live|in living|in going on)", r"nothing (?:left )?to live for", r"end it all", r"can'?t go on",
           r"(?:hurt|hurting|cut|cutting|harm|harming) (?:myself|himself|herself)(?! (?:shaving|cooking|at |while|lifting|playing|when|during|doing|"
           r"falling|by accident|accidentally|on (?:a|the|some|my)|in (?:the|a|my)|with (?:a|the)))", r"self[- ]harming",
           r"(?:i|he|she|they|been|started|keeps?) (?:to )?self[- ]harm", r"(?:suicide|goodbye) note",
           r"(?:going to|gonna|will|want to|plan to|planning to) (?:take|swallow) (?:all|every one) (?:of )?(?:my|his|her|the) (?:pills|meds|tablets|medication)",
           r"tonight is the night", r"(?:pills|meds|tablets|rope) (?:are )?(?:lined up|ready|saved up|stockpiled)",
           r"end(?:ing)? (?:things|it) (?:tonight|today|now|for good)", r"(?:written|wrote|writing) (?:goodbye )?(?:letters|notes) to (?:everyone|my family)",
           r"goodbye letters?", r"(?:planning|going|plan|want|about) to (?:jump off|jump from|jump in front of|hang myself|overdose)",
           r"(?:don'?t|can'?t) see the point (?:anymore|any more|in living|of living)",
           r"(?:saved|saving|stockpil\w+) (?:up )?(?:my |his |her )?(?:pills|meds|tablets)",
           r"(?:standing|sitting|up) on (?:the )?(?:roof|ledge|edge of (?:the |a )?(?:roof|bridge|building|cliff)|bridge)[^.!?]{0,30}(?:can'?t (?:do|take) (?:this|it)|"
           r"done with (?:everything|life|it all)|goodbye|jump)"]),
    # Asking how to die / how much it takes to die: the request itself signals intent.
    _c("lethal_means",
       zh=[r"多少<gap>(?:才能|就能|能|可以)死", r"死得(?:不痛苦|快|没有痛苦|舒服)", r"无痛的?(?:死法|自杀|死亡)", r"自杀的?方法",
           r"怎么(?:样才能)?死(?:得|掉)", r"(?:办法|方法|方式)[^,.!?。]{0,8}(?:离开这个世界|死掉|去死|结束(?:自己的)?生命|自杀)"],
       en=[r"how (?:many|much)\b[^.!?]{0,40}\bto (?:die|kill (?:myself|me))", r"how (?:many|much)\b[^.!?]{0,40}\bwould kill me",
           r"painless(?:ly)? (?:way to )?(?:die|death|suicide)", r"(?:quickest|easiest|best|fastest) way to (?:die|kill myself|end my life)",
           r"how (?:to|do i|can i) (?:die|kill myself|commit suicide|end my life)"]),
    _c("lethal_info", zh=[r"致死量", r"致命剂量", r"多少(?:片|粒|颗)"], en=[r"lethal dose", r"fatal dose", r"how many (?:pills|tablets)"]),
    # --- anaphylaxis: airway swelling or breathing trouble after an allergen --------------------
    _c("airway_swelling",
       zh=[r"(?:喉咙|嗓子眼?|喉头|咽喉|喉咙口)<gap>(?:发紧|紧|肿(?!痛)|水肿|堵|被掐住)", r"咽不下", r"舌头<gap>肿", r"嘴唇(?:和.{0,4})?<gap>肿",
           r"(?:脸|眼睛|眼皮)<gap>肿(?:起来|得厉害|得很)"],
       en=[r"throat[^.!?,]{0,20}(?:closing|tight|swelling)", r"(?:tongue|lips?|face|mouth) (?:is |are )?(?:swell\w*|huge|puffy|puffed up|blown up|twice the size)",
           r"swollen (?:tongue|lips|face)", r"(?:struggling|trouble|difficulty|hard|can'?t|unable) (?:to )?swallow\w*",
           r"(?:closing|swelling) (?:up )?(?:of )?(?:my |his |her |the )?throat"]),
    _c("allergen", context=True,
       zh=[r"过敏", r"蜇", r"蛰", r"叮", r"花生", r"坚果", r"海鲜", r"虾", r"蟹", r"鱼", r"鸡蛋", r"牛奶", r"芒果", r"菠萝", r"青霉素", r"头孢", r"抗生素", r"输液", r"皮试",
           r"打针", r"疫苗", r"造影剂"],
       en=[r"allerg\w*", r"sting\w*", r"stung", r"bee", r"wasp", r"hornet", r"peanuts?", r"nuts?", r"shellfish", r"shrimps?", r"prawns?", r"crab",
           r"lobster", r"fish", r"eggs?", r"milk", r"sesame", r"kiwi", r"cashews?", r"almonds?", r"walnuts?", r"pistachios?", r"hazelnuts?",
           r"pecans?", r"after (?:eating|taking|an injection)",
           r"penicillin", r"amoxicillin", r"antibiotics?", r"injection", r"vaccine", r"epipen", r"epinephrine"]),
    _c("hives_all_over",
       zh=[r"(?:全身|浑身|满身|身上到处)<gap>(?:风团|荨麻疹|疹子|红疹|疙瘩|起包|大包|风疹块)"],
       en=[r"hives (?:all over|everywhere)", r"(?:whole|entire) body[^.!?,]{0,15}(?:hives|rash|welts)", r"(?:hives|welts|rash) all over"]),
    _c("wheeze", zh=[r"喘鸣", r"哮鸣", r"(?:嗓子|喉咙|呼吸|胸口)<gap>(?:呼呼|嘶嘶|咝咝|拉风箱|呼噜|响)"], en=[r"wheez\w*", r"whistl\w+ (?:sound|noise|when)"]),
    _c("anaphylaxis_named", zh=[r"过敏性休克", r"严重过敏反应"], en=[r"anaphyla\w*"]),
    # --- severe bleeding --------------------------------------------------------------------------
    _c("severe_bleeding",
       zh=[r"(?:血流|出血|流血)不止", r"止不住", r"(?:按|压|捂)(?:都|也)?(?:按|压|捂)?不住", r"(?:大量|很多|好多|大口)的?(?:出血|流血|吐血|呕血|咳血|便血|鲜血)",
           r"(?:出|流)了?(?:很多|好多|大量|一大摊|一地)的?血", r"大出血", r"喷血", r"血<gap>(?:喷|涌|哗哗|汩汩|直流|狂流|流个不停)",
           r"血(?:一直)?往外(?:冒|流|喷|涌)", r"满地(?:是)?血", r"(?:吐|呕)了[^,.!?。没无不]{0,5}血(?!丝)", r"吐血", r"呕血",
           r"咳了?(?:好多|很多|大量|一大口|大口)的?血", r"柏油样", r"(?:湿透|浸透)<gap>(?:纱布|卫生巾|毛巾)", r"(?:纱布|卫生巾)<gap>湿透",
           r"被(?:人)?(?:用刀)?(?:捅|扎|砍)", r"刀伤<gap>深", r"枪伤", r"(?:大便|拉|便|尿)[^,.!?。没无不]{0,3}(?:全是|都是|好多|很多|大量|一大摊|一大滩)的?血",
           r"拉血", r"吐(?:出)?了?[^,.!?。]{0,6}咖啡(?:渣|色)"],
       en=[r"bleeding (?:heavily|profusely|a lot|badly)", r"bleeding (?:that )?(?:won'?t|doesn'?t|isn'?t) stop\w*",
           r"(?:won'?t|can'?t|cannot) stop (?:the )?bleeding", r"(?:it|blood)(?:'s| is| keeps)? (?:spurting|pouring|gushing|pumping|squirting)",
           r"(?:pumping|squirting|gushing|pouring) (?:out )?blood", r"(?:lots of|a lot of|so much) blood (?:in|from) (?:his|her|my) (?:stool|poo|poop|vomit)",
           r"blood (?:is )?(?:everywhere|all over)", r"pool of blood", r"spurting blood", r"(?:heavy|severe|major) bleed\w*",
           r"(?:vomit\w*|throwing up|threw up|throws up|bringing up)[^.!?]{0,40}coffee[- ]grounds?", r"coffee[- ]ground (?:vomit|emesis)",
           r"los(?:ing|t) a lot of blood", r"soak(?:ed|ing) (?:through )?(?:pads|towels|bandages|the bandage)", r"soaked through",
           r"(?:vomit\w*|throwing up|threw up) blood", r"coughing up (?:a lot of |large amounts of |lots of |cups of )(?:bright red )?blood",
           r"black,? tarry stools?", r"stab(?:bed| wound)", r"gunshot", r"been shot"]),
    _c("nosebleed_long",
       zh=[r"流?鼻血<gap>(?:止不住|不止|半小时|\d{2}分钟|(?:半|一|两|几)个多?小时)"],
       en=[r"nose ?bleed[^.!?]{0,40}(?:\d{2} minutes|won'?t stop|not stopping|didn'?t help|keeps)"]),
    # --- poisoning and overdose ---------------------------------------------------------------
    _c("accidental_ingestion",
       zh=[r"误(?:服|食|吃|喝|吞)", r"偷(?:吃|喝)", r"不小心(?:吃|喝|吞)", r"吞(?:下|了|进)", r"把.{0,12}(?:吃|喝|吞)(?:了|下去|进去|掉)",
           r"(?:吃|喝|吞)了(?:好几|几|一把|一堆|半瓶|一瓶|很多|好多|\d+)(?:片|粒|颗|口|个)"],
       en=[r"swallow(?:ed|s)?", r"accidentally (?:ate|drank|took|ingested|swallowed)", r"got into (?:the|my|his|her|a|some)",
           r"got hold of", r"got (?:at|to) (?:the|my|his|her)",
           r"ate", r"drank", r"chewed", r"ingested", r"licked"]),
    # Any swallowing at all: enough when the substance is a household poison (not a medicine).
    _c("ingested", zh=[r"(?:喝|吃|吞|咽|舔|含)(?:了|下|进)"], en=[r"ate", r"drank", r"swallow\w*", r"ingest\w*", r"licked", r"chewed"]),
    _c("alcohol", context=True, zh=[r"白酒", r"啤酒", r"红酒", r"(?<![药精])酒(?!精)"], en=[r"alcohol", r"vodka", r"wine", r"beer", r"whisky", r"whiskey", r"spirits"]),
    _c("medicine", context=True,
       zh=[r"药", r"片", r"粒", r"胶囊", r"维生素", r"铁剂", r"糖浆", r"口服液", r"冲剂"],
       en=[r"pills?", r"tablets?", r"capsules?", r"medicines?", r"medications?", r"meds", r"vitamins?", r"iron", r"syrup", r"tylenol",
           r"calpol", r"panadol", r"motrin", r"advil", r"nurofen", r"benadryl", r"cough (?:syrup|medicine|mixture)",
           r"acetaminophen", r"paracetamol", r"ibuprofen", r"aspirin", r"gummies"]),
    _c("household_toxin", context=True,
       zh=[r"农药", r"敌敌畏", r"百草枯", r"除草剂", r"消毒液", r"84", r"漂白", r"洗洁精", r"清洁剂", r"洗衣液", r"洗衣凝珠", r"汽油", r"煤油",
           r"防冻液", r"老鼠药", r"鼠药", r"灭鼠药", r"蟑螂药", r"杀虫剂", r"毒蘑菇", r"野蘑菇", r"电池", r"磁(?:铁|珠)", r"甲醇", r"化学品",
           r"管道疏通剂", r"洁厕灵", r"洁厕", r"洗衣粉", r"消毒水", r"卸甲水", r"洗甲水", r"樟脑丸", r"卫生球", r"水银", r"硫酸", r"盐酸", r"烧碱", r"火碱",
           r"(?:清洁|消毒|洗涤|杀虫|灭鼠|除草|除虫|腐蚀)\w{0,2}(?:剂|液|水|药)", r"酒精", r"花露水", r"香水", r"风油精", r"清凉油", r"驱蚊液", r"精油",
           r"指甲油", r"染发剂", r"机油", r"柴油"],
       en=[r"bleach", r"detergent", r"(?:laundry|dishwasher) (?:pods?|tablets?|capsules?)", r"pods?", r"cleaner", r"cleaning (?:product|fluid)",
           r"pesticide", r"weed ?killer", r"rat poison", r"antifreeze", r"(?:button |coin )?batter(?:y|ies)", r"magnets?",
           r"(?:wild |poisonous )?mushrooms?", r"methanol", r"lighter fluid", r"gasoline", r"petrol", r"lamp oil", r"chemicals?",
           r"rinse aid", r"(?:toilet|oven|drain|floor|window) cleaner", r"nail polish remover", r"hand sanitiz\w+", r"e-liquid", r"vape (?:juice|liquid)",
           r"nicotine", r"essential oils?", r"mouthwash", r"washer fluid", r"lye", r"ammonia"]),
    _c("overdose",
       zh=[r"一口气(?:吃|吞|喝)了", r"(?:一整|整|大半)(?:瓶|盒|板)", r"(?:一大把|一把|好几十|几十|十几|二十几|一二十|[二三四五六七八九]十多?|\d{2,})(?:片|粒|颗)",
           r"(?:吃|吞|服)了?(?:一堆|一大堆|一把|一大把|大量|一整盒|整盒|整板)[^,.!?。]{0,6}(?:药|片|粒|颗)",
           r"过量服用", r"服药过量", r"(?:吃|服)了?过量", r"吃药自杀", r"服毒"],
       en=[r"overdos(?:ed|ing)", r"(?:took|taken|had) an overdose", r"overdose on",
           r"(?:took|taken|swallowed|ate|had) (?:a |an )?(?:whole|entire|full) (?:bottle|pack|box|packet|strip|blister|sheet)",
           r"(?:took|taken|swallowed) (?:a bunch|a handful|handfuls|lots|too many|loads|a load|a lot|way too many) of (?:[\w']+ ){0,3}(?:pills|tablets|meds)",
           r"bunch of pills", r"empty (?:bottle|packet|box|pack) of", r"(?:took|swallowed) \d{2,} (?:pills|tablets)"]),
    _c("toxic_exposure",
       zh=[r"喝(?:了|下)?.{0,4}(?:农药|敌敌畏|百草枯|除草剂|消毒液|漂白|汽油|防冻液|甲醇)", r"(?:一氧化碳|煤气|燃气)中毒",
           r"(?:烧煤|煤炉|炭火|烧炭|燃气|煤气|天然气|热水器).{0,20}(?:头痛|头疼|头晕|恶心|叫不醒|昏|晕)", r"吃了(?:野)?蘑菇.{0,10}(?:吐|拉|腹痛|头晕)"],
       en=[r"carbon monoxide", r"co (?:alarm|detector)",
           r"(?:drank|swallowed) (?:some )?(?:bleach|antifreeze|pesticide|weed ?killer|methanol|gasoline|lamp oil)"]),
    # --- children, fever, seizures ------------------------------------------------------------
    _c("child", context=True,
       zh=[r"孩子", r"宝宝", r"宝贝", r"小孩", r"儿子", r"女儿", r"婴儿", r"幼儿", r"新生儿", r"娃", r"小朋友", r"闺女", CHILD_AGE_ZH],
       en=[r"baby", r"babies", r"toddler", r"infant", r"newborn", r"child", r"kids?", r"son", r"daughter",
           r"(?<!\d)(?:[1-9]|1[0-3])[- ]?(?:year|yr)s?[- ]?old", r"(?<!\d)\d{1,2}[- ]?(?:month|week|day)s?[- ]?old", r"boy", r"girl", r"little one"]),
    _c("fever",
       zh=[r"发烧", r"发热", r"高烧", r"高热", r"低烧", r"烧到", r"烧得", r"滚烫", r"烫手", r"体温<gap>(?:3[89]|4[0-2]|升高|高)",
           r"(?<!\d)(?:3[89]|4[0-2])(?:\.\d)?(?:度|°)"],
       en=[r"fever\w*", r"febrile", r"temp(?:erature)? (?:of |is |was |at |up to )?(?:3[89]|4[0-2]|10[0-6]|high)", r"(?:high|raised) temp\w*",
           r"burning up", r"burning hot", r"hot to the touch", r"(?<!\d)(?:3[89]|4[0-2])(?:\.\d)? ?(?:°c?|degrees)", r"(?<![\d.])(?:3[89]|4[01])\.\d(?!\d)"]),
    _c("seizure",
       zh=[r"抽搐", r"惊厥", r"抽风", r"癫痫发作", r"羊(?:癫|角)疯", r"(?:手脚|四肢|全身|浑身|身体|两只手|双手|手|胳膊|腿)(?:一直|不停)?地?在?(?:抽(?!筋|血|烟)|抖动|抖个不停|抖)",
           r"(?:全身|浑身|四肢)<gap>抽筋", r"翻白眼", r"(?:眼睛|两眼|双眼)<gap>(?:上翻|往上翻|发直|直直|盯着一个地方)", r"口吐白沫", r"牙关紧闭", r"抽(?:了|起来|过去|个不停)(?!血|烟|根|支|口|筋|空|时间)",
           r"抽动", r"(?:全身|身体|四肢)<gap>(?:僵硬|僵直|发硬|挺直)"],
       en=[r"seiz(?:ure|ures|ing)", r"convuls\w*", r"fitting", r"having a fit", r"febrile fit", r"jerking", r"eyes (?:rolled|rolling) back",
           r"shaking uncontrollably", r"stiff and (?:shaking|jerking)", r"went (?:stiff|rigid)", r"twitching", r"stiffened"]),
    _c("seizure_acute", context=True,
       zh=[r"正在", r"突然", r"刚才", r"刚刚", r"现在", r"不停", r"停不下来", r"还没停", r"(?:\d+|[五十几])分钟", r"第一次", r"首次",
           r"倒地", r"叫不醒"],
       en=[r"(?:is|are|'s) (?:having|seizing)", r"just had", r"right now", r"won'?t stop", r"not stopping", r"still (?:seizing|shaking|fitting)",
           r"\d+ minutes", r"first (?:ever )?(?:seizure|fit)", r"collapsed", r"been seizing", r"started seizing", r"won'?t wake"]),
    # --- consciousness, breathing -------------------------------------------------------------
    _c("unconscious",
       zh=[r"昏迷", r"不省人事", r"人事不省", r"(?:叫|喊|拍|摇)<gap>(?:叫|喊)?不(?:醒|应)", r"(?:叫|喊|拍|摇)<gap>没有?(?:任何)?反应",
           r"(?:突然|人)没有?(?:任何)?反应", r"没有任何反应", r"无反应", r"没有意识", r"失去(?:了)?意识", r"意识不清", r"没有?呼吸",
           r"不呼吸", r"呼吸停", r"心跳(?:停|没)", r"(?:没有|摸不到)脉搏", r"晕倒.{0,6}(?:醒不过来|不醒|没反应)", r"倒地不起", r"一动不动"],
       en=[r"unconscious", r"unresponsive", r"not responding", r"(?:won'?t|doesn'?t|isn'?t) respond\w*", r"no response", r"can'?t get (?:him|her|them) to (?:respond|wake)",
           r"won'?t wake(?: up)?", r"can'?t wake (?:him|her|them)", r"(?:isn'?t|is not|not|stopped) breathing", r"no pulse", r"no heartbeat",
           r"lost consciousness", r"knocked out", r"out cold", r"(?:is |he'?s |she'?s )?not moving"]),
    _c("severe_breathing",
       zh=[r"喘不(?:上|过)气", r"上不来气", r"透不过气", r"憋得<gap>(?:发紫|说不出话|不行|喘不)", r"呼吸(?:非常|特别|极其|十分|很|严重)困难",
           r"严重的?呼吸困难", r"突然呼吸困难", r"呼吸困难<gap>(?:加重|越来越)", r"说不出完整的话", r"嘴唇<gap>(?:发?紫|发?青|发绀)",
           r"(?:脸|面色)<gap>(?:发紫|青紫|发青)", r"发绀", r"窒息", r"噎(?:住|着)", r"(?:东西|异物|食物)卡(?:在|住)",
           r"(?:喉咙|嗓子|气管)里?<gap>卡", r"(?:哭|咳|说)不出(?:声|声音)", r"发不出声音", r"(?:喘气|呼吸)<gap>(?:有声音|有响声|呼呼|嘶嘶|带哨音)", r"憋(?:红|得通红)",
           r"(?:一句话|话)<gap>(?:说不完整|说不完|说不全|说不连贯)",
           r"(?:喷|吸)了?(?:好几|几|很多|多|两|三)次(?:药|喷雾|气雾剂)?[^,.!?。]{0,3}(?:都|也|还)?(?:不缓解|不管用|没用|没效果|不见效|缓解不了)"],
       en=[r"can'?t breathe", r"cannot breathe", r"unable to breathe", r"struggling to breathe", r"gasping(?: for (?:air|breath))?",
           r"fighting for (?:air|breath)", r"(?:lips|face|skin) (?:are |is )?(?:turning |going |gone |turned )?(?:blue|grey|gray)",
           r"turning blue", r"cyanos\w*", r"choking",
           r"(?:lips|face|skin|fingertips) (?:look|looks|are looking|is looking) (?:blue|bluish|blueish|grey|gray|purple|dusky)",
           r"(?:lips|face|skin) (?:are |is )?(?:turning |going |gone |turned )?(?:bluish|blueish|purple|dusky)",
           r"(?:short of breath|breathless|can'?t (?:catch|get) (?:my|his|her) breath)[^.!?]{0,20}(?:at rest|sitting still|sitting down|lying (?:down|still)|doing nothing)", r"can'?t (?:speak|talk) in (?:full )?sentences", r"can barely (?:talk|speak|breathe)",
           r"(?:severe|severely|very|extremely) (?:short(?:ness)? of breath|breathless)"]),
    # --- burns and electrical injury ----------------------------------------------------------
    _c("burn",
       zh=[r"烫伤", r"烧伤", r"灼伤", r"烫(?:到|了)", r"烫(?:起|出)?(?:了)?(?:泡|水泡)", r"被(?:开水|热油|热汤|火)(?:烫|烧)"],
       en=[r"burns?", r"burned", r"burnt", r"scald\w*",
           r"(?:hot|boiling) (?:oil|water|coffee|tea|soup|grease)[^.!?]{0,30}(?:spill\w*|splash\w*|pour\w*|tipped)",
           r"(?:spill\w*|splash\w*|pour\w*|tipped)[^.!?]{0,20}(?:hot|boiling) (?:oil|water|coffee|tea|soup|grease)"]),
    _c("burn_severe", context=True,
       zh=[r"大面积", r"整(?:个|条|只|片)(?:胸口|胸|后背|背|手臂|胳膊|腿|脸|手)", r"全身", r"大片", r"大水泡", r"很多水泡", r"大泡", r"大半(?:个|边|条)", r"皮<gap>(?:掉了|烫掉|烫脱|脱落)", r"面部", r"脸", r"焦黑",
           r"烧焦", r"化学"],
       en=[r"large", r"big", r"severe", r"deep", r"(?:over|on|across) (?:his|her|my|the) (?:chest|back|face|body)", r"whole (?:arm|leg|back|chest)",
           r"charred", r"leathery", r"blisters (?:all over|everywhere)", r"chemical"]),
    _c("electric_shock", zh=[r"触电", r"被电(?:击|到|打)", r"电击伤"], en=[r"electric(?:al)? shock", r"electrocut\w*"]),
    _c("chemical_eye",
       zh=[r"(?:眼睛|眼里)<gap>(?:溅|进)了?.{0,6}(?:化学|消毒液|84|洗洁精|石灰|碱|酸|清洁剂)"],
       en=[r"(?:bleach|chemical|acid|lye|drain cleaner|oven cleaner)[^.!?]{0,30}in (?:my|his|her|the) eyes?"]),
    # --- sudden worst headache: subarachnoid haemorrhage until proven otherwise -----------------
    _c("thunderclap_headache",
       zh=[r"(?:头|后脑勺?|脑袋)<gap>(?:剧痛|剧烈疼痛)", r"头(?:痛|疼)得?像?要?炸", r"炸裂(?:样|般)?的?头(?:痛|疼)", r"雷击样头痛",
           r"(?:最严重|最剧烈)的(?:一次)?头(?:痛|疼)", r"(?:这辈子|一辈子|有生以来)<gap>(?:最痛|最疼|最严重)的?头(?:痛|疼)",
           r"(?:头|后脑勺?|脑袋)像被(?:锤子|棍子|棒子|砖头|人)[^,.!?。]{0,3}(?:砸|打|敲)", r"突然(?:头|后脑勺?|脑袋)[^.!?。]{0,14}剧痛",
           r"(?:头|后脑勺?|脑袋)[^,.!?。]{0,3}(?:裂开|要裂|炸开|要炸|爆炸|劈开)"],
       en=[r"worst headache", r"thunderclap headache", r"sudden(?:ly)? (?:a )?(?:severe|excruciating|intense|explosive|terrible|splitting|blinding) headache", r"blinding headache",
           r"(?:most intense|most severe|most painful) headache", r"explosive headache", r"headache (?:came on|hit|started) (?:suddenly|out of nowhere)",
           r"like (?:being|getting) hit (?:on|in) the head", r"like (?:someone|somebody) hit me"]),
    # --- pregnancy and just after birth ---------------------------------------------------------
    _c("pregnant", context=True,
       zh=[r"怀孕", r"孕(?:\d+|[一二三四五六七八九十]+)(?:周|个月)", r"孕期", r"孕妇", r"孕(?:早|中|晚)期", r"产后", r"刚生完", r"分娩", r"刚生了"],
       en=[r"pregnan\w*", r"\d+ weeks? pregnant", r"gave birth", r"giving birth", r"just delivered", r"postpartum", r"after (?:giving )?birth", r"expecting"]),
    _c("pregnancy_danger",
       zh=[r"(?:阴道|下面|下身)?(?:大量|很多|好多|大)(?:出血|流血)", r"(?:出|流)了?(?:很多|好多|大量)的?血", r"出血(?:很多|不止|量大)",
           r"(?:肚子|腹部|小腹)<gap>(?:剧痛|剧烈疼痛|疼得厉害|痛得厉害)", r"剧烈腹痛", r"看东西模糊", r"视物模糊", r"见红<gap>(?:很多|好多|不少|大量)",
           r"(?:肚子|子宫)<gap>硬", r"晕倒", r"昏倒", r"晕过去", r"头(?:痛|疼)得?(?:厉害|剧烈|要命)", r"眼前冒金星", r"眼花"],
       en=[r"bleeding (?:heavily|a lot)", r"heavy bleeding", r"soaking (?:through )?pads",
           r"(?:severe|sharp|stabbing|intense|bad) (?:abdominal |belly |stomach |tummy |pelvic )?pain", r"shoulder tip pain", r"blurr?(?:ed|y) vision",
           r"(?:passing|passed) out", r"fainted", r"collapsed", r"bleeding bright red", r"bright red (?:blood|bleeding)",
           r"(?:cramping|cramps) (?:badly|a lot)", r"(?:severe|bad) cramp\w*", r"(?:severe|bad|terrible) headache"]),
    # --- meningitis: fever with a non-blanching rash, or with a stiff neck and confusion --------
    _c("non_blanching_rash",
       zh=[r"(?:按|压)了?(?:也|都)?不(?:褪|退)色", r"不(?:褪|退)色的(?:皮疹|疹子|红点|紫点|瘀点|斑)"],
       en=[r"rash (?:that )?(?:doesn'?t|does not|won'?t) fade", r"non-blanching", r"glass test", r"rash[^.!?]{0,30}press(?:ed)? a glass"]),
    _c("stiff_neck",
       zh=[r"脖子<gap>(?:硬|僵)", r"颈(?:部)?<gap>(?:强直|僵硬|发硬)", r"低头<gap>(?:困难|不能|不了)"],
       en=[r"stiff neck", r"neck (?:is )?(?:so |very |really )?(?:stiff|rigid)", r"can'?t (?:bend|look down|touch (?:his|her|my) chin)"]),
    _c("confusion",
       zh=[r"糊涂", r"迷糊", r"意识模糊", r"神志不清", r"胡言乱语", r"嗜睡", r"想睡觉", r"记不清"],
       en=[r"confus\w*", r"drowsy", r"very sleepy", r"lethargic", r"floppy", r"can'?t remember", r"memory loss"]),
    _c("severe_headache",
       zh=[r"剧烈头(?:痛|疼)", r"头(?:痛|疼)得?(?:厉害|剧烈|要命|受不了)", r"头<gap>剧痛"],
       en=[r"(?:severe|terrible|bad|worsening|pounding|splitting|excruciating) headache"]),
    # --- head injury with danger signs (NICE head-injury red flags) ---------------------------
    _c("head_trauma", context=True,
       zh=[r"(?:摔|磕|撞|碰|打|砸)(?:到|了|伤)?了?(?:头|脑袋|后脑勺?|额头)", r"(?:头|后脑勺?|脑袋)(?:部)?<gap>(?:着地|受伤|外伤|被撞)", r"脑震荡"],
       en=[r"(?:hit|bang\w*|bump\w*|knock\w*|struck) (?:his|her|my|their) head", r"head injury", r"concussion", r"blow to the head",
           r"fell[^.!?]{0,20}(?:on|onto) (?:his|her|my) head"]),
    _c("fall", context=True, zh=[r"摔(?:倒|下|了|跤)", r"跌倒", r"从.{0,8}(?:摔|掉)下"], en=[r"fell", r"fall", r"fallen", r"tripped"]),
    _c("head_red_flag",
       zh=[r"(?:一直|反复|频繁|喷射(?:状|性)?)(?:呕吐|吐)", r"吐了(?:好几|几|两|三|四|[2-9])次", r"想睡觉", r"(?:一直|总是|老是|特别|就)<gap>想睡", r"昏昏欲睡", r"嗜睡", r"叫不醒", r"昏(?:过去|迷)", r"晕过去",
           r"意识(?:模糊|不清)", r"记不清", r"失忆", r"糊里糊涂", r"迷迷糊糊", r"糊涂", r"抽搐", r"瞳孔<gap>不(?:一样|等)", r"耳朵?<gap>(?:流血|流水)"],
       en=[r"vomit\w*", r"throwing up", r"threw up", r"confus\w*", r"drowsy", r"lost consciousness", r"knocked out", r"blacked out",
           r"passed out", r"can'?t remember", r"memory loss", r"seizure", r"unequal pupils", r"clear fluid", r"(?:terrible|severe|worsening) headache"]),
    # --- fever in a baby under 3 months ---------------------------------------------------------
    _c("young_infant", context=True,
       zh=[r"新生儿", r"(?:出生|生下来)(?:才|刚)?(?:\d+|[一二三四五六七八九十几]+)(?:天|周)", r"满月", r"(?<!\d)[12一二两]个(?:多|半)?月(?:大|的)",
           r"(?:宝宝|婴儿|孩子)(?:才|刚)?[12一二两]个(?:多|半)?月", r"(?<!\d)\d{1,2}天大?的?(?:宝宝|婴儿|孩子)"],
       en=[r"newborn", r"(?<!\d)(?:[1-9]|1[0-2])[- ]?(?:week|wk)s?[- ]?old", r"(?<!\d)[12][- ]?months?[- ]?old", r"\d+ days? old", r"neonate"]),
    # --- the person says it is an emergency or asks about calling for help ------------------------
    _c("help_call",
       zh=[r"救命", r"快不行了", r"要不行了", r"快死了", r"要死了", r"叫救护车", r"(?:要不要|该不该|需不需要|用不用|需要|要)<gap>(?:打|叫)(?:120|救护车|急救)",
           r"(?:打|叫)了?120"],
       en=[r"call (?:911|999|112|an ambulance)", r"should i call (?:911|999|112|an ambulance)", r"need an ambulance", r"(?:please )?help me please",
           r"(?:i'?m|he'?s|she'?s|they'?re) dying(?! (?:to|for|of (?:boredom|laughter)))"]),
    # --- clearly harmful requests -------------------------------------------------------------
    _c("harm_others_request",
       zh=[r"(?:怎么|如何|怎样|有什么办法|用什么药?)<gap>(?:下毒|投毒|毒死|毒害|害死|弄死)", r"下毒", r"投毒",
           r"让(?:人|他|她|别人|对方|某人|老公|老婆|丈夫|妻子|同事|邻居|室友|婆婆|领导)[^,.!?。]{0,12}(?:死掉|死了|死去|昏迷|昏睡|失去知觉|没有知觉|失去意识|"
           r"不省人事|昏过去|晕过去|瘫痪|出丑|睡死|死过去|醒不过来|醒不来)",
           r"(?:药|毒)[^,.!?。]{0,4}(?:放|加|下|掺)(?:进|到|在)?(?:别人|他|她|对方|某人)?的?(?:饮料|酒|水|饭|菜|咖啡|茶|汤)里",
           r"(?:偷偷|悄悄|暗中)给?.{0,8}(?:吃|喝|下|放|加).{0,10}(?:药|毒)",
           r"(?:往|在)(?:他|她|别人|对方|同事|老公|老婆|室友|邻居|领导)[^,.!?。]{0,4}(?:水杯|杯子|饭|菜|饮料|水|茶|咖啡|酒|汤)里?(?:加|放|下|掺)",
           r"无色无味的毒", r"查不出来?的(?:毒|药)", r"迷药", r"蒙汗药"],
       en=[r"how (?:do|can|could|would|to|should) (?:i |you |one )?(?:poison|drug|sedate|knock out|kill) (?:someone|somebody|a person|my|him|her|them|people|an?)",
           r"poison (?:someone|somebody|my (?:husband|wife|neighbou?r|boss|roommate|partner|mom|dad|mother|father)|him|her|them|a person|people)",
           r"(?:undetectable|untraceable|tasteless|odou?rless) (?:poison|drug)",
           r"(?:poison|drug|substance)[^.!?]{0,30}(?:can'?t|cannot|won'?t|wouldn'?t|doesn'?t) (?:be )?(?:detected|traced|show up)",
           r"(?:put|slip|spike|mix|add|sneak)[^.!?]{0,40}(?:in|into) (?:someone'?s|his|her|their|a|my \w+'?s) (?:drink|food|coffee|tea|meal|water)",
           r"to make (?:him|her|them|someone|somebody) (?:sick|ill|vomit|pass out|unconscious)",
           r"so (?:they|he|she) (?:pass(?:es)? out|die|won'?t wake)",
           r"would kill (?:someone|a person|an? (?:elderly|old|adult|child|man|woman|person|human)|him|her|them|my)",
           r"(?:would it|does it|will it) take to kill (?:her|him|them|someone|somebody|a person|my)",
           r"without (?:it being noticed|being detected|getting caught|leaving a trace)", r"date rape drug", r"roofie",
           r"(?:knock|put) (?:someone|somebody|him|her|them|a person) (?:out|to sleep|unconscious)"]),
    # Making someone take something, covertly: two parts, so that "如何让孩子吃了药不吐" passes.
    _c("make_someone_take",
       zh=[r"让(?:人|他|她|别人|对方|某人|老公|老婆|丈夫|妻子|同事|邻居|室友|婆婆|公公|领导|孩子)[^,.!?。]{0,8}(?:吃|喝)"],
       en=[r"(?:give|slip|feed) (?:it |this )?(?:to )?(?:someone|somebody|him|her|them|my \w+)"]),
    _c("covert", context=True,
       zh=[r"查不出", r"验不出", r"不被发现", r"不会被发现", r"神不知鬼不觉", r"偷偷", r"悄悄"],
       en=[r"without (?:them|him|her|anyone) (?:knowing|noticing)", r"undetect\w+", r"untraceabl\w+", r"without getting caught",
           r"look (?:like an accident|natural)"]),
    _c("forgery_request",
       zh=[r"(?:伪造|假造|仿造|造假|做假|假冒|p一张|ps|篡改|编造)[^,.!?。]{0,6}(?:处方|病历|诊断|病假条|假条|医生证明|检查报告|化验单)",
           r"假的?(?:处方|病历|诊断证明|病假条|假条|医生证明)", r"(?:改|涂改|修改)(?:一下)?(?:处方|病历|诊断证明)",
           r"(?:伪造|假造|仿造|造假|做假|假冒|篡改)[^,.!?。]{0,6}(?:证明|报告|单子|病假|诊断书)"],
       en=[r"(?:forge|forging|forged|fake|faking|falsif(?:y|ying|ied)|counterfeit|doctor(?:ing)?) (?:a |an |the |my |me a |me an )?"
           r"(?:doctor'?s'? |hospital )?(?:prescription|sick note|doctor'?s note|medical (?:certificate|note|record|report)|script|rx)",
           r"(?:alter|change|edit) the (?:quantity|number|date|dose) on (?:my|a|the) prescription",
           r"(?:forge|fake|copy|forging|faking|copying) (?:a |the |my )?(?:doctor'?s |physician'?s )?signature",
           r"prescription[^.!?]{0,40}(?:with|using|under) (?:a |the )?doctor'?s (?:name|signature|stamp)"]),
    _c("controlled_drug", context=True,
       zh=[r"吗啡", r"芬太尼", r"羟考酮", r"奥施康定", r"氢可酮", r"曲马多", r"可待因", r"杜冷丁", r"哌替啶", r"美沙酮", r"丁丙诺啡", r"地西泮",
           r"安定", r"阿普唑仑", r"艾司唑仑", r"氯硝西泮", r"劳拉西泮", r"三唑仑", r"咪达唑仑", r"唑吡坦", r"思诺思", r"佐匹克隆", r"安眠药",
           r"精神类药", r"麻醉药", r"止咳水", r"利他林", r"哌甲酯", r"专注达", r"氯胺酮", r"k粉", r"冰毒", r"海洛因", r"摇头丸", r"可卡因", r"止痛药"],
       en=[r"oxycodone", r"oxycontin", r"percocet", r"hydrocodone", r"vicodin", r"fentanyl", r"morphine", r"codeine", r"tramadol", r"methadone",
           r"buprenorphine", r"xanax", r"alprazolam", r"valium", r"diazepam", r"klonopin", r"clonazepam", r"ativan", r"lorazepam", r"ambien",
           r"zolpidem", r"adderall", r"ritalin", r"methylphenidate", r"vyvanse", r"modafinil", r"ketamine", r"benzos?", r"opioids?", r"opiates?",
           r"sleeping pills", r"painkillers"]),
    _c("illicit_acquisition",
       zh=[r"(?:不用|不要|不需要|没有|无需|绕过|不经过|免)(?:医生)?的?处方.{0,12}(?:怎么|如何|哪里|哪儿|去哪)",
           r"(?:怎么|如何|哪里|哪儿|去哪)[^,.!?。]{0,12}(?:不用|不要|不需要|没有|无需)(?:医生)?的?处方",
           r"(?:暗网|黑市|私下|地下)<gap>(?:买|购)", r"(?:骗|忽悠|糊弄|哄)(?:医生|大夫)", r"装病<gap>开"],
       en=[r"(?:how|where) (?:can|do|could|to|would|should) (?:i |you |we )?(?:get|buy|obtain|order|score|source|find)[^.!?]{0,40}"
           r"without (?:seeing |going to |visiting )?(?:a |any )?(?:prescription|script|rx|doctor)",
           r"(?:easiest|best|quickest|cheapest|simplest) way to (?:get|buy|obtain|score)[^.!?]{0,40}without (?:a |any )?(?:prescription|script|rx|doctor)",
           r"dark ?web", r"darknet", r"black market", r"(?:trick|fool|convince|manipulate|lie to|con) (?:my |the |a )?(?:doctor|gp|physician|pharmacist)",
           r"what (?:should|do|can) i (?:tell|say to) (?:my |the |a )?(?:doctor|gp)[^.!?]{0,40}(?:so|to get|to make)", r"doctor shopping",
           r"fake (?:symptoms|pain) to get", r"(?:by |)fak(?:e|ing) (?:symptoms|pain|an injury)", r"pretend(?:ing)? to be in pain",
           r"(?:exaggerat\w+|lie about) (?:my )?pain"]),
    _c("acquire_question",
       zh=[r"(?:哪里|哪儿|去哪|怎么|如何|怎样)(?:能|可以|才能)?(?:买|弄|搞|拿|开)(?:到|得到)?"],
       en=[r"(?:where|how) (?:can|do|could|would|to) (?:i |you |we )?(?:get|buy|obtain|order|score|source|find)"]),
    _c("no_prescription", context=True,
       zh=[r"(?:没有|没|无|不用|不要|不需要|无需)(?:医生)?的?处方"],
       en=[r"(?:no|without (?:a |any )?|don'?t have (?:a |any )?)(?:prescription|script|rx)"]),
    _c("drug_synthesis",
       zh=[r"(?:制作|制造|合成|提炼|提纯|自制|熬制|做)[^,.!?。]{0,6}(?:冰毒|海洛因|芬太尼|摇头丸|k粉|氯胺酮|可卡因|麻古|毒品)"],
       en=[r"(?:make|making|cook|cooking|synthesi[sz]e|synthesi[sz]ing|manufacture|produce|extract) (?:meth|methamphetamine|fentanyl|heroin|mdma|ecstasy|lsd|ghb|cocaine|crack|morphine|dmt|opium)"]),
)
# fmt: on


# ----------------------------------------------------------------------------------------------
# Rules: category + groups of concepts ("a|b" = either). Every group needs a current finding.
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Fires ``category`` when every group in ``groups`` has a current match.

    ``emergency``: show the emergency notice; ``refuse``: refuse instead of answering (only when
    refusal is switched on); ``why``: the clinical rationale, shown in the decision's reasons;
    ``unless``: context concepts whose presence stops the rule (e.g. an earlier stroke)."""

    category: str
    groups: tuple[tuple[str, ...], ...]
    why: str
    emergency: bool = True
    refuse: bool = False
    unless: tuple[str, ...] = ()


def _r(category: str, *groups: str, why: str, emergency=True, refuse=False, unless: str = "") -> Rule:
    return Rule(
        category,
        tuple(tuple(g.split("|")) for g in groups),
        why,
        emergency,
        refuse,
        tuple(unless.split("|")) if unless else (),
    )


# fmt: off
RULES: tuple[Rule, ...] = (
    _r("cardiac", "chest_pain", "sweating|breathless|radiating_pain|nausea|faint|weakness|long_episode",
       why="chest pain with sweating, breathlessness, radiation, nausea, faintness, weakness or lasting 15+ minutes: acute coronary syndrome"),
    _r("cardiac", "severe_chest_pain",
       why="crushing or tearing chest pain: myocardial infarction or aortic dissection"),
    _r("cardiac", "heart_attack_now",
       why="the person says a heart attack is happening now"),
    _r("stroke", "face_droop", unless="stroke_history",
       why="FAST: a drooping face alone is a stroke sign"),
    _r("stroke", "one_side_weak", unless="stroke_history",
       why="FAST: weakness or numbness of one side of the body"),
    _r("stroke", "speech_slur", "sudden|face_droop|one_side_weak|vision_loss",
       why="FAST: slurred speech that is sudden or comes with another stroke sign"),
    _r("stroke", "vision_loss", "sudden",
       why="sudden loss of vision in one eye or double vision"),
    _r("stroke", "face_droop|one_side_weak", "sudden",
       why="FAST sign of sudden onset, even after an earlier stroke"),
    _r("stroke", "stroke_now",
       why="the person says a stroke is happening now"),
    _r("suicide", "suicidal",
       why="suicidal intent, a plan, or self-harm"),
    _r("suicide", "lethal_means", refuse=True,
       why="asking how to die or how much it takes to die"),
    _r("suicide", "suicidal", "lethal_info", refuse=True,
       why="asking for lethal amounts while expressing suicidal intent"),
    _r("anaphylaxis", "airway_swelling", "allergen|breathless|severe_breathing|wheeze",
       why="throat/tongue/lip swelling with an allergen or breathing trouble"),
    _r("anaphylaxis", "allergen", "breathless|severe_breathing|wheeze",
       why="breathing trouble or wheeze after an allergen"),
    _r("anaphylaxis", "allergen", "hives_all_over", "faint|chest_pain|breathless|wheeze|weakness",
       why="hives all over after an allergen with faintness, pallor, limpness or chest tightness"),
    _r("anaphylaxis", "anaphylaxis_named",
       why="anaphylaxis named as happening now"),
    _r("bleeding", "severe_bleeding",
       why="bleeding that will not stop, spurting, heavy blood loss, vomiting/coughing blood or melena"),
    _r("bleeding", "nosebleed_long",
       why="nosebleed lasting beyond 20 minutes of pressure"),
    _r("poisoning", "child", "accidental_ingestion", "medicine|household_toxin|controlled_drug",
       why="a child swallowed medicine or a household chemical/battery"),
    _r("poisoning", "child", "accidental_ingestion|ingested", "alcohol",
       why="a child drank alcohol"),
    _r("poisoning", "accidental_ingestion|ingested", "household_toxin",
       why="anyone swallowed a household chemical, battery or poison"),
    _r("poisoning", "overdose",
       why="overdose: a whole bottle, handfuls, tens of tablets"),
    _r("poisoning", "toxic_exposure",
       why="drank pesticide/chemicals, carbon monoxide, poisonous mushrooms"),
    _r("pediatric_fever_seizure", "child", "fever", "seizure",
       why="febrile convulsion in a child"),
    _r("seizure", "child", "seizure",
       why="a child having a seizure"),
    _r("seizure", "seizure", "seizure_acute",
       why="a seizure happening now, lasting, first-ever or with collapse"),
    _r("unconscious", "unconscious",
       why="unconscious, unresponsive or not breathing"),
    _r("breathing", "severe_breathing",
       why="severe breathing difficulty, cyanosis or choking"),
    _r("burns", "burn", "burn_severe",
       why="large, deep, facial or chemical burns"),
    _r("burns", "electric_shock",
       why="electrical injury"),
    _r("burns", "chemical_eye",
       why="chemical splashed into the eye"),
    _r("headache", "thunderclap_headache",
       why="sudden 'worst ever' headache: subarachnoid haemorrhage until proven otherwise"),
    _r("pregnancy", "pregnant", "pregnancy_danger|severe_bleeding|seizure",
       why="pregnancy or just after birth with heavy bleeding, severe abdominal pain, vision change or fit"),
    _r("meningitis", "fever", "non_blanching_rash",
       why="fever with a non-blanching rash"),
    _r("meningitis", "fever", "stiff_neck", "confusion|severe_headache|thunderclap_headache",
       why="fever with a stiff neck and confusion or severe headache"),
    _r("headache", "severe_headache|thunderclap_headache", "stiff_neck",
       why="severe headache with a stiff neck"),
    _r("head_injury", "head_trauma", "head_red_flag",
       why="head injury with vomiting, drowsiness, confusion, loss of consciousness or a fit"),
    _r("head_injury", "fall", "unconscious|head_red_flag",
       why="a fall with loss of consciousness"),
    _r("infant_fever", "young_infant", "fever",
       why="fever in a baby under 3 months"),
    _r("urgent_help", "help_call",
       why="the person calls for help or asks whether to call an ambulance"),
    _r("harm_others", "harm_others_request", emergency=False, refuse=True,
       why="request to poison, drug or kill someone"),
    _r("harm_others", "make_someone_take", "covert", emergency=False, refuse=True,
       why="making someone take something without their knowledge"),
    _r("forgery", "forgery_request", emergency=False, refuse=True,
       why="request to forge prescriptions or medical documents"),
    _r("controlled_drugs", "controlled_drug", "illicit_acquisition", emergency=False, refuse=True,
       why="request to obtain controlled drugs without a prescription or by deceit"),
    _r("controlled_drugs", "controlled_drug", "acquire_question", "no_prescription", emergency=False, refuse=True,
       why="asking where/how to get a controlled drug without a prescription"),
    _r("controlled_drugs", "drug_synthesis", emergency=False, refuse=True,
       why="request to make illicit drugs"),
)
# fmt: on

# ----------------------------------------------------------------------------------------------
# Context: figurative speech, negation, time, hypotheticals and general-knowledge questions.
# ----------------------------------------------------------------------------------------------

# Figurative phrases and pseudo-negations, masked before matching: they contain red-flag or
# negation words but mean nothing urgent / negate nothing.
FIGURATIVE = re.compile(
    r"(?:压力|压|累|忙|紧张|烦)[^,.!?。]{0,5}喘不(?:过|上)气|想死你|跳楼价|(?:热|累|忙|饿|困|笑|吓|气|烦|冷|疼)死(?:我)?了"
    r"|killing me|dying to|dying for|to death|unconscious bias|bored to death|scared to death|suicide squad"
    # pseudo-negations (NegEx): a negation word that negates no finding
    r"|\b(?:i )?(?:don'?t|do not) know\b|\bnot sure\b|\bno idea\b|\bnot only\b|\bno reason\b|\bnot certain\b"
)

# Sentence-level clauses: sentence ends, a comma next to Chinese text (a Chinese comma joins
# clauses; an English comma usually joins a list), and contrast words.
CLAUSE_SPLIT = re.compile(
    r"(?<!\d)\.(?!\d)|[!?;。\n]|(?<=[\u3400-\u9fff]),|,(?=[\u3400-\u9fff])|但是|但|可是|然而"
    r"|\b(?:but|however|although|though|except)\b"
)
# Segments (the scope of hypotheticals and general questions): every comma too, except before an
# example ("…signs of a stroke, like a drooping face", "…的表现，比如口角歪斜").
SEGMENT_SPLIT = re.compile(
    r"(?<!\d)\.(?!\d)|[!?;:。\n]|,(?!\s*(?:like|such as|including|e\.g\.|比如|例如|像|包括))"
    r"|但是|但|可是|\b(?:but|however|although|though)\b"
)

# NegEx-style negation: a cue directly before the finding, allowing fillers and a coordinated
# list of other findings in between ("没有胸痛、出汗和气短", "denies chest pain, sob or sweating").
NEG_CUE = re.compile(
    r"(?:没有|没|无|未|否认|不是|并非|从未|从没|从来没有?|不再|排除|不伴有?|非"
    r"|\bno|\bnot|\bnever|\bwithout|\bdenies|\bdenied|\bdeny|\bdon'?t|\bdoesn'?t|\bdidn'?t|\bisn'?t|\bwasn'?t"
    r"|\bhaven'?t|\bhasn'?t|\bfree of|\bnegative for|\babsence of|\bruled out|\bnone)$"
)
NEG_FILLER = re.compile(
    r"(?:有|出现|感到|感觉|觉得|想过|想到过|考虑过|伴有|伴随|伴|明显的?|任何|什么|发生|过|了|的|再|也|又|都|还|特别|其他|别的|症状|等|和|及|或|与|、"
    r"|\bhave|\bhas|\bhad|\bany|\ba|\ban|\bthe|\bof|\bfeel|\bfeeling|\bfelt|\bgot|\bget|\bexperienc\w*|\bnotic\w*"
    r"|\bsigns? of|\bsymptoms? of|\breally|\bmuch|\bsignificant|\bobvious|\bother|\bmore|\bsome|\band|\bor|\bnor"
    r"|\bi|\bhe|\bshe|\bthey|\bwe|\bpatient|,|\s)$"
)
# An item of a negated list that is not itself a finding: "no dizziness or vomiting", "没有咳嗽、发烧".
# Only "or"/"nor" and "、"/"或" (unambiguous list separators), never a comma ("not well, chest pain").
NEG_LIST_ITEM = re.compile(
    r"(?:\s*\b(?!(?:no|not|never|without|denies|denied)\b)[a-z'-]+){1,3}\s+(?:or|nor)\s*$|[^、,没无未不否非\s]{1,6}(?:、|或)$"
)
POST_NEGATION = re.compile(r"^(?:倒是|倒|也|都|就|并|已经|已)?(?:没有|没|无)(?:了|啊|呢)?(?:$|[,.!?;。、])")

# Time markers. The nearest marker before a finding decides (else the first one after it):
# "past" ones (long ago, recurrent, sequelae) make it a history, "now" ones make it current.
TIME_MARKER = re.compile(
    r"(?P<now>(?:\d+|半|一|两|二|三|四|五|十|几|几十)个?(?:小时|钟头|分钟|分)(?:以前|之前|前|了)?"
    r"|现在|刚才|刚刚|今天|今晚|今早|今天早上|此刻|目前|正在|突然|忽然|又|这次|马上|最近"
    r"|\bnow\b|\bright now\b|\bcurrently\b|\btoday\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b|\bjust\b"
    r"|\bsudden(?:ly)?\b|\bstarted\b|\bbegan\b|\bagain\b"
    r"|\b(?:\d+|a few|few|several|ten|twenty|thirty|forty) (?:minutes|mins|hours|hrs) ago\b)"
    r"|(?P<past>去年|前年|(?:\d+|[一二两三四五六七八九十几多半]+)个?(?:年|月)(?:以前|之前|前|了|来|多)|年前|多年|几年|曾经|既往|病史"
    r"|史|以前|之前|后遗症|(?:中风|脑梗|卒中)后|老毛病|常年|长期|小时候|出生时|上个月|上次|那次|\d{1,2}月(?:份|\d{1,2}[日号])"
    r"|经常|偶尔|有时候?|时常|时不时|总是|老是|反复|每次|平时|一般"
    r"|(?:住|得|患|有|出现|发作|犯|做|经历|发生|疼|痛|晕)过(?!敏|量|度|期|去|来)"
    r"|\blast (?:year|month|summer|winter|spring|fall|autumn|time)\b|\b(?:\d+|a few|few|several|many|two|three|four|five)"
    r" (?:years|months) ago\b|\byears ago\b|\bmonths ago\b|\bin the past\b|\bhistory of\b|\bused to\b|\bpreviously\b"
    r"|\bwhen (?:i|he|she|they) (?:was|were) (?:a |an )?(?:baby|child|kid|little|young|toddler|one|two|three|\d+)\b"
    r"|\b(?:since|after) (?:my|his|her|their) stroke\b|\bfor (?:\d+|several|a few|many|two|three) (?:months|years)\b"
    r"|\boften\b|\bsometimes\b|\boccasionally\b|\bfrom time to time\b|\bevery (?:day|morning|night|time)\b"
    r"|\bmost (?:days|afternoons|mornings|nights)\b|\busually\b)"
)

# Hypotheticals ("如果出现胸痛…", "what to do if someone…"), but not embedded questions
# ("I wonder if I'm having a heart attack").
HYPOTHETICAL = re.compile(
    r"(?P<embed>\b(?:wonder|sure|know|unsure|check|asking|see|tell me|clear)\s+(?:if|whether)\b)"
    r"|(?P<hyp>如果|假如|万一|要是|假设|一旦|倘若|\bif\b|\bin case\b|\bsuppose\b|\bsupposing\b|\bwhenever\b"
    r"|\bshould (?:someone|somebody|a person)\b)"
)

# General-knowledge questions. Strong cues (recognition, prevention, risk factors) make a segment
# general; weak ones ("…的表现", "a sign of") only when nobody in particular is mentioned.
INFO_STRONG = re.compile(
    r"有哪些(?:症状|表现|信号|征兆|危害|原因)?|(?:症状|表现|信号|征兆)有哪些|什么是|如何识别|怎么识别|怎样识别|如何判断|怎么判断"
    r"|怎样判断|如何区分|怎么区分|区别|预防|防止|避免|以免|科普|原理|原则|急救(?:知识|方法|措施|步骤)|风险因素|危险因素"
    r"|预警信号|早期信号|典型症状|常见症状|会不会影响.{0,4}(?:智力|发育|大脑|生育|寿命)"
    r"|(?:症状|表现)(?:有什么|是什么)|有什么(?:症状|表现)|鉴别诊断|机理|机制|辅助治疗|患病比例|发病率|流行病学|什么情况下"
    r"|\bwhen (?:should|do|would) (?:i|you|we|one|people) call\b"
    r"|\bwhat (?:are|is) (?:the )?(?:common |typical |early |warning |main |usual )?(?:signs?|symptoms?|causes?|risk factors?)"
    r"|\bsigns and symptoms\b|\bwarning signs\b|\brisk factors?\b"
    r"|\bhow (?:do|can|would|should) (?:i|you|we|one|people) (?:recogni[sz]e|tell|spot|identify|prevent|know if)"
    r"|\bhow to (?:recogni[sz]e|spot|identify|prevent|avoid)|\bprevent\w*|\bchildproof\w*|\bdifference between"
    r"|\bwhat does\b[^?]{0,30}\b(?:stand for|mean)\b|\bfirst aid (?:for|steps|course|training)|\blong[- ]term\b|\blearn\w* about"
)
INFO_WEAK = re.compile(
    r"的(?:表现|症状|信号|征兆|先兆)|\b(?:a |the )?(?:signs?|symptoms?) of\b|\bis (?:this|that|it) (?:a sign|normal)|\btypical of\b"
)
PERSONAL = re.compile(
    r"我|俺|咱|他|她|孩子|宝宝|儿子|女儿|老公|老婆|爸|妈|爷爷|奶奶|外公|外婆|姥|朋友|同事|家人|室友|邻居|现在|刚才|刚刚|正在|突然"
    r"|\b(?:i|i'm|im|i've|me|my|he|he's|she|she's|his|her|him|we|our|us|mom|dad|son|daughter|baby|husband|wife|friend"
    r"|right now|just now|suddenly|currently)\b"
)

# Exam questions, clinical vignettes and case notes (a clinician or student asking about a case):
# emergency rules do not apply to the whole message; harmful-request rules still do.
CASE_FRAME = re.compile(
    r"\busmle\b|which of the following|most likely (?:diagnosis|cause)|\bpresent(?:s|ed|ing) (?:to|with)\b"
    r"|clinical (?:note|vignette|scenario|case)|case (?:report|study)|\bis brought (?:to|in)\b|answer the following"
    r"|以下哪项|最可能的诊断|病例(?:分析|讨论)|选择题|患者[,，]?(?:男|女)[,，]?\d+岁"
)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


# ----------------------------------------------------------------------------------------------
# The decision
# ----------------------------------------------------------------------------------------------


@dataclass
class SafetyDecision:
    """What the app/server does with a user message.

    ``emergency``: show ``notice`` above the answer. ``refuse``: show ``refusal`` instead of
    generating. ``categories``: every rule category that fired (emergency ones such as "cardiac",
    "stroke", "suicide"..., and harmful-request ones "harm_others", "forgery", "controlled_drugs").
    ``lang``: "zh" or "en", the language of ``notice`` and ``refusal``. ``reasons``: for each fired
    rule, its category, rationale and the matched words (for logs and debugging)."""

    emergency: bool
    categories: list[str]
    refuse: bool
    refusal: str | None
    notice: str | None
    lang: str
    reasons: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain dict, JSON-serialisable."""
        return asdict(self)


def detect_language(text: str) -> str:
    """``"zh"`` when the text is mainly Chinese, ``"en"`` when it is mainly Latin-script.

    Chinese characters count three times a Latin letter (one character carries about a word);
    text with neither (empty, digits) gives ``"zh"``, the project's first language."""
    han = len(_HAN.findall(text))
    latin = len(_LATIN.findall(text))
    if han == 0 and latin > 0:
        return "en"
    return "zh" if han * 3 >= latin else "en"


def disclaimer(lang: str) -> str:
    """The standing disclaimer (not a doctor; information only, not a diagnosis; see a clinician)."""
    return DISCLAIMER[_lang_key(lang)]


def check(text: str, refuse_harmful: bool = True) -> SafetyDecision:
    """Check one user message; see :class:`SafetyDecision` for how to use the result.

    ``refuse_harmful=False`` keeps every category and the emergency notice but never refuses."""
    lang = detect_language(text)
    fired = _fire_rules(_normalise(text))
    categories = list(dict.fromkeys(rule.category for rule, _ in fired))
    emergency_cats = [c for c in dict.fromkeys(r.category for r, _ in fired if r.emergency)]
    refusing = [r for r, _ in fired if r.refuse] if refuse_harmful else []
    refusal = None
    if refusing:
        self_harm = any(r.emergency for r in refusing)
        refusal = (SELF_HARM_REFUSAL if self_harm else HARM_REFUSAL)[lang]
    return SafetyDecision(
        emergency=bool(emergency_cats),
        categories=categories,
        refuse=bool(refusing),
        refusal=refusal,
        notice=_notice(emergency_cats, lang) if emergency_cats else None,
        lang=lang,
        reasons=[{"category": r.category, "why": r.why, "matched": ev} for r, ev in fired],
    )


def _lang_key(lang: str) -> str:
    key = lang.lower()[:2]
    if key not in ("zh", "en"):
        raise ValueError(f"unsupported language {lang!r}: use 'zh' or 'en'")
    return key


def _notice(categories: list[str], lang: str) -> str:
    labels = ("、" if lang == "zh" else "; ").join(CATEGORY_INFO[c][lang][0] for c in categories)
    lines = [EMERGENCY_HEADER[lang].format(labels=labels)]
    lines += [f"• {CATEGORY_INFO[c][lang][1]}" for c in categories]
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _normalise(text: str) -> str:
    """NFKC, Traditional -> Simplified, lower case, typographic apostrophes, figurative phrases masked.

    Masked spans become underscores so that offsets stay valid for the clause logic."""
    text = _t2s().convert(unicodedata.normalize("NFKC", text)).lower().replace("’", "'")
    return FIGURATIVE.sub(lambda m: "_" * len(m.group()), text)


def _compile(concept: Concept) -> re.Pattern:
    parts = [p.replace("<gap>", ZH_GAP) for p in concept.zh]
    parts += [r"(?<![a-z])(?:" + p.replace("<gap>", EN_GAP) + r")(?![a-z])" for p in concept.en]
    return re.compile("|".join(f"(?:{p})" for p in parts))


COMPILED: dict[str, tuple[Concept, re.Pattern]] = {c.name: (c, _compile(c)) for c in CONCEPTS}


def _spans(pattern: re.Pattern, text: str) -> list[tuple[int, int]]:
    """Start/end of the pieces ``pattern`` cuts ``text`` into."""
    bounds = [0] + [x for m in pattern.finditer(text) for x in (m.start(), m.end())] + [len(text)]
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]


def _containing(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    for start, end in spans:
        if start <= pos < end or (start == end == pos):
            return start, end
    return spans[-1]


def _fire_rules(text: str) -> list[tuple[Rule, list[str]]]:
    """Every rule whose groups all have a current match, with the matched words as evidence.

    Harmful-request rules go first: findings inside a request they matched ("让人失去意识的药")
    describe the request, not an emergency, and are dropped before the emergency rules run."""
    matches = {name: list(pat.finditer(text)) for name, (_, pat) in COMPILED.items()}
    all_spans = sorted({m.span() for ms in matches.values() for m in ms})
    clauses = _spans(CLAUSE_SPLIT, text)
    segments = _spans(SEGMENT_SPLIT, text)
    current: dict[str, list[re.Match]] = {}
    for name, ms in matches.items():
        concept = COMPILED[name][0]
        kept = [m for m in ms if concept.context or _is_current(text, m, clauses, segments, all_spans)]
        if kept:
            current[name] = kept
    harm_rules = [r for r in RULES if not r.emergency]
    fired = [(rule, hits) for rule in harm_rules if (hits := _rule_hits(rule, current))]
    harm_names = {
        n for rule, _ in fired for group in rule.groups for n in group if not COMPILED[n][0].context
    }
    harm_spans = [m.span() for n in harm_names for m in current[n]]
    for name in [n for n in current if not COMPILED[n][0].context]:
        current[name] = [m for m in current[name] if not any(a <= m.start() < b for a, b in harm_spans)]
    if not CASE_FRAME.search(text):
        fired += [(rule, hits) for rule in RULES if rule.emergency if (hits := _rule_hits(rule, current))]
    order = {rule: i for i, rule in enumerate(RULES)}
    return [(rule, [m.group() for m in hits]) for rule, hits in sorted(fired, key=lambda f: order[f[0]])]


def _rule_hits(rule: Rule, current: dict[str, list[re.Match]]) -> list[re.Match]:
    """One current match per group of ``rule`` (empty when a group has none or an ``unless`` is present)."""
    if any(current.get(n) for n in rule.unless):
        return []
    hits = []
    for group in rule.groups:
        hit = next((current[n][0] for n in group if current.get(n)), None)
        if hit is None:
            return []
        hits.append(hit)
    return hits


def _is_current(text: str, m: re.Match, clauses, segments, all_spans) -> bool:
    """False when the finding is negated, in the past or recurrent, hypothetical, or general."""
    c_start, c_end = _containing(clauses, m.start())
    s_start, s_end = _containing(segments, m.start())
    return not (
        _negated(text, m, c_start, c_end, all_spans)
        or _past(text[c_start:c_end], m.start() - c_start, m.end() - c_start)
        or _hypothetical(text[s_start : m.start()])
        or _general(text[s_start:s_end])
    )


def _negated(text: str, m: re.Match, c_start: int, c_end: int, all_spans) -> bool:
    pos = m.start()
    ends = {}
    for start, end in all_spans:
        if start >= c_start and end <= pos and start < end:
            ends[end] = min(start, ends.get(end, start))
    while pos > c_start:
        prefix = text[c_start:pos]
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


def _past(clause: str, start: int, end: int) -> bool:
    markers = [(mk.start(), "past" if mk.group("past") else "now") for mk in TIME_MARKER.finditer(clause)]
    before = [kind for pos, kind in markers if pos < start]
    if before:
        return before[-1] == "past"
    after = [kind for pos, kind in markers if pos >= end]
    return bool(after) and after[0] == "past"


def _hypothetical(segment_prefix: str) -> bool:
    return any(h.group("hyp") for h in HYPOTHETICAL.finditer(segment_prefix))


def _general(segment: str) -> bool:
    return bool(INFO_STRONG.search(segment)) or bool(
        INFO_WEAK.search(segment) and not PERSONAL.search(segment)
    )


LABELS = ("emergency", "ordinary", "harmful")


def read_labelled(path) -> list[dict]:
    """Read a labelled safety set (JSONL: ``text``, ``label`` emergency|ordinary|harmful, ``category``,
    ``lang`` zh|en, optional ``refuse``: true where a refusal is expected).

    Raises ``ValueError`` naming the file and line of the first bad record."""
    known = set(EMERGENCY_CATEGORIES) | set(HARM_CATEGORIES) | {"general"}
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
                raise ValueError(f"{where}: needs a non-empty 'text' string")
            if row.get("label") not in LABELS:
                raise ValueError(f"{where}: 'label' must be one of {LABELS}, got {row.get('label')!r}")
            if row.get("lang") not in ("zh", "en"):
                raise ValueError(f"{where}: 'lang' must be 'zh' or 'en', got {row.get('lang')!r}")
            if row.get("category") not in known:
                raise ValueError(f"{where}: unknown 'category' {row.get('category')!r}")
            if not isinstance(row.get("refuse", False), bool):
                raise ValueError(f"{where}: 'refuse' must be true or false")
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    """CLI: print the decision for one message as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m model.safety",
        description="Check a message for medical emergencies and harmful requests; print the decision as JSON.",
    )
    parser.add_argument("message", help="the user message ('-' reads it from standard input)")
    parser.add_argument(
        "--allow-harmful", action="store_true", help="do not refuse harmful requests (refuse_harmful=False)"
    )
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.message == "-" else args.message
    decision = check(text, refuse_harmful=not args.allow_harmful)
    print(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
