"""Bytes to a document, under limits: strict UTF-8, JSON through msgspec's C parser, YAML 1.2 through libyaml.

- **Bytes.** A file larger than ``MAX_BYTES`` is refused before it is read. A UTF-8 byte-order mark is dropped; a
  UTF-16 or UTF-32 one, bytes that are not UTF-8 and NUL characters are refused with the offset.
- **JSON** (a ``.json`` file, or any text whose first character is ``{``) is parsed by msgspec, in C. Text that
  starts with ``{`` but is not JSON is read as YAML (a YAML flow mapping).
- **YAML** is parsed by libyaml's C loader with the YAML 1.2 core schema's implicit types only: ``true``/``false``
  (``yes``, ``no``, ``on``, ``off`` stay strings, so tickers ON, NO and YES are tickers), ``null``/``~``, decimal
  integers without leading zeros and of at most ``MAX_INT_DIGITS`` digits, decimal floats. Hexadecimal, octal,
  sexagesimal and underscored numbers, timestamps and merge keys are plain strings (and so refused where a number
  or a time is expected); an explicit ``!!int`` or ``!!float`` tag takes the same forms only, and the tags
  ``!!timestamp``, ``!!binary``, ``!!set``, ``!!omap``, ``!!pairs`` and ``!!merge`` are refused. libyaml itself
  refuses nesting beyond 1,000 levels. When a document has anchors, its
  aliases may add at most ``MAX_ALIAS_NODES`` nodes when expanded (a "billion laughs" file is refused at once,
  without being expanded) and a recursive alias is refused.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path
from typing import Any

import msgspec
import yaml

from regsho.adapters.errors import ScenarioError
from regsho.adapters.limits import MAX_ALIAS_NODES, MAX_BYTES, MAX_DEPTH, MAX_INT_DIGITS

_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class Yaml12Loader(yaml.CSafeLoader):
    """libyaml's C loader with the YAML 1.2 core schema's implicit types (no timestamps: times are parsed by the
    scenario adapter, in America/New_York)."""


Yaml12Loader.yaml_implicit_resolvers = {}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(rf"^[-+]?(?:0|[1-9][0-9]{{0,{MAX_INT_DIGITS - 1}}})$"), list("-+0123456789"))
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


_INT_RE = re.compile(rf"[-+]?(?:0|[1-9][0-9]{{0,{MAX_INT_DIGITS - 1}}})", re.ASCII)
_FLOAT_RE = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", re.ASCII)


def _strict_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    """An integer, also under an explicit ``!!int`` tag, only in YAML 1.2 decimal form."""
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    if not isinstance(value, str) or _INT_RE.fullmatch(value) is None:
        raise yaml.constructor.ConstructorError(None, None, f"{value!r:.40} is not a decimal integer",
                                                node.start_mark)
    return int(value)


def _strict_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    if not isinstance(value, str) or (_FLOAT_RE.fullmatch(value) is None and _INT_RE.fullmatch(value) is None):
        raise yaml.constructor.ConstructorError(None, None, f"{value!r:.40} is not a decimal number",
                                                node.start_mark)
    return float(loader.construct_yaml_float(node))  # type: ignore[arg-type]


def _refused(loader: yaml.SafeLoader, node: yaml.Node) -> None:
    raise yaml.constructor.ConstructorError(None, None, f"the tag {node.tag} is not allowed in a scenario",
                                            node.start_mark)


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _strict_int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _strict_float)
for _tag in ("timestamp", "binary", "set", "omap", "pairs", "merge", "value", "yaml"):
    Yaml12Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refused)


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, refused when larger than ``MAX_BYTES`` or unreadable."""
    name = str(path)
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_BYTES:  # a regular file: refused without reading it
                raise ScenarioError(name, "", None, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise ScenarioError(name, "", None, f"cannot read the file: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise ScenarioError(name, "", None, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return data


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def strip_bom(data: bytes, name: str) -> bytes:
    """Drop a UTF-8 byte-order mark; refuse UTF-16 and UTF-32 text (scenario files are UTF-8)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):]
    for bom, enc in _WIDE_BOMS:
        if data.startswith(bom):
            raise ScenarioError(name, "", None, f"the file is {enc} text (byte-order mark); scenario files are UTF-8")
    return data


def decode_text(data: bytes, name: str) -> str:
    """Strict UTF-8 (a byte-order mark dropped), without NUL characters."""
    data = strip_bom(data, name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(name, f"line {_line_of(data, e.start)}", None,
                            f"not UTF-8 text: byte 0x{data[e.start]:02x} at offset {e.start}") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise ScenarioError(name, f"line {text.count(chr(10), 0, nul) + 1}", None,
                            "a NUL character (a binary file?); scenario files are UTF-8 text")
    return text


def looks_like_json(data: bytes | str, name: str) -> bool:
    if name.lower().endswith(".json"):
        return True
    head = data[:64].lstrip()
    return head[:1] in (b"{", "{")


def json_error(name: str, e: Exception) -> ScenarioError:
    msg = str(e)
    m = re.search(r"\(byte (\d+)\)", msg)
    where = f"byte {m.group(1)}" if m else ""
    if isinstance(e, RecursionError):
        return ScenarioError(name, "", None, "not valid JSON: nested too deeply")
    msg = re.sub(r"\s*\(byte \d+\)", "", msg).replace("JSON is malformed: ", "")
    return ScenarioError(name, where, None, f"not valid JSON: {msg}")


def parse_json(data: bytes, name: str) -> object:
    """Any JSON document (msgspec, in C); nesting is bounded by the decoder's recursion limit."""
    try:
        return msgspec.json.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as e:
        if isinstance(e, msgspec.DecodeError) and "UTF-8" in str(e):
            decode_text(data, name)  # names the offending byte
        raise json_error(name, e) from None


def parse_yaml(text: str, name: str) -> object:
    """A YAML 1.2 document (libyaml), with aliases bounded; a JSON document is YAML too."""
    try:
        doc: object = yaml.load(text, Loader=Yaml12Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ScenarioError(name, where, None, f"not valid YAML or JSON: {problem}") from None
    except (ValueError, OverflowError, RecursionError) as e:
        raise ScenarioError(name, "", None, f"not valid YAML: {type(e).__name__}") from None
    if "&" in text:
        check_aliases(doc, name)
    return doc


def check_aliases(doc: object, name: str) -> None:
    """Refuse a document whose aliases, expanded, would add more than ``MAX_ALIAS_NODES`` nodes, that refers to
    itself, or that nests deeper than ``MAX_DEPTH``. Shared containers are measured once (nothing is expanded)."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    distinct = 0

    def size(v: object, depth: int) -> int:
        nonlocal distinct
        if not isinstance(v, dict | list):
            distinct += 1
            return 1
        key = id(v)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise ScenarioError(name, "", None, "a YAML alias refers to the node that contains it")
        if depth >= MAX_DEPTH:
            raise ScenarioError(name, "", None, f"nested deeper than {MAX_DEPTH} levels")
        in_progress.add(key)
        distinct += 1
        children: list[Any] = [*v.keys(), *v.values()] if isinstance(v, dict) else v
        total = 1 + sum(size(c, depth + 1) for c in children)
        in_progress.discard(key)
        sizes[key] = total
        return total

    expanded = size(doc, 0)
    if expanded - distinct > MAX_ALIAS_NODES:
        raise ScenarioError(name, "", None, f"YAML aliases would expand the document by {expanded - distinct:,} "
                                            f"nodes (at most {MAX_ALIAS_NODES:,} allowed)")


def check_depth(v: object, name: str, where: str, field: str, depth: int = 0) -> None:
    """Refuse a value nested deeper than ``MAX_DEPTH`` (for the parts of a document no schema bounds)."""
    if depth > MAX_DEPTH:
        raise ScenarioError(name, where, field, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(v, dict):
        for x in v.values():
            check_depth(x, name, where, field, depth + 1)
    elif isinstance(v, list):
        for x in v:
            check_depth(x, name, where, field, depth + 1)


def parse_bytes(data: bytes, name: str) -> object:
    """A document from a file's bytes: JSON when it looks like JSON (else YAML)."""
    data = strip_bom(data, name)
    if looks_like_json(data, name):
        try:
            return msgspec.json.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as e:
            if name.lower().endswith(".json"):
                if isinstance(e, msgspec.DecodeError) and "UTF-8" in str(e):
                    decode_text(data, name)
                raise json_error(name, e) from None
    return parse_yaml(decode_text(data, name), name)
