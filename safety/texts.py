"""Clinician-facing texts: the standing disclaimer, the demo-model notice, the emergency notice
header, the refusals, and per emergency category its label and first-aid hint (zh and en).

This file is for a clinician to review on its own: every text shown to a user by the safety layer
is here, nothing else. Used by safety/decision.py; not runnable.
"""

DISCLAIMER = {
    "zh": "本助手不是医生，回答仅供健康信息参考，不构成诊断或治疗建议。如有不适，请咨询医生或前往医院就诊；紧急情况请立即拨打 120。",
    "en": (
        "This assistant is not a doctor. Its answers are general health information only, not a "
        "diagnosis or treatment advice. Please see a clinician about your own situation; in an emergency, "
        "call your local emergency number (911, 112, 999) now."
    ),
}

DEMO_NOTICE = {
    "zh": (
        "当前是演示模型：SmolLM2-135M-Instruct（1.35亿参数，以英文为主），只用少量示例数据微调，"
        "中文能力很弱，回答常有医学错误，不提供任何医疗建议。"
    ),
    "en": (
        "This is the demo model: SmolLM2-135M-Instruct, a 135M-parameter, mostly English model "
        "fine-tuned on a small sample dataset. It is weak in Chinese, often wrong on medicine, and "
        "gives no medical advice."
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
    # Added from the published triage lists (docs/safety.md, "Coverage against published lists").
    "dka": {
        "zh": ("疑似糖尿病酮症酸中毒", "不要自行加大胰岛素剂量，带上血糖仪和用药去急诊。"),
        "en": (
            "possible diabetic ketoacidosis (DKA)",
            "Do not try to correct it alone with extra insulin; take your meter and medicines with you.",
        ),
    },
    "hypoglycaemia": {
        "zh": (
            "严重低血糖",
            "如果还能清醒吞咽，马上吃糖或喝含糖饮料；已经昏睡、叫不醒时不要喂任何东西，让其侧卧。",
        ),
        "en": (
            "severe low blood sugar",
            "If they are awake and can swallow, give sugar or a sugary drink now; if drowsy or "
            "unresponsive, give nothing by mouth and lay them on their side.",
        ),
    },
    "heat_stroke": {
        "zh": ("疑似热射病（重症中暑）或体温过高", "立即移到阴凉处，脱去多余衣物，用凉水擦身并扇风降温。"),
        "en": (
            "possible heat stroke or dangerously high temperature",
            "Move them somewhere cool, remove extra clothing, and cool the skin with water and fanning.",
        ),
    },
    "hypothermia": {
        "zh": ("低体温（失温）", "移到温暖处，换下湿衣服，用毯子包裹躯干；不要用热水袋直接烫四肢。"),
        "en": (
            "hypothermia",
            "Get them somewhere warm, remove wet clothing and wrap the body in blankets; do not rub the limbs.",
        ),
    },
    "testicular_torsion": {
        "zh": ("疑似睾丸扭转", "睾丸突然剧痛需要在几小时内手术，不要等待疼痛自行缓解。"),
        "en": (
            "possible testicular torsion",
            "Sudden testicle pain can need surgery within hours; do not wait for it to settle.",
        ),
    },
    "aortic": {
        "zh": ("疑似主动脉夹层", "保持安静，停止一切活动，不要自己开车去医院。"),
        "en": ("possible aortic dissection", "Keep still and calm; do not drive yourself to hospital."),
    },
    "envenomation": {
        "zh": (
            "毒蛇咬伤",
            "保持安静不动，被咬的肢体放低并制动，摘下戒指手表；不要切开、吸吮伤口或扎紧止血带。",
        ),
        "en": (
            "snake bite",
            "Keep still and keep the bitten limb still; remove rings and watches; do not cut, suck or "
            "tie off the wound.",
        ),
    },
    "drowning": {
        "zh": ("溺水", "没有正常呼吸时按调度员指导做心肺复苏；即使已经清醒，也需要医院检查。"),
        "en": (
            "drowning",
            "If they are not breathing normally, start CPR as the call handler instructs; even if they "
            "seem well now, they need a hospital check.",
        ),
    },
    "trauma": {
        "zh": ("严重外伤", "可能伤到颈部或脊柱时不要随意搬动伤者；用力按压出血处。"),
        "en": (
            "serious injury",
            "Do not move them if the neck or spine may be hurt; press firmly on any bleeding.",
        ),
    },
    "sepsis": {
        "zh": ("疑似脓毒症（严重感染）", "感染伴意识改变、皮肤发花或长时间无尿，需要立即急诊。"),
        "en": (
            "possible sepsis",
            "An infection with confusion, mottled skin or no urine needs emergency care now.",
        ),
    },
    "shock": {
        "zh": ("疑似休克", "让患者平躺，抬高双腿（有外伤或呼吸困难时除外），注意保暖，不要给吃喝。"),
        "en": (
            "possible shock",
            "Lay them down and raise their legs (unless injured or breathless), keep them warm, give "
            "nothing to eat or drink.",
        ),
    },
    "hypertensive_crisis": {
        "zh": ("血压极高（高血压急症）", "坐下休息，不要自行一次吃很多降压药。"),
        "en": (
            "very high blood pressure",
            "Sit down and rest; do not take extra doses of blood-pressure medicine on your own.",
        ),
    },
    "acute_abdomen": {
        "zh": ("剧烈腹痛", "暂时不要吃喝东西，不要自行服用止痛药掩盖症状。"),
        "en": (
            "severe abdominal pain",
            "Do not eat or drink for now, and do not take painkillers that could mask it.",
        ),
    },
    "sudden_confusion": {
        "zh": ("突然意识混乱", "可能是中风、低血糖或严重感染，不要让其独处；如有血糖仪可测一下血糖。"),
        "en": (
            "sudden confusion",
            "It can be a stroke, low blood sugar or a serious infection; do not leave them alone, and "
            "check their blood sugar if you can.",
        ),
    },
    "sick_child": {
        "zh": ("婴幼儿危险信号", "孩子出现这些表现需要立即就医，不要等待观察。"),
        "en": (
            "danger signs in a baby or child",
            "A child with these signs needs a doctor now; do not wait.",
        ),
    },
    "severe_pain": {
        "zh": ("剧烈疼痛", "剧烈疼痛需要急诊评估，不要自行大量服用止痛药。"),
        "en": (
            "severe pain",
            "Severe pain needs an emergency assessment; do not take extra painkillers on your own.",
        ),
    },
}
EMERGENCY_CATEGORIES = tuple(CATEGORY_INFO)

# An emergency only the optional triage model saw (safety/triage.py): the rules found none.
MODEL_TRIAGE_INFO = {
    "zh": (
        "辅助模型判断可能是急症",
        "安全规则没有识别出这一情况，但第二道模型检查认为它可能紧急；拿不准时，请拨打 120。",
    ),
    "en": (
        "a second check by a model judged this may be an emergency",
        "The rules did not flag this, but a model's second check did; if in doubt, call.",
    ),
}
HARM_CATEGORIES = ("harm_others", "forgery", "controlled_drugs")
