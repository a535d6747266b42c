"""The code each record class generates for itself, once, on first use (the dataclasses way).

Four functions per class, from its fields' plans (`fieldtypes.py`):

* `from_dict(data, target)`: validation, one block per field, the usual valid value tested in
  place and anything else handed to the field's check, which raises `Invalid` with pydantic's
  error types and locations; extra keys and missing fields reported after;
* `from_canonical(data)`: the record when `data` is exactly the canonical dump of a valid one
  (every field, keys in RFC 8785's order, each value spelt as the dump spells it), else None.
  One pass, no copy: consolidation reads thousands of signed submissions that way;
* `dump(obj, json_mode)`: the plain dict `model_dump` returns;
* `write(obj)` / `write_sorted(obj)`: JSON text straight from the values, as `json.dumps` would
  write the dump (declared order), or canonically (RFC 8785: keys sorted, integers within
  ±(2**53-1) as `canonical.canonical_json` requires).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .fieldtypes import ENCODE, MISSING, FieldInfo, Invalid, Plan, bad, fresh, under

# --- the generated code ----------------------------------------------------------------------------

@dataclass
class Compiled:
    fields: dict[str, FieldInfo]
    plans: dict[str, Plan]
    from_dict: Callable[[dict[str, Any], Any], Any]
    dump: Callable[[Any, bool], dict[str, Any]]
    write: Callable[[Any], str]  # JSON text, fields in declared order
    write_sorted: Callable[[Any], str]  # canonical JSON text: keys in RFC 8785's order
    from_canonical: Callable[[Any], Any]  # the record, or None: see the module's docstring


def generate(cls: type[Any], fields: dict[str, FieldInfo], plans: dict[str, Plan],
             afters: list[Callable[..., Any]], set_values: Callable[[Any, dict[str, Any]], None]) -> Compiled:
    """Source for `from_dict(data, target)` and `dump(obj, json_mode)`: one block per field,
    the usual valid value tested in place, anything else handed to the field's check."""
    env: dict[str, Any] = {"_M": MISSING, "Invalid": Invalid, "under": under, "_new": object.__new__,
                           "_setdict": set_values, "_cls": cls, "_afters": afters, "_after_failed": _after_failed}
    lines = ["def from_dict(data, target):", "    d = {}", "    errors = None", "    n = 0"]
    for position, (name, info) in enumerate(fields.items()):
        plan = plans[name]
        check, default = f"C{position}", f"D{position}"
        env[check] = plan.check
        key = repr(name)
        lines.append(f"    v = data.get({key}, _M)")
        lines.append("    if v is _M:")
        if info.is_required():
            lines.append(f"        errors = (errors or []) + [(({key},), 'missing', 'Field required', data, None)]")
        elif info.default_factory is not None:
            env[default] = info.default_factory
            lines.append(f"        d[{key}] = {default}()")
        else:
            env[default] = info.default
            if fresh(info.default) is info.default:
                lines.append(f"        d[{key}] = {default}")
            else:
                env["fresh"] = fresh
                lines.append(f"        d[{key}] = fresh({default})")
        lines.append("    else:")
        lines.append("        n += 1")
        test = _inline_test(plan.inline, info, plans[name], env, position)
        if test:
            lines.append(f"        if {test}:")
            lines.append(f"            d[{key}] = v")
            lines.append("        else:")
            indent = "            "
        else:
            indent = "        "
        lines.append(f"{indent}try:")
        lines.append(f"{indent}    d[{key}] = {check}(v)")
        lines.append(f"{indent}except Invalid as exc:")
        lines.append(f"{indent}    errors = (errors or []) + under({key}, exc.items)")
    env["_names"] = frozenset(fields)
    lines += [
        "    if n != len(data):",
        "        errors = (errors or []) + [((k,), 'extra_forbidden', 'Extra inputs are not permitted', data[k], None)"
        " for k in data if k not in _names]",
        "    if errors:",
        "        raise Invalid(errors)",
        "    obj = _new(_cls) if target is None else target",
        "    _setdict(obj, d)",
    ]
    if afters:
        lines += ["    for after in _afters:", "        try:", "            after(obj)",
                  "        except ValueError as exc:", "            raise _after_failed(exc, obj) from None"]
    lines.append("    return obj")
    lines += ["", "def dump(obj, json_mode):", "    d = obj.__dict__", "    return {"]
    for position, name in enumerate(fields):
        plan = plans[name]
        if plan.dump is None:
            lines.append(f"        {name!r}: d[{name!r}],")
        else:
            env[f"W{position}"] = plan.dump
            lines.append(f"        {name!r}: W{position}(d[{name!r}], json_mode),")
    lines.append("    }")
    env.update(_enc=ENCODE, _int=int.__repr__, _safe_int=_safe_int, _by_utf16=_by_utf16, C_ok=_check_ok)
    counter = iter(range(1_000_000))
    for function, names in (("write", list(fields)), ("write_sorted", sorted(fields, key=_utf16_key))):
        lines += ["", f"def {function}(obj):", "    d = obj.__dict__"]
        pieces = []
        for index, name in enumerate(names):
            pieces.append(repr(("{" if index == 0 else ",") + ENCODE(name) + ":"))
            pieces.append(_write_expr(plans[name], f"d[{name!r}]", env, function == "write_sorted", counter))
        pieces.append(repr("}") if names else repr("{}"))
        lines.append("    return ''.join((" + ", ".join(pieces) + "))")  # one copy, however long the texts
    lines += _canonical_reader(cls, fields, plans, env)
    code = compile("\n".join(lines), f"<jixiao.model {cls.__qualname__}>", "exec")
    exec(code, env)
    return Compiled(fields, plans, env["from_dict"], env["dump"], env["write"], env["write_sorted"],
                    env["from_canonical"])


