"""Contact names in free text, known only by their label (`联系人：李明`).

Why by position: jixiao blanks the contact before signing, so a name the unit typed into its
report is known only by where it stands. What follows the label is masked there, up to the next
punctuation, space, digit or label word (`联系人：李明电话：…`, `联系人：李明，…`), whatever it
is: `联系人：财务科李明` loses the office with the name, and `联系人：办公室` its office.

Only a person's name is masked elsewhere too (`由李明负责`): a common surname first, two or three
characters (four after 欧阳 and the like), once the office before it and the title after it are
set aside (`财务科李明主任` → `李明`). An office named as the contact (`办公室`, `财务股`) is an
ordinary word, left everywhere else (the unit's own name may hold it) and never hunted on
shared pages, where another unit's name may hold it too.

Forms read: `联系人：`, `联系人姓名：`, `联系人及电话：`, `联系人为`, spaced `联 系 人：`, and the same
for 填表人 and 经办人; without a colon (`联系人张三`) only a person's name is taken, as `建立联系人制度`
is prose. A name set with a space (`赵 六`, `赵　六`) is one name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

MASK = "（姓名已删去）"

_GAP = r"[ \u3000]{0,2}"
LABEL = re.compile(rf"(?:联{_GAP}系|填{_GAP}表|经{_GAP}办){_GAP}人(?:姓名)?"
                   rf"(?:[及和与、/](?:联系)?(?:电话|手机|方式))?{_GAP}(?P<colon>[:：]|为|是)?{_GAP}")
_NAME_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff·、/]")
# where a name ends though the text goes on: the next label, or what the contact does
_STOP = re.compile(r"办公电话|电话|手机|传真|座机|邮箱|邮件|邮编|地址|联系|号码|负责|填报|审核|同志")
LONGEST = 10  # a longer run is prose, not a name: only a name at its start is taken

_TITLES = "主任|科长|股长|局长|处长|部长|站长|所长|队长|组长|书记|经理|会计|出纳"
_TITLE = re.compile(rf"(?:副)?(?:{_TITLES}|老师|先生|女士)$")
_OFFICE = re.compile(rf"^.*(?:{_TITLES}|中心|[科股室办局处部组站所队])")  # all before a name: 财务科科长李明
_OFFICE_END = re.compile(r"(?:中心|[科股室办局处部组站所队])$")
# The commonest surnames, less those that mostly begin ordinary words (和, 国, 明, 全, 时 …)
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱"
    "严覃武戴莫孔向汤常温康施牛樊葛邢齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农卓古吉缪"
    "简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎"
    "甄丛仲虞敖巩佘池查麻苑迟邝封谈匡鞠惠荆冀郁胥班储栗燕楚鄢劳谌奚皮粟冼蔺楼闻厉伊仝郜阚花帅屠"
)
COMPOUND = frozenset({"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "公孙", "慕容", "尉迟", "司徒", "夏侯"})


def is_person(text: str) -> bool:
    """Whether `text` reads as a person's name rather than an office or a word."""
    if "·" in text:  # 买买提·艾力
        return 3 <= len(text) <= 12 and not text.startswith("·") and not text.endswith("·")
    if text[:2] in COMPOUND:
        return 3 <= len(text) <= 4
    return 2 <= len(text) <= 3 and text[0] in SURNAMES and not _OFFICE_END.search(text)


def person(text: str) -> str | None:
    """The person's name in what follows a label: itself, or without its title and office."""
    text = _TITLE.sub("", text)
    for candidate in (text, _OFFICE.sub("", text)):
        if candidate and is_person(candidate):
            return candidate
    return None


def _name_at(text: str, at: int) -> bool:
    return bool(_NAME_CHAR.match(text, at)) and not _STOP.match(text, at)


def _split(run: str) -> list[str]:
    """The names in what a label points to: '李明、王芳', '李明 王芳', and '赵 六' (one name spaced
    out, as documents set two-character names: every piece one character) as '赵六'."""
    pieces = [p for p in re.split(r"[ \u3000]", run) if p]
    if len(pieces) > 1 and all(len(p) == 1 for p in pieces):
        return ["".join(pieces)]
    return [p for piece in pieces for p in re.split(r"[、/]", piece) if p]


def labelled(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(start, end, the persons named) of what each 联系人 (填表人, 经办人) label points to. A
    single space between name characters belongs to the name (QA: `联系人：赵 六` kept 六)."""
    for match in LABEL.finditer(text):
        start = end = match.end()
        while end < len(text) and end - start < LONGEST and (
                _name_at(text, end) or (text[end] in " \u3000" and end > start and _name_at(text, end + 1))):
            end += 1
        if end - start == LONGEST and _name_at(text, end):
            end = start + next((n for n in (3, 2) if is_person(text[start:start + n])), 0)
        parts = _split(text[start:end])
        persons = [name for p in parts if (name := person(p)) is not None]
        first = parts[0] if parts else ""
        named = persons and (person(first) == first  # `联系人张三`; `联系人 财务科 孙丽` too
                             or (len(parts) > 1 and _OFFICE_END.search(first) and person(parts[1]) == parts[1]))
        if end > start and (match.group("colon") or named):
            yield start, end, persons


def mask_labelled(text: str) -> str:
    """`text` with what each label points to replaced by MASK."""
    out, last = [], 0
    for start, end, _ in labelled(text):
        out += [text[last:start], MASK]
        last = end
    return "".join(out) + text[last:] if out else text


def persons(text: str) -> set[str]:
    """The persons named after a label in `text`: masked wherever the unit wrote them."""
    return {name for _, _, found in labelled(text) for name in found}


@lru_cache(maxsize=1024)
def spaced(value: str) -> re.Pattern[str] | None:
    """A name as documents also set it, a space between its characters (`赵 六`, `赵　六`): the
    pattern for a value of two to six Han characters, None for anything else (found as written)."""
    if not 2 <= len(value) <= 6 or not all("\u3400" <= c <= "\u9fff" for c in value):
        return None
    return re.compile("[ \u3000]?".join(map(re.escape, value)))
