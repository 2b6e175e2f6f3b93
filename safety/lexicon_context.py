"""Context cue lexicon (zh and en regexes) for safety/context.py: figurative speech, clause and
segment boundaries, negation, time markers, hypotheticals, general-knowledge and fiction frames,
exam vignettes, resolved episodes, animals, dreams, study frames. For a linguist to review; pattern
table, exempt from the 400-line limit; not runnable.
"""

import re

# Figurative phrases and pseudo-negations, masked before matching: they contain red-flag or
# negation words but mean nothing urgent / negate nothing.
FIGURATIVE = re.compile(
    r"(?:压力|压|累|忙|紧张|烦|笑)[^,.!?。]{0,5}喘不(?:过|上)气|想死你|跳楼价|(?:热|累|忙|饿|困|笑|吓|气|烦|冷|疼)死(?:我)?了"
    r"|killing me|dying to|dying for|to death|unconscious bias|bored to death|scared to death|suicide squad"
    # hyperbole: a trivial cause "makes me want to die", laughter after it, a deadline "suffocating"
    # me, the "worst headache" of a hangover; 加班加得我想死, 尴尬得想死
    r"|(?:kill myself|want to die|wanna die|i'?m dying|i'?m gonna die|i'?ll die|can'?t breathe|gonna die|shoot myself|jump off a bridge|help me(?: please)?|someone help)"
    r"[^.!?。]{0,25}(?:haha\w*|hehe|lol\w*|lmao|rofl|jk|😂|🤣|😅|💀|😭)"
    r"|(?:deadline|work|job|project|boss|workload|stress|exams?|homework|school|relationship|marriage|this (?:town|city|place|house|office))s?[^.!?]{0,20}"
    r"(?:is|are|'s|'re) (?:literally |honestly |actually |really |just )?suffocating (?:me|us)"
    r"|can'?t breathe (?:with|because of|under|from) (?:all )?(?:this|the|my|so much|these) (?:work|stress|pressure|deadlines?|workload|homework|assignments?|exams?|meetings?|emails?|revision)"
    r"|worst (?:headache|hangover)[^.!?]{0,40}(?:after|from) (?:a |the |all )?(?:night of|night out|big night|heavy night|drinking|tequila|vodka|shots|booze|too many drinks|hangover|partying|wine|beers?)"
    r"|(?:加班|上班|工作|作业|考试|堵车|开会|减肥|装修|带娃|复习|论文|项目|老板|领导|甲方|学习|搬家)[^,.!?。]{0,8}(?:得|到)(?:我|人)?(?:真|都|简直|快|直|真的|好|要)?(?:的)?(?:想死|想跳楼|要死|想去世|不想活了)"
    r"|(?:热|累|困|饿|烦|无聊|尴尬|丢人|冷|吵|忙|丑|难吃|气)得(?:我|人)?(?:真|都|简直|快|直|真的|好|要)?(?:想死|要死)"
    r"|(?:想死|想跳楼|不想活了|要死了)[^,.!?。]{0,6}(?:哈哈|hhh|233|😂|🤣|😅)"
    r"|(?:考砸|考试|挂科|迟到|输了|丢脸|出丑|社死)[^。!?]{0,8}(?:真|都|简直|真的)?想死"
    # someone else's suicide reported (a schoolmate, the news): not a current intent ("committed suicide",
    # "自杀身亡" are left out of the suicidal concept itself; see safety/lexicon_emergency.py)
    r"|有(?:个|一个)?(?:同学|学生|人|同事|邻居|明星|网红|歌手|演员)[^,.!?。]{0,4}自杀了"
    # suicide as a topic (songs, news, rates, an essay, awareness week), not anyone's intent
    r"|(?:songs?|music|books?|films?|movies?|shows?|series|articles?|documentar(?:y|ies)|posts?|videos?|lyrics|poems?|news|talks?|lectures?"
    r"|questions?|essays?|research|a project|class(?:es)?|lessons?|assembly|jokes?|memes?)\s(?:about|on|regarding)\s(?:teen |youth |male )?suicide"
    r"|suicide (?:rates?|statistics|awareness|prevention|hotlines?|helplines?|crisis lines?|research|bombers?|squad|forest|risk assessment)"
    r"|有人[^,.!?。]{0,4}(?:跳楼|跳河|跳桥|上吊|割腕|服毒)?自杀(?:了|身亡|去世)|自杀(?:率|干预|热线|预防)"
    r"|(?:天气|闷热|桑拿天|雾霾|这天)[^,.!?。]{0,6}喘不(?:过|上)气"
    r"|dying (?:in|from) (?:this|the) (?:heat|cold|humidity|queue|traffic|meeting|class|office|gym)|dying of (?:embarrassment|shame|cringe|thirst|hunger|curiosity|envy|jealousy)"
    r"|救命[^。!?]{0,12}(?:哈哈|好笑|笑死|好可爱|太可爱|好帅|太帅|好看|好吃|绝了|上头|好美|太美|爱了|好萌|太萌)"
    r"|(?:笑|累|困|饿|热|忙|撑|冷|烦|无聊)得?(?:我|人)?(?:都|真|简直)?(?:快|要)不行了|要死了要死了"
    r"|(?:论文|作业|考试|ddl|deadline|加班|上班|交稿|复习|期末)[^。!?]{0,12}要死了|要死了[^。!?]{0,12}(?:论文|作业|考试|ddl|deadline|加班|上班|交稿|复习|期末)"
    # hyperbole with the object before the verb ("这班加得我想死", "这报告写得我要死"), a trivial cause
    # then "真是要死了" with "累死我了", a "red flag" word with laughter ("整个人都休克了哈哈")
    r"|(?:班|作业|报告|论文|方案|ppt|代码|bug|题|课|会|书|稿子?|表格?|材料|文案|项目|活儿?|家务|单词|数学|考试|试)"
    r"(?:加|写|改|做|上|开|读|背|赶|搞|弄|刷|干|算|考|学|抄)(?:得|到)(?:我|人)?(?:真|都|简直|快|直|真的|好|要)?(?:的)?(?:想死|要死|想跳楼|想去世|不想活了)"
    r"|(?:真是|真的是|简直是?|真)要死了(?=[^。!?]{0,12}(?:累死|烦死|困死|气死|忙死|热死|饿死|哈哈|😂|🤣))"
    r"|要死了[,]?(?:真是|简直)?(?:累|烦|困|气|忙|热|饿|冷)死(?:我|人)?了"
    r"|(?:整个人|我)?(?:都|直接|当场)?(?:休克|晕倒|昏迷|窒息|心梗|猝死|吐血|昏过去|晕过去)了?[^,.!?。]{0,4}(?:哈哈|hhh|233|😂|🤣|😅)"
    r"|(?:lol|lmao|rofl|haha\w*|😂|🤣|💀)[^.!?]{0,15}(?:i )?(?:want to die|wanna die|kill myself|i'?m dying)"
    r"|(?:want to die|wanna die)(?= every time (?:my|i|he|she|they|someone|people|the)\b[^.!?]{0,60}(?:lol|lmao|haha\w*|😂|🤣|💀))"
    r"|(?:this|that|it|work|homework|project|exams?|job|deadline|commute|class|course|week|day|traffic|essay|assignment|revision)"
    r" (?:is|'s|are|'re) (?:going to|gonna) (?:be the death of|kill) (?:me|us)"
    r"|(?:passed out|fainted|had a heart attack|had a stroke|stopped breathing|died)[^.!?]{0,10}(?:lol|lmao|rofl|haha\w*|😂|🤣|💀)"
    r"|(?:无语|尴尬|美|帅|丑|好看|难看|气|烦|挤|闷|难)(?:到|得)(?:我|人)?(?:快|要|直接)?窒息"
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
# "是不是" negates nothing; "有没有X" leaves X unasserted (treated as negated) unless it asks for a
# means ("有没有什么药…", "有没有办法…"), which is a request.
YESNO_MEANS = re.compile(r"有没有(?:什么|哪种|哪些|哪个|办法|方法|可能|一种)$")
NEG_CUE = re.compile(
    r"(?:没有|没|无|未|否认|(?<!是)不是|并非|从未|从没|从来没有?|不再|排除|不伴有?|非"
    r"|\bno|\bnot|\bnever|\bwithout|\bdenies|\bdenied|\bdeny|\bdon'?t|\bdoesn'?t|\bdidn'?t|\bisn'?t|\bwasn'?t"
    r"|\bhaven'?t|\bhasn'?t|\bfree of|\bnegative for|\babsence of|\bruled out|\bnone|\bwon'?t|\bwill not|\brefus(?:es|ed|ing) to)$"
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
    r"|上学的时候|读书的时候|上学时|读书时|念书的时候|年轻的时候|年轻时|当年|那时候|那会儿|医生说是|诊断为|确诊为|被诊断"
    r"|上周末?|上星期|上个星期|上礼拜|\blast (?:week|weekend)\b"
    # a story told: "my uncle once got bitten", "story time:", "讲个事，我舅舅有一次被蛇咬了"
    r"|\b(?:once|one time) (?=(?:got|had|was|were|went|fell|ate|took|came|drank|swallowed|broke|passed|collapsed|nearly|almost|stepped|\w+ed)\b)"
    r"|\bback in the (?:spring|summer|autumn|winter)\b|\bin the (?:spring|summer|autumn|winter)\b(?=\s*(?:[,.;]|and\b|$))|\bearlier (?:this|last) year\b|\bstory time\b|\b(?:funny|true|old|family) story\b|\bback when\b|\bwhen (?:i|he|she|they|we) (?:was|were) younger\b|\byears back\b"
    r"|(?<!今天)(?<!刚才)(?<!刚刚)(?<!今早)(?:有一次|有一回|有回)|讲个(?:故事|事)|说个(?:故事|事)|很久以前|好多年前|那年"
    r"|(?<!\d)(?:19|20)\d\d年|\b(?:in|since|back in|during) (?:19|20)\d\d\b"
    r"|\bas a (?:kid|child|teenager|teen|student)\b|\bwhen i was (?:at|in) (?:school|college|uni|university)\b|\bback in (?:school|college|the day)\b"
    r"|(?:住|得|患|有|出现|发作|犯|做|经历|发生|疼|痛|晕)过(?!敏|量|度|期|去|来)"
    r"|\blast (?:year|month|summer|winter|spring|fall|autumn|time)\b|\b(?:\d+|a few|few|several|many|two|three|four|five)"
    r" (?:years|months) ago\b|\byears ago\b|\bmonths ago\b|\bin the past\b|\bhistory of\b|\bused to\b|\bpreviously\b"
    r"|\bwhen (?:my|his|her|our|their) (?:\w+ ){0,2}(?:was|were|is|are) (?:a |an )?(?:baby|child|kid|little|young|toddler|newborn|infant|\d+|one|two|three|four|five|six|seven|eight|nine|ten)\b"
    r"|\bwhen (?:i|he|she|they) (?:was|were|is|are) (?:a |an )?(?:baby|child|kid|little|young|toddler|one|two|three|\d+)\b"
    r"|\b(?:since|after) (?:my|his|her|their) stroke\b|\bfor (?:\d+|several|a few|many|two|three) (?:months|years)\b"
    r"|(?<![孕怀])(?:[一二两三四五六七八九十几\d]+|半)(?:岁|个月大|个月)(?:多)?(?:的时候|时|那年|那会儿?)"
    r"|\bat (?:\d+|one|two|three|four|five|six|seven|eight|nine|ten) (?:years?|months?|weeks?) old\b"
    r"|\boften\b|\bsometimes\b|\boccasionally\b|\bfrom time to time\b|\bevery (?:day|morning|night|time)\b"
    r"|\bmost (?:days|afternoons|mornings|nights)\b|\busually\b)"
)

# Hypotheticals ("如果出现胸痛…", "what to do if someone…"), but not embedded questions
# ("I wonder if I'm having a heart attack").
HYPOTHETICAL = re.compile(
    r"(?P<embed>\b(?:wonder|sure|know|unsure|check|asking|see|tell me|clear)\s+(?:if|whether)\b)"
    r"|(?P<hyp>如果|假如|万一|要是|假设|一旦|倘若|\bif\b|\bin case\b|\bsuppose\b|\bsupposing\b|\bwhenever\b"
    r"|\bwhen (?:someone|somebody|a person|an? (?:child|baby|kid|toddler|adult|elderly person|patient)|your (?:child|baby|kid|toddler)|people)\b"
    r"|\bshould (?:someone|somebody|a person)\b"
    r"|将来|未来|以后(?:会|要是|万一|可能)|有朝一日|总有一天|哪一天|可能会|也许会|说不定会|会不会|有可能会|容易(?:出现|引起|导致)"
    r"|\bone day\b|\bsome ?day\b|\bin the future\b|\bfor the future\b|\bfor (?:next time|later)\b|为了以后|以后参考|\bin (?:later|adult) life\b|\bwhen (?:he|she|they)(?:'s| is| are) older\b"
    r"|\b(?:might|may|could) (?:get|develop|run|spike|come down with|end up with)\b|\bwill (?:probably |likely )?(?:develop|run|spike|come down with)\b"
    r"|\b(?:might|may|could|will) (?:one day|someday|eventually) \w+|\bwhat if\b|\bwhen (?:you|one)\b"
    r"|可能(?:会)?(?:出现|引起|导致|发生)(?!了))"
)

# General-knowledge questions. Strong cues (recognition, prevention, risk factors) make a segment
# general; weak ones ("…的表现", "a sign of") only when nobody in particular is mentioned.
INFO_STRONG = re.compile(
    r"有哪些(?:症状|表现|信号|征兆|危害|原因)?|(?:症状|表现|信号|征兆)有哪些|什么是|如何识别|怎么识别|怎样识别|如何判断|怎么判断"
    r"|怎样判断|如何区分|怎么区分|区别|预防|防止|避免|以免|科普|原理|原则|急救(?:知识|方法|措施|步骤)|风险因素|危险因素"
    r"|预警信号|早期信号|典型症状|常见症状|会不会影响[^,。?]{0,12}(?:智力|发育|大脑|生育|寿命)"
    r"|(?:症状|表现)(?:有什么|是什么)|有什么(?:症状|表现)|鉴别诊断|机理|机制|辅助治疗|患病比例|发病率|流行病学|什么情况下"
    r"|\bwhen (?:should|do|would) (?:i|you|we|one|people) call\b"
    r"|\bwhat (?:are|is) (?:the )?(?:common |typical |early |warning |main |usual )?(?:signs?|symptoms?|causes?|risk factors?)"
    r"|\bsigns and symptoms\b|\bwarning signs\b|\brisk factors?\b"
    r"|\bhow (?:do|can|would|should) (?:i|you|we|one|people) (?:recogni[sz]e|tell(?! (?:my|his|her|our|their|the|a|an) )|spot|identify|prevent|know if)"
    r"|\bhow to (?:recogni[sz]e|spot|identify|prevent|avoid)|\bprevent\w*|\bchildproof\w*|\bdifference between"
    r"|(?:怎么|如何|怎样|咋)(?:防|防范|预防|避免|防备|防止)|防(?:止|范)?[^,。?]{0,4}中毒"
    r"|(?:打|叫|拨打?)(?:120|999|救护车|急救)[^,。?]{0,8}(?:要钱|收费|花钱|多少钱|费用|报销|免费|贵不贵|要不要钱)"
    r"|(?:120|救护车|急救车)[^,。?]{0,10}(?:要钱|收费|多少钱|费用|报销|出车费|免费|贵不贵|是不是要钱|付钱|付费|掏钱|给钱|的钱)"
    r"|(?:打|叫|拨打?)(?:了)?(?:120|999|救护车|急救)[^,。?]{0,8}(?:付钱|付费|掏钱|给钱|的钱|钱是)"
    r"|\b(?:pay|paying|cost|costs|charged?|free|bill(?:ed)?)\b[^.?!]{0,30}\bcall(?:ing)? (?:an |the )?(?:ambulance|999|911|112|000)\b"
    r"|\b(?:ambulances?|999|911|112|000)\b[^.?!]{0,30}\b(?:cost|costs|charge|charges|fees?|bills?|free|expensive|pay for|insurance|covered|price)\b"
    r"|\bhow much (?:does|is|would|do) (?:an |the |it cost to call )?(?:ambulance|999|911|112)"
    r"|\b(?:alarm|detector)s?\b[^.!?]{0,30}\b(?:chirp\w*|low battery|batter(?:y|ies)|replace\w*|expir\w*|test button)\b"
    r"|\b(?:alarm|detector)s?\b[^.!?]{0,30}\b(?:chirp\w*|beep\w*) (?:once )?(?:every|once a|each|once every) (?:minute|min|few minutes|\d+ (?:seconds|minutes|mins))\b"
    r"|(?:报警器|探测器)[^。?]{0,15}(?:没电|电池|低电量|换电|过期|测试)"
    r"|为什么[^,。?]{0,20}的(?:病人|患者|人|伤员)"
    # how common it is ("How common are snakebites in the UK?", "国内被蛇咬的人多吗")
    r"|\bhow (?:common|rare|frequent|widespread|prevalent) (?:are|is|were|was)\b|\bhow many (?:people|cases|kids|children|adults)\b[^.?!]{0,40}\b(?:a|each|per|every) year\b"
    r"|(?:的人|的情况|的病例|的事|的孩子|的老人)(?:多吗|多不多|常见吗|常不常见|多见吗|普遍吗|多么)|(?:常见吗|多见吗|常不常见|普遍吗)(?:[?]|$)|每年[^,。?]{0,10}多少人"
    r"|为什么(?:很多|有些|有的)?(?:老人|老年人|老人家|上了年纪的人|小孩子?|婴儿|新生儿|幼儿|孕妇|女性|男性|糖尿病人|人们?|有些人|有的人|运动员)[^,。?]{0,20}(?:会|就|容易|常常|经常|往往)"
    r"|\bwhy (?:do|does|would|can|can'?t|are|is|might|might) (?:(?:so many|many|some|most|very|really) )?(?:(?:old|older|elderly|young|pregnant|diabetic|frail) )?"
    r"(?:people|adults|patients|folks|women|men|children|kids|babies|infants|the elderly|elderly|pensioners|seniors|athletes|runners|teenagers|teens|grandparents)\b"
    r"|\bwhy (?:do|does|would|should|can'?t) (?:patients|people|victims|casualties|someone|a patient|a person)\b"
    r"|\bwhat does\b[^?]{0,30}\b(?:stand for|mean)\b"
    # a term asked about ("What does 'thunderclap headache' actually mean?", "“雷击样头痛”是什么意思")
    r"|\bwhat (?:does|do|is meant by|is the meaning of|'?s the meaning of) (?:the (?:term|word|phrase) )?['\"‘“][^'\"’”?]{2,40}['\"’”](?: (?:actually|really|exactly|even))?(?: mean)?"
    r"|\b(?:doctor|gp|consultant|nurse|specialist|paramedic|neurologist)s?\b[^.!?]{0,30}\b(?:mentioned|used the (?:term|word)|brought up|talked about|said something about)\b[^.!?]{0,40}\b(?:ruling (?:it |things |that )?out|rule (?:it |things |that )?out|ruled (?:it |things |that )?out|to rule out|exclude|excluded|excluding)\b"
    r"|[「“\"'‘][^」”\"'’。?]{2,20}[」”\"'’](?:到底|究竟)?(?:是)?(?:什么|啥)意思|(?:医生|大夫)[^,。?]{0,10}(?:提到|说到|提了|提起|说起)[^。?]{0,20}(?:排除|是什么意思|什么意思|指的是什么)"
    r"|\bfirst aid (?:for|steps|course|training)|\blong[- ]term\b|\blearn\w* about"
    # an alarm just fitted, where to put one ("had a carbon monoxide alarm fitted today, where's the best place")
    r"|\b(?:alarm|detector)s?\b(?![^.!?]{0,60}(?:going off|went off|goes off|sounding|beeping|alarming|headache|dizz|sick|vomit|faint|drowsy))[^.!?]{0,20}\b(?:fitted|installed|put in|mounted|delivered|arrived)\b"
    r"|\bwhere (?:to|should (?:i|we)|is the best place to|'?s the best place to|do (?:i|you|we)) (?:put|place|install|fit|mount|position)\b|\bbest (?:place|spot|location) (?:to|for) (?:put|place|install|fit|mount)"
    r"|(?:报警器|探测器|检测仪)[^,。?]{0,10}(?:装在|放在|安装在|放哪|装哪|怎么装|刚装|装好)|(?:刚|新)(?:装|买|安装)了?[^,。?]{0,8}(?:报警器|探测器)"
    # wanting to learn first aid ("想学一下溺水急救的知识", "take a first aid course")
    r"|急救的?(?:知识|方法|措施|步骤|技能|常识|培训|课程|视频)|学(?:一下|习|点|些|学)?[^,。?]{0,8}急救|(?:心肺复苏|海姆立克)[^,。?]{0,6}(?:怎么做|培训|课程|教程|视频)"
    r"|\b(?:learn|learning|take|taking|do|doing|sign up for|signing up for|book|booking|attend\w*)\w* (?:a |an |some |the )?(?:\w+ ){0,3}(?:first aid|cpr|life ?saving|water safety|resuscitation)\b"
)
# Fiction (a TV drama, a film, a novel's character): general whatever the tense.
INFO_FICTION = re.compile(
    r"电视剧|电影里|剧里|剧中|小说里|动漫里|动画片里|综艺里|新闻里|新闻说|新闻上|看到新闻|新闻报道|桥段|主角|角色|剧情|男主|女主|配角|一部电影"
    r"|\bon (?:tv|the tv|telly|netflix|the news)\b|\bin (?:a|the|this) (?:tv show|show|movie|film|series|drama|novel|book|episode|scene|documentary|video game)\b"
    r"|grey'?s anatomy|\bthe (?:character|actor|actress)\b|\b(?:a|my|the|main) character\b|\b(?:novel|screenplay|fiction|fanfic|short story)\b"
)
# Question frames that are general only when the segment has no present-time marker ("现在",
# "right now", "suddenly"): comparisons, "is it real", prevention and risk, teaching, buying a
# detector, plans and training, reading an article, preparing ahead, what counts as a fever.
INFO_FRAME = re.compile(
    r"是一回事|是不是一回事|有什么不同|(?:怎么|如何|怎样)教|自救|(?:降低|减少)[^,。?]{0,10}(?:风险|几率|概率)"
    r"|(?:装|买|安装|配)(?:个|一个|一台)?[^,。?]{0,8}(?:报警器|探测器|检测仪|警报器)|遇到[^,。?]{0,10}(?:时|的时候)|黄金时间"
    r"|\bversus\b|\bvs\b|\bthe same (?:thing|as)\b|\ba real (?:thing|condition|diagnosis)\b|\b(?:reduc|lower|minimi[sz])\w* (?:the |their |his |her |my )?(?:risk|chance)"
    r"|\b\w+ing risk\b|\bshould (?:i|we) (?:get|buy|install|fit|have|keep) (?:a|an)\b[^?.]{0,40}(?:alarm|detector|monitor|kit)"
    r"|\bdo (?:i|we) need (?:a|an)\b[^?.]{0,30}(?:alarm|detector|monitor)|\bworth (?:getting|buying|installing|having)\b"
    r"|\bhow (?:can|do|could|should) (?:i|you|we|one|people|kids|children|he|she|they|my \w+(?: \w+){0,3}) (?:avoid|prevent|reduce)"
    r"|\bteach\w* (?:my |our |the |a )?(?:kids?|child|children|son|daughter|him|her|them|students|toddler)"
    r"|(?:多久|多长时间|几天|几个小时)(?:后)?(?:会|才会|能)?(?:出现|有)(?:症状|表现|反应)|会出现什么(?:症状|表现)"
    r"|\ba real (?:risk|danger|concern|possibility)\b|\b(?:a|any|the) risk of\b|\bto avoid\b|\bavoid(?:ing)? (?:drowning|getting|it|them|this|that)\b"
    r"|\b(?:action|care|emergency|safety|school'?s?|seizure|asthma|allergy|anaphylaxis|diabetes|epilepsy|crisis|health) plan\b"
    r"|\b(?:action|care|emergency|safety|school'?s?) plan\b|\bpolicy\b|\bprotocol\b|\btraining\b|\b(?:first aid|cpr|training|online) course\b"
    r"|\bwhat should (?:be in|i pack|i keep|we keep)\b"
    r"|应急预案|预案|培训|讲座|课程|急救包|科普|提前了解|以防万一|未雨绸缪|还没出生|预产期|备孕|(?:去|出发)[^,。?]{0,8}前(?:想)?了解"
    r"|(?:在国外|出国|旅游|旅行)[^,。?]{0,8}(?:怎么|如何)(?:叫|打|拨打)|(?:多少度|多高|多少)(?:算|要|需要|就要|该|才)|算(?:发烧|高烧|低烧)"
    r"|\bafter reading\b|\ban article\b|\bi read (?:that|about|somewhere|online)\b|\bis [^?.]{0,40}\balways\b"
    r"|\bhow (?:do|does|should|would) (?:you|one|people) (?:do|perform|check|treat|use|give|know|tell|spot)\b|\bfor when (?:my|our|the|she|he|they|i)\b"
    r"|\bjust in case\b|\bfor future reference\b|\bto be prepared\b|\bin advance\b|\bbefore (?:we go|going|our trip|the trip|travel\w*|camping|hiking)\b"
    r"|\bcounts? as\b|\bconsidered (?:a|an|to be)\b|\bwhat (?:temperature|level|reading|number)\b|\bvolunteer\w*|\bhow do [^?.]{0,30} work\b"
    r"|\bcompared (?:to|with)\b|\bwhat (?:does|do|would) [^?.]{0,40} feel like\b|是什么感觉|什么样的感觉"
    r"|\b(?:someone|somebody|a person|people) who(?:'s| is| are| has)\b|\b(?:treatment|first aid|what to do) for (?:someone|somebody|a person|a child|a baby|people)\b"
    r"|典型表现|是不是典型|是否典型|来访者|\bmy (?:clients?|patients?)\b|\ba (?:client|patient) (?:of mine|told me|said)\b"
    # end-of-life care: an expected death, not an emergency to call for
    r"|的时候(?:该|应该|要|能)?(?:怎么办|怎么处理|如何处理|怎么做|做什么)|时(?:该|应该)(?:怎么办|怎么处理|如何处理)"
    r"|临终|安宁疗护|姑息治疗|癌症晚期|晚期癌症|\bhospice\b|\bpalliative\b|\bend[- ]of[- ]life\b|\bterminally ill\b|\bdying (?:of|from) (?:cancer|dementia|old age|heart failure|copd|motor neurone|als|leuka?emia|kidney failure)\b"
)
INFO_WEAK = re.compile(
    r"的(?:表现|症状|信号|征兆|先兆)|\b(?:a |the )?(?:signs?|symptoms?) of\b|\bis (?:this|that|it) (?:a sign|normal)|\btypical of\b"
    r"|是怎么(?:发生|引起|形成|导致|产生|造成|回事)的?|是什么原因(?:引起|导致|造成)的?|是什么病|是什么意思"
    r"|\bwhat(?: is|'s| are) (?!the\b|a\b|an\b|some\b|any\b|happening|going on|wrong|up\b|this\b|that\b|it\b|my\b|his\b|her\b|your\b)|\bhow does\b[^?]{0,30}\bhappen\b"
)
PERSONAL = re.compile(
    r"我|俺|咱|他|她|孩子|宝宝|儿子|女儿|老公|老婆|爸|妈|爷爷|奶奶|外公|外婆|姥|朋友|同事|家人|室友|邻居|现在|刚才|刚刚|正在|突然"
    r"|\b(?:i|i'm|im|i've|me|my|myself|he|he's|she|she's|his|her|him|we|our|us|mom|dad|son|daughter|baby|husband|wife|friend"
    r"|right now|just now|suddenly|currently)\b"
)

# Exam questions, clinical vignettes and case notes (a clinician or student asking about a case):
# emergency rules do not apply to the whole message; harmful-request rules still do.
CASE_FRAME = re.compile(
    r"\busmle\b|which of the following|most likely (?:diagnosis|cause)|\bpresent(?:s|ed|ing) (?:to|with)\b"
    r"|clinical (?:note|vignette|scenario|case)|case (?:report|study)|\bis brought (?:to|in)\b|answer the following"
    r"|\bchoices?:|\boptions?:|(?:^|\s)\(?a\)[^\n]{1,60}\s\(?b\)\s"
    r"|以下哪项|最可能的诊断|病例(?:分析|讨论)|选择题|患者[,，]?(?:男|女)[,，]?\d+岁"
)


# A resolved episode: later in the same sentence the person says it passed ("吃了两块糖十分钟就好了",
# "几秒就醒了", "has been completely fine since"). Not when the sentence says something was swallowed
# (poisoning can be delayed) or the resolution is only partial ("好点了", "a bit better").
SENTENCE_SPLIT = re.compile(r"(?<!\d)\.(?!\d)|[!?;。\n]")
RESOLVED = re.compile(
    r"(?:就|已经|已|都|很快|马上|立刻|立马|慢慢|自己|然后)(?:好了|没事了|恢复(?:正常)?了|缓过来了|缓解了|消失了|醒了|醒过来了|正常了)"
    r"|(?:现在|目前)(?:已经|都|完全)?(?:好了|没事了|正常了|恢复正常|一切正常|活蹦乱跳|出院了?|康复了?)|已经出院|活蹦乱跳|(?:后来|之后|此后)(?:再)?(?:也)?(?:没|没有)(?:再)?(?:发生|发作|犯|出现)过?"
    r"|\b(?:has|have|had|is|are|was)(?: been)? (?:totally |completely |perfectly |absolutely |totally back to |back to )?(?:fine|normal|well)"
    r"(?: ever)? since\b|\bback to (?:normal|herself|himself|themselves|his usual self|her usual self)\b|\bfully recovered\b"
    r"|\b(?:is|are|has|have|'s)(?: been| now)? (?:completely |totally |all |fully |long )?(?:gone|cleared(?: up)?|resolved|subsided)(?=\s*(?:now\b|completely\b|since\b|$|[,.!?;]))"
    r"|(?:已经|都|完全|早就|早)(?:消|消肿|消退|退|退下去|消下去|好)了"
    r"|\b(?:went|goes|gone|passed) (?:away|off) (?:after|within|in) (?:a few|\d+|ten|five|twenty|a couple of) (?:seconds|minutes|mins)\b"
    r"|\b(?:came|come|coming) (?:round|around|to) (?:straight away|right away|within seconds|after a few seconds|immediately)\b"
)
# Already assessed and reassured by a professional ("poison control said he's fine", "医生说没事").
ASSESSED = re.compile(
    r"(?:poison control|poisons? (?:centre|center|line)|the doctors?|doctors|the gp|my gp|111|nhs 111|the nurse|a&e|the hospital|the vet|the pharmacist|paramedics)"
    r"[^.!?]{0,20}(?:said|says|told us|told me|checked)[^.!?]{0,25}(?:fine|ok|okay|nothing to worry|no need|all clear|normal)"
    r"|(?<!片)(?<!报告)(?<!结果)(?<!单子)(?:医生|大夫|护士|急诊|医院|中毒热线|兽医)[^,.!?。]{0,6}(?:说|看了|检查了|查了)[^,.!?。]{0,6}(?:没事|没关系|没问题|不要紧|不用担心|正常)"
)
RESOLVED_BLOCK = re.compile(r"但|可是|又|还是|仍然|还在|越来越|\b(?:but|however|still|again|worse)\b")
NO_RESOLVE = re.compile(
    r"误食|误服|误吞|吞了|喝了|舔了|吃了[^,.!?。]{0,8}(?:药|片|粒|颗|洗|电池|农药|蘑菇)|\bswallow\w*|\bate\b|\bdrank\b|\blicked\b|\boverdos\w*"
    # nor after a blow to the head or a crash (a brief blackout there still needs assessment)
    r"|撞|摔|磕|车祸|\bhit (?:his|her|my|their) head\b|\bbang\w* (?:his|her|my|their) head\b|\bfell\b|\bfall\b|\bcrash\w*|\baccident\b"
)
# An animal, not a person, swallowed or licked something: "家里的猫舔了一口洗洁精", "my dog ate
# chocolate" (a dog biting someone who bleeds is still the person's emergency).
ANIMAL = re.compile(
    r"(?:猫|狗|宠物|仓鼠|兔子|鹦鹉|金鱼|乌龟|豚鼠|龙猫|刺猬)[^,.!?。]{0,6}(?:吃|舔|喝|吞|啃|咬了一口|误食|偷吃)"
    r"|\b(?:dogs?|cats?|pupp(?:y|ies)|kittens?|pets?|hamsters?|rabbits?|bunny|parrots?|budgies?|guinea pigs?|ferrets?|horses?|tortoises?)"
    r"(?: \w+){0,3} (?:ate|eaten|eats|licked|licks|swallowed|drank|chewed|got into|has eaten|has licked)\b"
)
HUMAN = re.compile(
    r"孩子|宝宝|儿子|女儿|老公|老婆|爸|妈|爷爷|奶奶|外公|外婆|姥|朋友|同事|家人|室友|邻居|他|她|我(?!家|的|们家|觉得|发现|看到|怀疑|担心|刚发现|回家)"
    r"|\b(?:i(?! (?:think|guess|suspect|believe|noticed|saw|found|just found|caught|came home))|i'm|im|i've|me|he|he's|she|she's|him|her|we|us|they|them"
    r"|son|daughter|baby|toddler|kid|child|husband|wife|mum|mom|dad|friend|boy|girl|man|woman|person)\b"
)


# Asking ahead of time (before a trip, before the baby is born, for future reference): a finding
# without a present-time marker in its own clause is not current anywhere in such a message.
PROSPECTIVE = re.compile(
    r"提前了解|还没出生|预产期|(?:去|出发|旅行|旅游|露营|野营|爬山)[^,。?]{0,8}前(?:想|先)?(?:了解|学习|问问)"
    r"|\bfor future reference\b|\bin advance\b|\bbefore (?:we go|going|our trip|the trip|we travel|travel\w*|camping|hiking|the baby (?:is born|arrives|comes))\b"
    r"|\b(?:is|'s) due (?:next|in)\b|\bplanning (?:a|our|my) (?:trip|holiday|hike)\b"
    # vaccinations still ahead ("8 week jabs are tomorrow", "明天要打疫苗")
    r"|\b(?:jabs|vaccin\w*|immuni[sz]ations?|shots|injections|boosters?)\b[^.!?]{0,12}\b(?:are|is) (?:tomorrow|next|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|due|coming up|booked|this (?:week|friday|monday))\b"
    r"|\b(?:tomorrow|next week)'?s? (?:\w+ )?(?:jabs|vaccin\w*|immuni[sz]ations?|shots)\b|\b(?:upcoming|before (?:the|her|his|their)) (?:\w+ )?(?:jabs|vaccin\w*|immuni[sz]ations?|shots)\b"
    r"|(?:明天|后天|下周|过几天|这周|周[一二三四五六日末]|快|准备)(?:要|就要)?(?:去)?打[^,。?]{0,6}(?:疫苗|预防针)|(?:疫苗|预防针)[^,。?]{0,4}(?:约在|预约在|是)(?:明天|后天|下周)"
)

HAN_CHAR = re.compile(r"[\u3400-\u9fff]")

# A dream or nightmare told ("梦见我爸倒在地上没有呼吸", "I had a dream that she wasn't breathing"): the
# findings after the cue in its sentence are the dream's, until the person wakes or says what is
# real now ("…and woke up and now she really is not breathing", "醒来发现他真的没有呼吸").
DREAM = re.compile(
    r"梦见|梦到|梦里|梦中|(?:昨晚|昨天晚上|昨夜|晚上|夜里|半夜|睡觉|最近|又|老是|总是|经常|老)做(?:了)?(?:个|一个|一场)?(?:噩|恶|怪)?梦"
    r"|做(?:了)?(?:个|一个|一场)(?:噩|恶|怪)?梦|(?:这种|这样的|那种)(?:噩|恶)?梦"
    r"|\b(?:had|have|having|keep having|kept having|get|getting) (?:a |an |the |this |that |these |those |such )?(?:\w+ ){0,2}(?:dreams?|nightmares?)\b"
    r"|\bdreamt\b|\bdreamed\b|\bin (?:my|the|a|his|her) (?:\w+ )?(?:dream|nightmare)\b|\b(?:dreams?|nightmares?) (?:about|that|where|in which)\b"
)
DREAM_END = re.compile(
    r"醒来|醒过来|醒了(?:以后|之后|后)?|吓醒|惊醒|睁开眼|起来(?:一看|发现)|发现|结果|真的|现实|现在|此刻|刚才|今天|但是|可是|\bbut\b"
    r"|\bwoke\b|\bwake (?:up|to)\b|\bwaking\b|\bawake\b|\bnow\b|\breally\b|\bactually\b|\bfound\b|\bturns? out\b|\breal life\b|\bright now\b|\btoday\b"
)

# Revision and exam questions ("糖尿病考试复习：…", "for my nursing exam"): a finding in a sentence
# that names nobody in particular (no 我/他, "my", "now") is the question's, not anyone's.
STUDY = re.compile(
    r"(?:我是?|我在|我正在)?(?:一名|一个)?(?:医学生|护理学?生|护生|医学院学生|规培生|实习医生|实习护士)"
    r"|(?:我在|我正在|我|正在)?(?:准备|备考|复习)[^,。?]{0,8}(?:考试|考证|考核)|考试复习|复习(?:题|资料|笔记|提纲|重点)|考点|试题|真题|习题|考题|题目|选择题|名词解释|简答题|护考|执医|医考|药考|考研|期末考|课本|教材|作业题|作业|功课|请列举|列举出?|举例说明|论述题|思考题|课堂练习"
    r"|\b(?:homework|assignment|coursework|worksheet)\b|\b(?:list|name|describe) (?:five|three|four|six|ten|two|\d+|some|the) (?:situations|examples|emergencies|cases|signs|conditions)\b"
    r"|\bnclex\b|\busmle\b|\bexam (?:question|revision|prep)|\bpractice question|\bquiz\b|\brevision notes\b|\bflash ?cards?\b|\btextbook\b|\blecture notes\b"
    r"|\bfor (?:my|our|an?|the) (?:\w+ ){0,2}(?:exams?|test|quiz|class|course|module|assignment|essay|coursework|homework|finals|boards)\b"
    r"|\b(?:studying|revising|cramming|preparing) for\b|\b(?:nursing|medical|pharmacy|paramedic|emt|anatomy|physiology|biology|med) (?:exam|test|student|school|class|course|quiz)s?\b"
)

# A clause that points back to the time of the one before ("十年前中过风，当时也是嘴歪"): it inherits a
# narrative past from it ("小时候…过敏过一次，喘不上气进了医院").
NARRATIVE_DONE = re.compile(
    r"进了医院|进医院了|住了院|住院了|(?:送|拉)(?:去|到|进)了?医院|抢救过来|救过来|打了(?:一针)?肾上腺素|后来|那次"
    r"|\bended up in (?:hospital|a&e|the er)\b|\bwas (?:taken|rushed) to\b|\bafterwards\b|\blater\b"
)
NEXT_LATER = re.compile(
    r"^\s*[,]?\s*(?:后来|之后|此后|从那以后|好在|幸好|then\b|afterwards\b|since then\b|luckily\b)"
)
BACK_REF = re.compile(r"^\s*(?:当时|那时候?|那会儿?|那次|那一次|at the time|back then|that time)")
NARRATIVE_PAST = re.compile(
    r"小时候|(?:\d+|[一二两三四五六七八九十几多半]+)个?年(?:以前|之前|前)|年前|去年|前年|当年|上学的时候|读书的时候|年轻的时候|年轻时"
    r"|(?:[一二两三四五六七八九十几\d]+|半)(?:岁|个月大)(?:多)?(?:的时候|时|那年)|\bas a (?:kid|child|teenager|teen|baby)\b|\byears ago\b|\blast year\b"
)

# Recurrent thoughts of suicide or self-harm are a present risk: "经常想死", "sometimes I want to
# die" stay current (only a real past marker, "以前", "last year", makes them history).
RECURRENT = re.compile(
    r"经常|偶尔|有时候?|时常|时不时|总是|老是|反复|每次|平时|一般|often|sometimes|occasionally|from time to time|every (?:day|morning|night|time)"
    r"|most (?:days|afternoons|mornings|nights)|usually"
)
SELF_HARM_FINDING = re.compile(
    r"自杀|轻生|想死|去死|不想活|活不下去|寻死|自残|自伤|割腕|伤害自己|结束(?:自己的)?生命|kill(?:ing)? (?:myself|himself|herself|themselves)|suicid"
    r"|wants? to die|wanna die|self[- ]harm|end (?:my|his|her|their) (?:own )?life|(?:hurt|cut|harm)(?:ing)? (?:myself|himself|herself)"
)

# Round 9 frames. Hyperbole about study, work or people: "考研考得我都想死了", "被这个项目搞得头都要炸了",
# "my landlord is the worst headache of my life" (a trivial cause, not a symptom).
FIGURATIVE_MORE = re.compile(
    r"(?:考研|考公|考编|备考|刷题|背书|背单词|写论文|改论文|答辩|实习|毕业|写代码|改bug|赶稿|赶ddl|上课|上学|工作|加班|带娃|装修|搬家|找工作|面试)"
    r"[^,.!?。]{0,6}(?:得|到)(?:我|人)?(?:真|都|简直|快|直|真的|好|要)?(?:的)?(?:想死|要死|想跳楼|想去世|不想活了)"
    r"|(?:考|背|写|学|干|做|练|改|赶|熬|刷|读|上)(?:得|到)(?:我|人)?(?:真|都|简直|快|直|真的|好)?(?:想死|想跳楼|不想活了)了"
    r"|(?:项目|工作|作业|论文|老板|领导|甲方|客户|孩子|熊孩子|考试|加班|方案|装修|这事|这些事|事情|事儿|报表|代码|bug|ddl|deadline|会议|开会|邻居|房东|婆婆|老公|老婆)"
    r"[^,.!?。]{0,10}(?:搞|弄|烦|吵|折腾|逼|气|忙|整|闹|催)(?:得|到)(?:我|人)?(?:的)?(?:脑袋|头)(?:都|真的|简直)?(?:要|快)?(?:炸|大|裂开|爆)了"
    r"|(?:脑袋|头)(?:都|真的|简直)?(?:要|快)?(?:炸|大|爆)了[^。!?]{0,12}(?:压力|缓解压力|解压|放松|烦心|焦虑)"
    r"|(?:搞|弄|烦|吵|折腾|逼|催)(?:得|到)(?:我|人)?(?:的)?(?:脑袋|头)(?:都|真的|简直)?(?:要|快)?(?:炸|大|裂开|爆)了"
    r"|\b(?:landlord|landlady|boss|manager|neighbou?rs?|ex|mother-in-law|in-laws|kids?|toddler|teenager|job|project|client|customer|roommate|flatmate|tenants?"
    r"|co-?workers?|colleagues?|team|thesis|dissertation|commute|car|house|renovation|wedding|taxes|paperwork|this (?:job|project|client|house|place|guy|woman|man))"
    r"[^.!?]{0,20}\b(?:is|was|are|were|'s|has been|have been) (?:honestly |literally |really |truly |just |definitely |seriously )?(?:the |my |a )?(?:single )?"
    r"(?:biggest |worst |real |massive |huge |constant )?headaches?\b(?: of my (?:life|year|week))?"
)
# Someone else's words reported, with no plan or means said ("我朋友老说活着没意思，但没有具体想法", "my
# friend keeps saying life is meaningless but has no plan"): a worry about them, not a crisis now.
# Not when the message mentions a plan, means, goodbye or an attempt.
REPORTED_SPEAKER = re.compile(
    r"(?:朋友|同学|同事|室友|闺蜜|哥们|妹妹|姐姐|弟弟|哥哥|女儿|儿子|孩子|老公|老婆|男朋友|女朋友|妈|爸|她|他)[^,.!?。]{0,6}(?:老|总|经常|常|一直|最近|时不时|有时)?(?:说|讲|念叨|提到|发朋友圈说|抱怨)"
    r"|\b(?:friend|sister|brother|son|daughter|mum|mom|dad|partner|husband|wife|boyfriend|girlfriend|roommate|flatmate|colleague|coworker|classmate|she|he|they)"
    r"(?:'s| has| have)? (?:keeps?|kept|always|often|sometimes|has been|have been|'s been|is always|says|said|mentions|mentioned|talks)(?: saying| talking about| say| says| mentioning)?\b"
)
REPORTED_NO_PLAN = re.compile(
    r"(?:没有|没|并没有|也没有?)(?:什么)?(?:具体|实际)?(?:的)?(?:想法|计划|打算|行动|准备|方法)|不是真(?:的)?想|只是(?:随口)?说说|没有(?:要)?(?:做|干)什么"
    r"|\b(?:no|without (?:a|any)|not any) (?:real |actual |specific |concrete )?(?:plans?|intent\w*|means)\b|\b(?:doesn'?t|does not|didn'?t|don'?t) (?:have|seem to have|mention) (?:a |any )?(?:real |specific |actual )?(?:plans?|intent\w*)\b"
    r"|\bnot (?:planning|actually planning|serious|suicidal)\b|\bhasn'?t (?:made|got) (?:a |any )?plans?\b"
)
REPORTED_BLOCK = re.compile(
    r"遗书|告别|安眠药|药片|攒药|刀|绳|楼顶|天台|割|跳|已经(?:吃|喝|割)|今晚|现在就|准备好了|买了"
    r"|\b(?:pills?|tablets?|rope|knife|blade|gun|bridge|roof|goodbye|note|tonight|attempt\w*|overdos\w*|stockpil\w*|bought|has a plan|made a plan|plans? to)\b"
)
IDEATION = re.compile(
    r"活着没意思|活着没意义|没意思|没意义|不想活|想死|活不下去|消失|解脱|自杀|轻生|结束(?:自己的)?生命"
    r"|meaningless|no point|pointless|want\w* to die|wanna die|better off dead|disappear|suicid|kill (?:himself|herself|themselves)|end (?:it|his life|her life|their life)"
)
# Last night drunk, today hungover: "昨晚喝醉了叫都叫不醒，今天头疼" (the person is awake and writing).
PAST_NIGHT_DRUNK = re.compile(
    r"(?:昨晚|昨天晚上|昨夜|前天晚上|昨天)[^。!?]{0,10}(?:喝醉|喝多|醉酒|喝断片|断片|喝大)|(?:喝醉|喝多|醉酒|断片)[^。!?]{0,6}(?:昨晚|昨天晚上|昨夜)"
    r"|\blast night\b[^.!?]{0,30}\b(?:drunk|wasted|hammered|blackout|smashed|pissed)\b|\b(?:drunk|wasted|hammered|smashed)\b[^.!?]{0,20}\blast night\b"
)
NOW_AFTER_NIGHT = re.compile(r"今天|今早|今天早上|现在|醒来|醒了|\btoday\b|\bthis morning\b|\bnow\b|\bwoke up\b")
NIGHT_BLOCK = re.compile(
    r"还(?:是|在|没)|仍|一直|越来越|又|叫不醒|没醒|没反应|呼吸|抽搐|吐血|\b(?:still|again|worse|won'?t wake|not waking|unresponsive|breathing|seizure)\b"
)
# A news report or a video watched ("刚看了一个车祸的新闻，伤者…", "just watched a video of a man choking"): the
# findings of a sentence that names nobody of the person's own are the report's.
MEDIA = re.compile(
    r"(?:我)?(?:刚|刚刚|刚才|今天|昨天)?(?:看了|看到了?|刷到了?|读了)[^,。?]{0,10}(?:新闻|视频|报道|纪录片|短视频|直播|文章|帖子)"
    r"|(?:新闻|视频|报道|纪录片|文章|帖子)(?:里|中|上)(?:说|讲|提到|看到)?"
    r"|\b(?:i )?(?:just )?(?:watched|saw|seen|read|reading|watching|came across) (?:a |an |the |this |that |some )?(?:\w+ ){0,3}"
    r"(?:news|video|clip|report|article|documentary|footage|tiktok|reel|post|story)\b"
)
# The episode is over, said in the next sentence ("couldn't breathe for two minutes. Totally fine now").
RESOLVED_NEXT = re.compile(
    r"^\W*(?:(?:i'?m|i am|it'?s|it is|he'?s|she'?s|we'?re|all|feel(?:ing)?|and)\s+)?(?:totally|completely|perfectly|absolutely|100%)?\s*(?:fine|ok|okay|normal|good|grand)\s+now\b"
    r"|^\W*(?:现在|目前)?(?:已经|完全|都)?(?:没事了|好了|恢复正常了|一切正常)"
)

# Round 10 frames. "头都要炸了" from a maths problem, homework, noisy kids or the boss (a trivial cause in
# the sentence, no pain word after it): "这道数学题看得我头都要炸了", "这道题又难又烦，我头都要炸了".
FIGURATIVE_R10 = re.compile(
    r"(?:(?:题|数学|物理|化学|作业|功课|论文|报告|代码|bug|考试|复习|装修|噪音|工作|加班|开会|会议|项目|方案|账|报表|ppt|ddl)[^。!?突]{0,15}"
    r"|(?:孩子|熊孩子|娃|小孩|老板|领导|甲方|客户|同事|婆婆|邻居)[^。!?突]{0,10}(?:吵|闹|烦|气|催|折腾|逼|叫|哭|骂|念叨)[^。!?突]{0,8})"
    r"(?:我|人)?(?:的)?(?:脑袋|头|脑子)(?:都|真的|简直|真)?(?:要|快)?(?:炸|大|爆|裂开)了"
    r"(?![^。!?]{0,8}(?:疼|痛|一样|似的|吐|呕|晕|看不清|说不出|脖子|发烧|高烧|抽|麻|从没|从来没|这辈子|最疼|剧))"
    r"|(?:感觉|简直|我)?(?:要|快)(?:心梗|脑梗|中风|休克|猝死|窒息|晕倒|昏过去)了[^,.!?。]{0,4}(?:哈哈|hhh|233|😂|🤣|😅)"
    r"|(?:having|gonna have|going to have|about to have) (?:a )?(?:heart attack|stroke|seizure|aneurysm|coronary)[^.!?]{0,15}(?:haha\w*|lol\w*|lmao|rofl|jk|😂|🤣|😅|💀)"
)

FIGURATIVE = re.compile(FIGURATIVE.pattern + "|" + FIGURATIVE_MORE.pattern + "|" + FIGURATIVE_R10.pattern)