def _check_ok(check: Callable[[Any], Any], value: Any) -> Any:
    """`check(value)`, or None when it refuses the value."""
    try:
        return check(value)
    except Invalid:
        return None


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")  # RFC 8785's key order


def _safe_int(value: int) -> str:
    if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
        return int.__repr__(value)
    raise ValueError("整数超出 JSON 可安全表示的范围")


_MAX_SAFE_INT = 2**53 - 1


def _by_utf16(items: Any) -> list[tuple[str, Any]]:
    return sorted(items, key=lambda item: _utf16_key(item[0]))


def _write_expr(plan: Plan, value: str, env: dict[str, Any], canonical: bool, counter: Iterator[int]) -> str:
    """A Python expression writing `value` (an expression) as JSON text, from the plan's shape."""
    kind, n = plan.shape[0], next(counter)
    if kind == "str":
        return f"_enc({value})"
    if kind == "int":  # RFC 8785 holds an integer to ±(2**53-1), as canonical.canonical_json does
        return f"_safe_int({value})" if canonical else f"_int({value})"
    if kind == "bool":
        return f"('true' if {value} else 'false')"
    if kind == "date":
        return f"('\"' + {value}.isoformat() + '\"')"
    if kind == "custom":  # its dump gives a text or None
        env[f"WD{n}"] = plan.shape[1]
        return f"('null' if (_t{n} := WD{n}({value})) is None else _enc(_t{n}))"
    if kind == "model":
        env[f"WM{n}"] = _first_write(plan.shape[1], canonical, env, f"WM{n}")
        return f"WM{n}({value})"
    if kind == "optional":
        inner = _write_expr(plan.shape[1], f"_o{n}", env, canonical, counter)
        return f"('null' if (_o{n} := {value}) is None else {inner})"
    if kind == "list":
        inner = _write_expr(plan.shape[1], f"_i{n}", env, canonical, counter)
        return f"('[' + ','.join([{inner} for _i{n} in {value}]) + ']')"
    if kind == "dict":
        inner = _write_expr(plan.shape[1], f"_v{n}", env, canonical, counter)
        items = f"_by_utf16({value}.items())" if canonical else f"{value}.items()"
        return f"('{{' + ','.join([_enc(_k{n}) + ':' + {inner} for _k{n}, _v{n} in {items}]) + '}}')"
    env["_json_any"] = _json_any
    return f"_json_any({value}, {canonical})"


def _first_write(model: Any, canonical: bool, env: dict[str, Any], name: str) -> Callable[[Any], str]:
    """A nested record's writer, found on first use (the record may not be compiled yet, or be
    this very one): then it takes its own place in the generated code's namespace."""
    def first(value: Any) -> str:
        compiled = model._compiled()
        writer: Callable[[Any], str] = compiled.write_sorted if canonical else compiled.write
        env[name] = writer
        return writer(value)

    return first


