"""One unit's self-evaluation: the 附件6 table and the 附件7 report, as the unit filled them in.

The model keeps what was typed, defects included: a score above 分值 or a total that does not
add up is valid input here and becomes a finding in `evaluate`. Only what cannot be read at
all (a word where a number belongs, an unknown field) is refused at validation.
Field titles are the official Chinese names; the form's labels and messages use them.
"""

from __future__ import annotations

from typing import Literal

from .base import Field, Model
from .numbers import EntryDec, EntryMoney, EntryRate, EntryScore

Text = str
SCHEMA_VERSION = "1"


class _Model(Model, str_max_length=20000):
    """Unknown keys are refused; no text longer than 20,000 characters."""


class FundRow(_Model):
    budget: EntryMoney = Field(default=None, title="全年预算数")
    executed: EntryMoney = Field(default=None, title="全年执行数")
    rate: EntryRate = Field(default=None, title="执行率", description="百分数，如 100 表示 100%")


FUND_ROWS: dict[str, str] = {
    "total": "整体支出规模",
    "fiscal": "资金来源：（1）财政拨款",
    "other": "资金来源：（2）其他资金",
    "basic": "资金结构：（1）基本支出",
    "project": "资金结构：（2）项目支出",
}


class Funds(_Model):
    """整体支出规模, by source (财政拨款 + 其他资金) and by structure (基本 + 项目)."""

    total: FundRow = Field(default_factory=FundRow, title="整体支出规模")
    fiscal: FundRow = Field(default_factory=FundRow, title="财政拨款")
    other: FundRow = Field(default_factory=FundRow, title="其他资金")
    basic: FundRow = Field(default_factory=FundRow, title="基本支出")
    project: FundRow = Field(default_factory=FundRow, title="项目支出")


class Goal(_Model):
    target: Text = Field(default="", title="年初设定目标")
    completion: Text = Field(default="", title="全年完成情况")


class Indicator(_Model):
    """A 三级指标 row."""

    name: Text = Field(default="", title="三级指标")
    target: Text = Field(default="", title="年度指标值")
    actual: Text = Field(default="", title="全年完成值")
    max_score: EntryScore = Field(default=None, title="分值")
    score: EntryScore = Field(default=None, title="得分")
    deviation: Text = Field(default="", title="偏差及原因分析")
    custom: bool = Field(default=False, title="单位自设指标")


class Group(_Model):
    """A 二级指标 and its rows."""

    name: Text = Field(title="二级指标")
    items: list[Indicator] = Field(default_factory=list, max_length=200, title="三级指标")


class Level1(_Model):
    """A 一级指标 with the 权重 the unit's table shows."""

    name: Text = Field(title="一级指标")
    weight: EntryDec = Field(default=None, title="权重")
    groups: list[Group] = Field(default_factory=list, max_length=100, title="二级指标")


class Staffing(_Model):
    """人员情况 as the report states it."""

    authorized: int | None = Field(default=None, ge=0, title="编制人数")
    authorized_admin: int | None = Field(default=None, ge=0, title="行政编制人数")
    authorized_institution: int | None = Field(default=None, ge=0, title="事业编制人数")
    actual: int | None = Field(default=None, ge=0, title="实有人数")
    in_service: int | None = Field(default=None, ge=0, title="在职人数")
    retired_early: int | None = Field(default=None, ge=0, title="离休人员")
    retired: int | None = Field(default=None, ge=0, title="退休人员")


class ReportFigures(_Model):
    """The numbers the 附件7 report restates; they must agree with the table."""

    budget: EntryMoney = Field(default=None, title="报告中的全年预算数")
    executed: EntryMoney = Field(default=None, title="报告中的全年执行数")
    rate: EntryRate = Field(default=None, title="报告中的执行率")
    unit_count: int | None = Field(default=None, ge=0, title="报告中的预算单位个数")
    staffing: Staffing = Field(default_factory=Staffing, title="人员情况")
    grade: Text = Field(default="", title="自评结果（等级）")


class Report(_Model):
    """附件7: text per outline section id, plus the figures it states."""

    sections: dict[str, Text] = Field(default_factory=dict, title="报告正文")
    figures: ReportFigures = Field(default_factory=ReportFigures, title="报告数据")


class Contact(_Model):
    """Who filled in the form. Private: never published."""

    name: Text = Field(default="", title="联系人")
    phone: Text = Field(default="", title="联系电话")


class Submission(_Model):
    """A unit's 附件6 + 附件7 for one year, under one framework."""

    schema_version: Literal["1"] = "1"
    framework_id: str = Field(title="指标体系", min_length=1, max_length=100)
    framework_version: str = Field(default="", title="指标体系版本", max_length=50)
    year: int | None = Field(default=None, title="年度", ge=2000, le=2100)
    unit_name: Text = Field(default="", title="评价部门名称", max_length=200)
    unit_code: Text = Field(default="", title="单位编码", max_length=50)
    department: Text = Field(default="", title="主管部门", max_length=200)
    unit_kind: Literal["本级", "所属单位"] = Field(default="本级", title="单位层级")
    subordinate_units: int | None = Field(default=None, ge=0, title="下属单位个数")
    funds: Funds = Field(default_factory=Funds, title="整体支出规模")
    goal: Goal = Field(default_factory=Goal, title="年度总体目标")
    indicators: list[Level1] = Field(default_factory=list, title="分解目标自评", max_length=20)
    total: EntryScore = Field(default=None, title="总分")
    report: Report = Field(default_factory=Report, title="整体支出绩效自评报告")
    contact: Contact = Field(default_factory=Contact, title="联系人")
