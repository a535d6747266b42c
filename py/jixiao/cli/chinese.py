"""Click's own words in Chinese: usage errors and help headings.

Everything the commands say is Chinese, but a mistyped option met click's English ("Error:
Missing option '--key'."). Click marks its strings for gettext (each module binds `_` and
`ngettext` from the `gettext` module) and ships no Chinese catalogue, so `install` points those
names at this table. A string not in it stays as click wrote it (a newer click may add some);
templates keep click's placeholders, since click formats after translating. Metavars
(INTEGER, TEXT, PATH) stay ASCII: click aligns help columns by character count, and a Chinese
metavar is twice as wide on a terminal.
"""

from __future__ import annotations

import importlib

MESSAGES = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行“{command} {option}”查看帮助。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing {param_type}": "缺少{param_type}",
    "Missing command.": "缺少命令。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "No such command {name!r}.": "没有“{name}”这个命令。",
    "No such option {name!r}.": "没有“{name}”这个选项。",
    "Option {name!r} does not take a value.": "选项“{name}”后面不能跟值。",
    "Argument {name!r} takes {nargs} values.": "参数“{name}”需要 {nargs} 个值。",
    # {number_type} is click's English type name ("integer range"): left out, not shown.
    "{value!r} is not a valid {number_type}.": "“{value}”不是有效的数字。",
    "{value} is not in the range {range}.": "{value} 不在允许的范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "“{value}”不是有效的是否值，可用：{states}",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在。",
    "{name} {filename!r} is a file.": "{name}“{filename}”是文件，不是文件夹。",
    "{name} {filename!r} is a directory.": "{name}“{filename}”是文件夹，不是文件。",
    "{name} {filename!r} is not readable.": "{name}“{filename}”没有读取权限。",
    "{name} {filename!r} is not writable.": "{name}“{filename}”没有写入权限。",
    "Could not open file {filename!r}: {message}": "无法打开文件“{filename}”：{message}",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "Show this message and exit.": "显示本帮助并退出",
    "Show the version and exit.": "显示版本并退出",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Aborted!": "已取消。",
    "Do you want to continue?": "是否继续？",
    "Repeat for confirmation": "请再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
}

# Click's singular → (Chinese for one, Chinese for many): the two English forms take different
# keywords in some messages, so each Chinese form keeps its own.
PLURALS = {
    "Got unexpected extra argument ({args})": ("多出了参数（{args}）", "多出了参数（{args}）"),
    "Did you mean {possibility}?": ("是不是想输入 {possibility}？", "（是不是想输入以下之一：{possibilities}？）"),
    "Takes {nargs} values but 1 was given.": ("需要 {nargs} 个值，但只给了 1 个。",
                                              "需要 {nargs} 个值，但给了 {len} 个。"),
    "Option {name!r} requires an argument.": ("选项“{name}”后面需要一个值。", "选项“{name}”后面需要 {nargs} 个值。"),
    "{value!r} is not {choice}.": ("“{value}”不是 {choice}。", "“{value}”不是可选值之一：{choices}。"),
    "{value!r} does not match the format {format}.": ("“{value}”不符合格式 {format}。",
                                                      "“{value}”不符合格式 {formats}。"),
}

_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")


def gettext(message: str) -> str:
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    pair = PLURALS.get(singular)
    if pair is None:
        return singular if n == 1 else plural
    return pair[0] if n == 1 else pair[1]


def install() -> None:
    """Point click's translation hooks at the tables above; before any command is declared
    (a path option takes its type name when it is made)."""
    for name in _MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