def _json_any(value: Any, canonical: bool) -> str:
    if canonical:
        from ..canonical import canonical_json

        return canonical_json(value).decode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _inline_test(inline: str, info: FieldInfo, plan: Plan, env: dict[str, Any], position: int) -> str:
    """An expression true when `v` is already valid as it stands (then it is stored unchanged)."""
    optional = inline.startswith("optional:")
    kind = inline.removeprefix("optional:")
    test = ""
    if kind == "str":
        test = "type(v) is str" + (f" and len(v) <= {plan.limit}" if plan.limit is not None else "")
    elif kind == "literal":
        env[f"LIT{position}"] = frozenset(plan.allowed)
        test = f"type(v) is str and v in LIT{position}"
    elif kind == "int":
        test = "type(v) is int"
        if info.ge is not None:
            env[f"GE{position}"] = info.ge
            test += f" and v >= GE{position}"
        if info.le is not None:
            env[f"LE{position}"] = info.le
            test += f" and v <= LE{position}"
    elif kind == "bool":
        test = "type(v) is bool"
    elif kind == "any":
        test = "True"
    if test and optional:
        return f"v is None or ({test})"
    return test


def _after_failed(exc: ValueError, obj: Any) -> Invalid:
    return bad("value_error", f"Value error, {exc}", obj, {"error": exc})




# --- the canonical reader --------------------------------------------------------------------------

_MAX_SAFE_INT = 2**53 - 1
_CANON_LIMIT = 16384  # texts remembered per decimal type


def _canonical_reader(cls: type[Any], fields: dict[str, FieldInfo], plans: dict[str, Plan],
                      env: dict[str, Any]) -> list[str]:
    """Source of `from_canonical(data)`: the dict must list every field, in canonical order, each
    value as the dump writes it; converted values (decimals, dates, records) replace the raw ones
    in place and `data` becomes the record's own dict."""
    names = sorted(fields, key=_utf16_key)
    env["_KEYS"] = tuple(names)
    counter = iter(range(1_000_000))
    lines = ["", "def from_canonical(data):",
             "    if type(data) is not dict or tuple(data) != _KEYS:", "        return None"]
    for name in names:
        lines.append(f"    v = data[{name!r}]")
        lines += _canonical_lines(plans[name], fields[name], "v", f"data[{name!r}]", env, "    ", counter)
    lines += ["    obj = _new(_cls)", "    _setdict(obj, data)"]
    if cls and env.get("_afters"):
        lines += ["    for after in _afters:", "        try:", "            after(obj)",
                  "        except ValueError:", "            return None"]
    lines.append("    return obj")
    return lines


