"""Concept lexicon, clearly harmful requests: poisoning or drugging someone, forging medical
documents, getting controlled drugs without a prescription or by deceit, making illicit drugs.

Notation: safety/concept.py. Pattern table; not runnable.
"""

from safety.concept import Concept, _c

# fmt: off
HARM_CONCEPTS: tuple[Concept, ...] = (
    _c("harm_others_request",
       zh=[r"(?:怎么|如何|怎样|有什么办法|用什么药?)<gap>(?:下毒|投毒|毒死|毒害|害死|弄死)", r"(?<!被)下毒(?!的桥段|的情节|的剧情|的片段|的镜头|案|事件|的新闻|的故事)", r"(?<!被)投毒(?!的桥段|的情节|的剧情|案|事件|的新闻|的故事)",
           r"让(?:人|他|她|别人|对方|某人|老公|老婆|丈夫|妻子|同事|邻居|室友|婆婆|领导)[^,.!?。]{0,12}(?:死掉|死了|死去|昏迷|昏睡|失去知觉|没有知觉|失去意识|"
           r"不省人事|昏过去|晕过去|瘫痪|出丑|睡死|死过去|醒不过来|醒不来)",
           r"毒[^,.!?。]{0,4}(?:放|加|下|掺)(?:进|到|在)?(?:别人|他|她|对方|某人)?的?(?:饮料|酒|水|饭|菜|咖啡|茶|汤)里",
           r"药[^,.!?。]{0,4}(?:放|加|下|掺)(?:进|到|在)?(?:别人|对方|某人|同事|室友|邻居|老公|老婆|丈夫|妻子|领导|老板)的(?:饮料|酒|水|饭|菜|咖啡|茶|汤|水杯|杯子)里",
           r"(?:偷偷|悄悄|暗中)给?.{0,8}(?:吃|喝|下|放|加).{0,10}(?:药|毒)",
           r"(?:往|在)(?:他|她|别人|对方|同事|老公|老婆|室友|邻居|领导)[^,.!?。]{0,4}(?:水杯|杯子|饭|菜|饮料|水|茶|咖啡|酒|汤)里?(?:加|放|下|掺)",
           r"无色无味的毒", r"查不出来?的(?:毒|药)", r"迷药", r"蒙汗药",
           # sedating someone else: older relatives and other people, food/drink mixing with a knock-out goal
           r"让(?:老人|老头|老太太|爷爷|奶奶|外公|外婆|姥姥|姥爷|爸|妈|父亲|母亲|公公|家人|女朋友|男朋友|女友|男友|前任|孩子|小孩|宝宝|病人|他们|她们)[^,.!?。]{0,12}"
           r"(?:死掉|死了|死去|昏迷|昏睡|一直睡|失去知觉|没有知觉|失去意识|不省人事|昏过去|晕过去|睡死|醒不过来|醒不来|起不来|没力气反抗)",
           r"(?:混|拌|掺|溶|搅|磨碎|碾碎|研碎|捣碎|磨成粉|碾成粉|放|加|下)(?:进|到|在|入)?[^,.!?。]{0,6}(?:饭菜|饭|菜|食物|汤|粥|饮料|水|茶|咖啡|酒|牛奶|奶)里?[^。!?]{0,16}"
           r"(?:昏睡|昏迷|睡死|睡得很沉|睡得死|一直睡|醒不过来|醒不来|失去知觉|不省人事|吃不出|喝不出|尝不出|察觉不到|发现不了|不被发现|查不出|验不出"
           r"|一直犯困|睡一整天|睡上一天|睡一天一夜|看不出|迷迷糊糊|昏昏沉沉)",
           r"(?:在|往)[^,.!?。]{0,6}(?:饭菜|饭|菜|食物|汤|粥|饮料|水杯|杯子|水|茶|咖啡|酒|牛奶|奶|奶茶)里(?:加|放|下|掺|混)[^。!?]{0,16}"
           r"(?:昏睡|昏迷|睡死|睡得很沉|一直睡|一直犯困|犯困|睡一整天|醒不过来|醒不来|失去知觉|不省人事|吃不出|喝不出|尝不出|查不出|看不出|不被发现)",
           r"让(?:人|他|她|老公|老婆|丈夫|妻子|婆婆|公公|同事|室友|邻居|领导|老板|前任|对方|别人|老人|爸|妈)[^,.!?。不别]{0,10}(?:出事|出意外|没命|送命)",
           r"让(?:同事|室友|老公|老婆|丈夫|妻子|领导|老板|邻居|婆婆|公公|前任|对方|别人|他|她)[^,.!?。不别少易免]{0,10}(?:拉肚子|上吐下泻|过敏发作|出丑)"],
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
           r"(?:knock|put) (?:someone|somebody|him|her|them|a person) (?:out|to sleep|unconscious)",
           # crushing/dissolving tablets into another person's food or drink to keep them knocked out or unaware
           r"(?:crush|dissolve|grind|stir|hide|mix|slip|sneak|put|add|drop)\w*[^.!?]{0,40}(?:in|into) (?:someone'?s|somebody'?s|his|her|their|my \w+'?s|the \w+'?s) "
           r"(?:drink|food|coffee|tea|meal|water|juice|dinner|soup|smoothie|wine|beer|milk|cocoa|breakfast|lunch)[^.!?]{0,60}"
           r"(?:knock\w* (?:him|her|them) out|knocked out|out cold|unconscious|sedated|passed? out|pass(?:es)? out|without (?:him|her|them) (?:tasting|noticing|knowing|realising|realizing)|(?:can'?t|won'?t|wouldn'?t) (?:taste|notice))",
           r"so (?:he|she|they) (?:stays?|is|are|will be|'?ll be|goes|go|falls?) (?:knocked out|out cold|unconscious|sedated|passed out)",
           r"(?:keep|knock) (?:him|her|them|my \w+) (?:knocked out|out cold|unconscious|sedated|out for)",
           r"(?:make|get) (?:my |our |the |a )?(?:coworker|co-worker|colleague|boss|roommate|flatmate|housemate|husband|wife|partner|girlfriend|boyfriend|neighbou?r|sister|brother|teacher|ex|mother-in-law|father-in-law)s? "
           r"(?:sick|ill|vomit|throw up|pass out|black out|unconscious|drowsy|sleepy|have diarrh\w+|get diarrh\w+|shit (?:himself|herself))",
           r"(?:give|slip|put)[^.!?]{0,30}(?:my )?(?:wife|husband|partner|girlfriend|boyfriend|roommate|flatmate|housemate|coworker|colleague|boss|mum|mom|dad|mother|father|grandma|grandad|neighbou?r)[^.!?]{0,30}"
           r"(?:to make|so) (?:him|her|them) (?:sleepy|drowsy|pass(?:es)? out|knocked out|unconscious|out of it|black(?:s)? out|confused)",
           r"(?:how much|how many|what dose)[^.!?]{0,50}(?:inject|give|put|slip|add)[^.!?]{0,40}(?:so (?:that )?it (?:looks?|seems?) (?:natural|like an accident)|(?:without|so) (?:it|anyone|nobody|no one) (?:showing|shows|noticing|notices|knowing|knows|finding|finds)|untraceable)"]),
    # Making someone take something, covertly: two parts, so that "如何让孩子吃了药不吐" passes.
    _c("make_someone_take",
       zh=[r"让(?:人|他|她|别人|对方|某人|老公|老婆|丈夫|妻子|同事|邻居|室友|婆婆|公公|领导|孩子)[^,.!?。]{0,8}(?:吃|喝)"],
       en=[r"(?:give|slip|feed) (?:it |this )?(?:to )?(?:someone|somebody|him|her|them|my \w+)"]),
    _c("covert", context=True,
       zh=[r"查不出", r"验不出", r"不被发现", r"不会被发现", r"神不知鬼不觉", r"偷偷", r"悄悄",
           r"吃不出", r"喝不出", r"尝不出", r"察觉不到", r"发现不了", r"不知不觉", r"瞒着"],
       en=[r"without (?:them|him|her|anyone) (?:knowing|noticing)", r"undetect\w+", r"untraceabl\w+", r"without getting caught",
           r"look (?:like an accident|natural)",
           r"without (?:them|him|her|anyone) (?:tasting|realising|realizing|finding out)", r"(?:can'?t|won'?t|wouldn'?t) (?:taste|notice) (?:it|anything)"]),
    _c("forgery_request",
       zh=[r"(?:伪造|假造|仿造|造假|做假|假冒|p一张|ps|篡改|编造)[^,.!?。]{0,10}(?:处方|病历|诊断|病假条|假条|医生证明|检查报告|化验单)",
           r"假的?(?:处方|病历|诊断证明|病假条|假条|医生证明|住院证明|出院证明|诊断书|出生证明|体检报告|检查报告|化验单|健康证|接种证明)", r"(?:改|涂改|修改)(?:一下)?(?:处方|病历|诊断证明)",
           r"(?:伪造|假造|仿造|造假|做假|假冒|篡改)[^,.!?。]{0,6}(?:证明|报告|单子|病假|诊断书)",
           r"假的?(?:核酸|阴性证明|疫苗接种证明|接种记录|健康码|病假证明|医院证明|病情证明)", r"(?:模仿|仿|伪造|代签)(?:医生|大夫)的?(?:签名|签字|笔迹)"],
       en=[r"(?:forge|forging|forged|fake|faking|falsif(?:y|ying|ied)|counterfeit|doctor(?:ing)?) (?:a |an |the |my |me a |me an )?"
           r"(?:doctor'?s'? |hospital )?(?:prescription|sick note|doctor'?s note|medical (?:certificate|note|record|report)|script|rx)",
           r"(?:alter|change|edit) the (?:quantity|number|date|dose) on (?:my|a|the) prescription",
           r"(?:forge|fake|copy|forging|faking|copying) (?:a |the |my )?(?:doctor'?s |physician'?s )?signature",
           r"prescription[^.!?]{0,40}(?:with|using|under) (?:a |the )?doctor'?s (?:name|signature|stamp)",
           r"(?:photoshop|edit|alter|doctor|backdate|forge|fake)\w* (?:a |an |the |my |me a )?(?:doctor'?s |gp |medical |hospital |sick |fit )?(?:note|certificate|letter|prescription|test result|covid test)",
           r"(?:buy|order|get) (?:a |an )?(?:fake|forged|counterfeit) (?:doctor'?s |medical |sick )?(?:note|certificate|prescription|letter)",
           r"(?:copy|forge|fake|imitate|use) (?:a |the |my )?(?:doctor'?s|gp'?s|hospital'?s) (?:stamp|letterhead|signature|seal)",
           r"(?:fake|forged|counterfeit|false) (?:vaccination|vaccine|covid|immuni[sz]ation|negative) (?:card|certificate|pass|record|test|result)"]),
    # Asking the assistant to make a sick note / certificate / prescription (with a stamp, a real
    # hospital's name, for an employer, or for a controlled drug): it cannot issue one, so it is forgery.
    # A context concept: the request is the message's own, whatever time it mentions ("…saying I had
    # gastroenteritis last week").
    _c("document_request", context=True,
       zh=[r"(?:^|[,.!?。\s])(?:我想|我要|想|求|求求|就)?(?:请你|麻烦你|你|请|麻烦)?(?:能不能|可不可以|可以|能|帮忙)?(?:帮|给|替|为)(?:我|我们|他|她)?[^,.!?。]{0,4}"
           r"(?:做|写|开|弄|搞|出|p|ps|打印|制作|生成|编|拟|整|伪造)[^,.!?。]{0,8}"
           r"(?:病假条|(?<!请)假条|诊断证明|诊断书|病历|住院证明|出院证明|出院小结|医院证明|病情证明|医生证明|疾病证明|就诊证明|病休证明|病假证明|处方|检查报告|化验单|体检报告|核酸报告)(?!的)",
           r"代开(?:病假条|假条|诊断证明|诊断书|病历|住院证明|处方|证明)", r"(?:买|办)(?:一张|张|个|份)?(?:病假条|诊断证明|住院证明|病历)",
           r"(?:^|[,.!?。\s])(?:我想|我要|想|求|求求)?(?:请你|麻烦你|你)?(?:能不能|可不可以|可以|能)?(?:帮|给)我开(?:点|些|一些|几盒|一盒|几片|一瓶)",
           r"(?:病假条|诊断证明|诊断书|住院证明|病历|处方|医生证明)[^。!?]{0,12}(?:你|请你)?(?:能不能|可不可以|可以|能)?(?:帮|给)我(?:做|写|开|弄|搞|出|p|打印|制作|生成)(?:一张|一个|一份|张|个|份)?(?:吗|呗|吧|呀)"],
       en=[r"(?:^|[.!?] |(?:can|could|would|will) you (?:please |just |quickly )?(?:help me )?|please |pls |help me |i need you to |i want you to |just )"
           r"(?:write|make|create|draft|produce|generate|type|print|mock|knock|put together|do|forge|fake|sort)(?: me| us)?(?: up| out)? (?:a |an |one |the )?"
           r"(?:fake |realistic |official |proper |real[- ]looking |convincing |genuine[- ]looking )?(?:(?:doctor'?s |gp'?s? |medical |hospital |nhs |sick |fit |physician'?s ){1,2}"
           r"(?:note|certificate|letter|report|cert)|sick note|doctor'?s note|fit note|prescription|script|(?:hospital )?discharge (?:letter|summary|note)|note from (?:a|my|the) (?:doctor|gp|hospital))",
           r"(?:can|could|would|will) you (?:please |just )?prescribe(?: me| us| him| her)?(?= )",
           r"(?:sick note|doctor'?s note|fit note|medical certificate|prescription)[^.!?]{0,40}(?:can|could|would|will) you (?:please |just )?(?:make|write|create|draft|do|forge|fake|knock up|mock up)(?: me)? one\b"]),
    _c("document_official", context=True,
       zh=[r"盖章", r"盖个章", r"公章", r"印章", r"红章", r"钢印", r"医院的?章", r"带章", r"章子", r"抬头", r"签名", r"签字", r"医院(?:的)?名字", r"真(?:实)?的医院",
           r"样式", r"模板", r"交给(?:公司|单位|学校|老师|领导|老板)", r"给(?:公司|单位|学校|老师|领导|老板|hr)", r"(?:公司|单位|学校)要", r"请假", r"报销", r"理赔",
           r"骗", r"糊弄", r"应付"],
       en=[r"letterhead", r"stamp(?:ed)?", r"signed", r"signature", r"nhs", r"logo", r"real (?:gp|doctor|surgery|hospital|clinic)", r"surgery name",
           r"hospital'?s name", r"(?:gp|doctor'?s|medical) (?:surgery|practice|clinic)", r"official", r"look(?:s)? (?:real|legit|genuine|official)",
           r"my (?:boss|employer|manager|work|job|school|teacher|university|college|uni|hr)", r"for (?:work|school|college|uni|hr)",
           r"sick pay", r"holiday pay", r"time off", r"off work", r"(?:wasn'?t|isn'?t|not|never) (?:actually|really) (?:ill|sick)", r"insurance claim",
           r"excus\w+ (?:me|him|her) from", r"\bpe\b", r"gym class", r"(?:miss|missed|skip|skipped) (?:an? )?(?:exam|test|shift|work)"]),
    _c("controlled_drug", context=True,
       zh=[r"吗啡", r"芬太尼", r"羟考酮", r"奥施康定", r"氢可酮", r"曲马多", r"可待因", r"杜冷丁", r"哌替啶", r"美沙酮", r"丁丙诺啡", r"地西泮",
           r"安定", r"阿普唑仑", r"艾司唑仑", r"氯硝西泮", r"劳拉西泮", r"三唑仑", r"咪达唑仑", r"唑吡坦", r"思诺思", r"佐匹克隆", r"安眠药",
           r"精神类药", r"麻醉药", r"止咳水", r"利他林", r"哌甲酯", r"专注达", r"氯胺酮", r"k粉", r"冰毒", r"海洛因", r"摇头丸", r"可卡因", r"止痛药",
           r"麻古", r"神仙水", r"笑气", r"安眠片", r"佐匹克隆", r"右佐匹克隆", r"普瑞巴林", r"曲马朵"],
       en=[r"oxycodone", r"oxycontin", r"percocet", r"hydrocodone", r"vicodin", r"fentanyl", r"morphine", r"codeine", r"tramadol", r"methadone",
           r"buprenorphine", r"xanax", r"alprazolam", r"valium", r"diazepam", r"klonopin", r"clonazepam", r"ativan", r"lorazepam", r"ambien",
           r"zolpidem", r"adderall", r"ritalin", r"methylphenidate", r"vyvanse", r"modafinil", r"ketamine", r"benzos?", r"opioids?", r"opiates?",
           r"sleeping pills", r"painkillers",
           r"cocaine", r"crack", r"heroin", r"meth", r"methamphetamine", r"crystal meth", r"mdma", r"ecstasy", r"molly", r"lsd", r"ghb", r"xanax bars",
           r"sleeping tablets", r"zopiclone", r"temazepam", r"pregabalin", r"gabapentin"]),
    _c("illicit_acquisition",
       zh=[r"(?:不用|不要|不需要|没有|无需|绕过|不经过|免)(?:医生)?的?处方.{0,12}(?:怎么|如何|哪里|哪儿|去哪)",
           r"(?:怎么|如何|哪里|哪儿|去哪)[^,.!?。]{0,12}(?:不用|不要|不需要|没有|无需)(?:医生)?的?处方",
           r"(?:暗网|黑市|私下|地下)<gap>(?:买|购)", r"(?:骗|忽悠|糊弄|哄)(?:医生|大夫)", r"装病<gap>开",
           r"(?:装|假装|谎称|谎报|编|骗说|冒充)(?:成|作|出)?[^,.!?。]{0,8}(?:失眠|焦虑|疼|痛|病|抑郁|症状|多动|癫痫|惊恐)[^,.!?。]{0,12}(?:开|拿|给|配|弄)",
           r"(?:哪里|哪儿|去哪|怎么|如何|在哪)(?:能|可以|才能)?(?:买|弄|搞|拿)(?:到|得到)?(?:点|些|一点)?(?:冰毒|海洛因|k粉|摇头丸|可卡因|麻古|神仙水|笑气|毒品)",
           r"(?:说|编|装|假装)什么(?:症状|病|理由|借口)[^,.!?。]{0,12}(?:开|拿|给|配|弄)", r"(?:如果|要是|假如)(?:我)?(?:装|假装|谎称|说自己)[^,.!?。]{0,10}(?:医生|大夫)?[^,.!?。]{0,6}(?:会|能)(?:给我)?开", r"(?:编|找)(?:个|一个)?(?:什么)?(?:理由|借口)[^,.!?。]{0,10}(?:让|叫)?(?:医生|大夫)<gap>开"],
       en=[r"(?:how|where) (?:can|do|could|to|would|should) (?:i |you |we )?(?:get|buy|obtain|order|score|source|find)[^.!?]{0,40}"
           r"without (?:seeing |going to |visiting )?(?:a |any )?(?:prescription|script|rx|doctor)",
           r"(?:easiest|best|quickest|cheapest|simplest) way to (?:get|buy|obtain|score)[^.!?]{0,40}without (?:a |any )?(?:prescription|script|rx|doctor)",
           r"dark ?web", r"darknet", r"black market", r"(?:trick|fool|convince|manipulate|lie to|con) (?:my |the |a )?(?:doctor|gp|physician|pharmacist)",
           r"what (?:should|do|can) i (?:tell|say to) (?:my |the |a )?(?:doctor|gp)[^.!?]{0,40}(?:so|to get|to make)", r"doctor shopping",
           r"(?:where|how) (?:can|do|could|to|would|should) (?:i |you |we )?(?:get|buy|obtain|order|score|source|find)(?: some| any| a bit of)? "
           r"(?:cocaine|crack|heroin|meth|methamphetamine|crystal meth|mdma|ecstasy|molly|lsd|ghb|xanax bars|ketamine|fentanyl)\b(?! (?:addiction|treatment|rehab|help|support|test))",
           r"fake (?:symptoms|pain) to get", r"(?:by |)fak(?:e|ing) (?:symptoms|pain|an injury)", r"pretend(?:ing)? to be in pain",
           r"(?:exaggerat\w+|lie about|lying about|fak\w+) (?:my |the |his |her )?(?:\w+ )?(?:pain|symptoms)",
           r"(?:symptoms?|what|which|pain|illness)[^.!?]{0,15}(?:should|do|can|could|would|must) i (?:need to |have to )?(?:fake|pretend|claim|make up|exaggerate|put on|say i have)",
           r"(?:pretend|fake|act like|lie|lying|exaggerate)[^.!?]{0,40}(?:will|would|could|can) (?:the|my|a) (?:gp|doctor|psychiatrist|dentist|physician|pharmacist|nurse) (?:give|prescribe|write)",
           r"what (?:should|do|can) i (?:tell|say to) (?:my |the |a )?(?:psychiatrist|dentist|physician|nurse|pharmacist|prescriber|clinic)[^.!?]{0,40}(?:so|to get|to make)",
           r"(?:don'?t|do not) (?:actually|really) (?:have|need|suffer from) (?:it|adhd|anxiety|pain|insomnia|back pain|add)\b",
           r"(?:if|what if) i (?:pretend|fake|act like|lie|exaggerate|claim|say i have)[^.!?]{0,50}(?:will|would|could|can|do) (?:the |my |a )?(?:gp|doctor|psychiatrist|dentist|physician|pharmacist|nurse|they|he|she) (?:give|prescribe|write)",
           r"(?:pretend|act like|act as if|claim|say|tell (?:them|him|her|my \w+|the \w+)) (?:that )?i(?:'m| am| have| had|'ve got| got)? [^.!?]{0,30}"
           r"(?:to get|so (?:they|he|she|my \w+|the \w+) (?:will |would |can |could )?(?:give|prescribe|write))",
           r"(?:fake|faking|feign|feigning|pretend|pretending|make up|invent) (?:a |an |my |some )?\w+(?: \w+)? (?:to get|so i get|so they give|so (?:he|she) (?:gives|prescribes))",
           r"(?:get|make|convince|persuade) (?:my |the |a )?(?:gp|doctor|psychiatrist|dentist|physician) (?:to )?(?:give|prescribe|write)[^.!?]{0,40}(?:fake|pretend|lie|lying|trick)"]),
    _c("acquire_question",
       zh=[r"(?:哪里|哪儿|去哪|怎么|如何|怎样)(?:能|可以|才能)?(?:买|弄|搞|拿|开)(?:到|得到)?"],
       en=[r"(?:where|how) (?:can|do|could|would|to) (?:i |you |we )?(?:get|buy|obtain|order|score|source|find)",
           r"(?:easiest|best|quickest|cheapest|simplest|safest) way to (?:get|buy|obtain|score|order)"]),
    _c("no_prescription", context=True,
       zh=[r"(?:没有|没|无|不用|不要|不需要|无需)(?:医生)?的?处方", r"不去医院", r"不(?:用|想)?(?:去)?看医生", r"不经过医生", r"不挂号"],
       en=[r"(?:no|without (?:a |any )?|don'?t have (?:a |any )?)(?:prescription|script|rx)",
           r"without (?:seeing|going to|visiting|asking|involving|telling) (?:a |my |the |any )?(?:doctor|gp|psychiatrist)"]),
    _c("drug_synthesis",
       zh=[r"(?:制作|制造|合成|提炼|提纯|自制|熬制|做)[^,.!?。]{0,6}(?:冰毒|海洛因|芬太尼|摇头丸|k粉|氯胺酮|可卡因|麻古|毒品)"],
       en=[r"(?:make|making|cook|cooking|synthesi[sz]e|synthesi[sz]ing|manufacture|produce|extract) (?:meth|methamphetamine|fentanyl|heroin|mdma|ecstasy|lsd|ghb|cocaine|crack|morphine|dmt|opium)"]),
)
# fmt: on