def _canonical_lines(plan: Plan, info: FieldInfo | None, var: str, target: str, env: dict[str, Any], indent: str,
                     counter: Iterator[int]) -> list[str]:
    """Statements checking `var` (and writing a converted value to `target`); `return None` on a miss."""
    kind, n = plan.shape[0], next(counter)
    fail = f"{indent}    return None"
    if kind == "str":
        test = f"type({var}) is not str"
        if plan.limit is not None:
            test += f" or len({var}) > {plan.limit}"
        if info is not None and (info.min_length is not None or info.pattern is not None):
            env[f"CS{n}"] = plan.check
            return [f"{indent}if {test} or C_ok(CS{n}, {var}) is None:", fail]
        if plan.allowed:
            env[f"LS{n}"] = frozenset(plan.allowed)
            test += f" or {var} not in LS{n}"
        return [f"{indent}if {test}:", fail]
    if kind == "int":
        low, high = -_MAX_SAFE_INT, _MAX_SAFE_INT
        if info is not None and info.ge is not None:
            low = max(low, info.ge)
        if info is not None and info.le is not None:
            high = min(high, info.le)
        return [f"{indent}if type({var}) is not int or not {low} <= {var} <= {high}:", fail]
    if kind == "bool":
        return [f"{indent}if type({var}) is not bool:", fail]
    if kind == "any" and plan.allowed and all(type(a) is int for a in plan.allowed):  # Literal[1]
        env[f"LI{n}"] = frozenset(plan.allowed)
        return [f"{indent}if type({var}) is not int or {var} not in LI{n}:", fail]
    if kind == "custom":
        env[f"CC{n}"] = _canonical_custom(plan)
        custom = plan.shape[2]
        if custom.canonical is not None and custom.read is not None:  # the usual text, taken as it is
            env[f"CR{n}"], env[f"CX{n}"] = custom.read, custom.canonical.fullmatch
            fast = f"type({var}) is str and len({var}) <= {custom.canonical_length} and CX{n}({var})"
            return [f"{indent}if {fast}:", f"{indent}    {target} = CR{n}({var})", f"{indent}else:",
                    f"{indent}    x = CC{n}({var})", f"{indent}    if x is _M:", f"{indent}        return None",
                    f"{indent}    {target} = x"]
        return [f"{indent}x = CC{n}({var})", f"{indent}if x is _M:", fail, f"{indent}{target} = x"]
    if kind == "date":
        env["C_date"] = _canonical_date
        return [f"{indent}x = C_date({var})", f"{indent}if x is None:", fail, f"{indent}{target} = x"]
    if kind == "model":
        env[f"CM{n}"] = _first_canonical(plan.shape[1], env, f"CM{n}")
        return [f"{indent}x = CM{n}({var})", f"{indent}if x is None:", fail, f"{indent}{target} = x"]
    if kind == "optional":
        inner = _canonical_lines(plan.shape[1], info, var, target, env, indent + "    ", counter)
        return [f"{indent}if {var} is not None:", *inner]
    if kind == "list":
        test = f"type({var}) is not list"
        if info is not None and info.max_length is not None:
            test += f" or len({var}) > {info.max_length}"
        if info is not None and info.min_length is not None:
            test += f" or len({var}) < {info.min_length}"
        item, index = f"e{n}", f"i{n}"
        inner = _canonical_lines(plan.shape[1], None, item, f"{var}[{index}]", env, indent + "    ", counter)
        return [f"{indent}if {test}:", fail, f"{indent}for {index}, {item} in enumerate({var}):", *inner]
    if kind == "dict":
        env["C_keys_ok"] = _keys_in_order
        item, key = f"e{n}", f"k{n}"
        key_plan = plan.shape[2]
        env[f"CK{n}"] = key_plan.limit
        inner = _canonical_lines(plan.shape[1], None, item, f"{var}[{key}]", env, indent + "    ", counter)
        return [f"{indent}if type({var}) is not dict or not C_keys_ok({var}, CK{n}):", fail,
                f"{indent}for {key}, {item} in {var}.items():", *inner]
    return [f"{indent}return None"]  # no canonical reading for this type: the caller validates instead


def _first_canonical(model: Any, env: dict[str, Any], name: str) -> Callable[[Any], Any]:
    def first(value: Any) -> Any:
        reader: Callable[[Any], Any] = model._compiled().from_canonical
        env[name] = reader
        return reader(value)

    return first


def _keys_in_order(value: dict[Any, Any], limit: int | None) -> bool:
    keys = list(value)
    if any(type(k) is not str or (limit is not None and len(k) > limit) for k in keys):
        return False
    return keys == sorted(keys, key=_utf16_key)


def _canonical_custom(plan: Plan) -> Callable[[Any], Any]:
    """The value of a custom field's canonical text (None stays None when the type allows it),
    or MISSING: what `parse` reads and `dump` writes back unchanged, remembered by text."""
    parse, dump = plan.check, plan.shape[1]
    seen: dict[str, Any] = {}

    def read(text: Any) -> Any:
        if text is None:
            try:
                return None if parse(None) is None and dump(None) is None else MISSING
            except Invalid:
                return MISSING
        if type(text) is not str:
            return MISSING
        value = seen.get(text, seen)
        if value is not seen:
            return value
        try:
            value = parse(text)
            value = value if value is not None and dump(value) == text else MISSING
        except Invalid:
            value = MISSING
        if len(seen) < _CANON_LIMIT and len(text) <= 64:
            seen[text] = value
        return value

    return read


def _canonical_date(text: Any) -> Any:
    from datetime import date

    if type(text) is not str or len(text) != 10:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None
    return value if value.isoformat() == text else None
