#!/usr/bin/env python3
"""Generate sim/src/protobuf/schema.rs, the field table of the protobuf decoder.

kubectl sends built-in objects as Kubernetes protobuf. Decoding that into the
JSON the simulator stores needs, per message: field number, wire shape and the
JSON name. No .proto files are available offline, so the table is assembled
from three sources:

* k8s-pb 0.9.0 (prost-generated Rust): field numbers, scalar/message/map types
  and which message a field refers to.
* k8s-openapi 0.29.0 (src/v1_37): the original message names ("Generated from
  definition io.k8s.api.core.v1.TCPSocketAction") and the JSON keys of each
  struct; prost's snake_case names are matched to JSON keys after normalising
  (lowercase, no '_'), because acronyms differ (`pod_i_ps` vs `podIPs`).
* kubectl's Go type metadata (struct tags and field types, read from the ELF
  binary): whether a scalar field is a non-pointer `omitempty` field. Go's
  protobuf marshaller writes every non-pointer field, zero or not, whereas
  Go's JSON leaves zero `omitempty` fields out; the decoder drops those zeros
  so that the decoded object equals what kubectl would have sent as JSON.
  The struct tags also cross-check every JSON name and field number above.

Usage: gen_protobuf_schema.py [--registry DIR] [--kubectl BIN] [--out FILE]
                              [--check]
Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import struct
import sys
from dataclasses import dataclass, field

PB_CRATE = "k8s-pb-0.9.0"
OPENAPI_CRATE = "k8s-openapi-0.29.0"
OPENAPI_VERSION_DIR = "v1_37"
DEFAULT_KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"

CORE = "k8s.io.api.core.v1"
META = "k8s.io.apimachinery.pkg.apis.meta.v1"

# (group, version, kind, message): the objects the decoder accepts.
ROOTS = [
    ("", "v1", "ConfigMap", f"{CORE}.ConfigMap"),
    ("", "v1", "Endpoints", f"{CORE}.Endpoints"),
    ("", "v1", "Event", f"{CORE}.Event"),
    ("", "v1", "Namespace", f"{CORE}.Namespace"),
    ("", "v1", "Node", f"{CORE}.Node"),
    ("", "v1", "Pod", f"{CORE}.Pod"),
    ("", "v1", "Secret", f"{CORE}.Secret"),
    ("", "v1", "Service", f"{CORE}.Service"),
    ("", "v1", "ServiceAccount", f"{CORE}.ServiceAccount"),
    ("apps", "v1", "Deployment", "k8s.io.api.apps.v1.Deployment"),
    ("apps", "v1", "ReplicaSet", "k8s.io.api.apps.v1.ReplicaSet"),
    ("apps", "v1", "StatefulSet", "k8s.io.api.apps.v1.StatefulSet"),
    ("batch", "v1", "CronJob", "k8s.io.api.batch.v1.CronJob"),
    ("batch", "v1", "Job", "k8s.io.api.batch.v1.Job"),
    ("policy", "v1", "Eviction", "k8s.io.api.policy.v1.Eviction"),
    ("autoscaling", "v1", "Scale", "k8s.io.api.autoscaling.v1.Scale"),
    ("coordination.k8s.io", "v1", "Lease", "k8s.io.api.coordination.v1.Lease"),
    (
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "k8s.io.api.discovery.v1.EndpointSlice",
    ),
    ("events.k8s.io", "v1", "Event", "k8s.io.api.events.v1.Event"),
    ("meta.k8s.io", "v1", "DeleteOptions", f"{META}.DeleteOptions"),
    ("meta.k8s.io", "v1", "Status", f"{META}.Status"),
]

# Messages with a JSON form of their own, with the wire layout the decoder
# assumes for them (verified against k8s-pb).
SPECIAL = {
    f"{META}.Time": ("Time", [(1, "int64"), (2, "int32")]),
    f"{META}.MicroTime": ("MicroTime", [(1, "int64"), (2, "int32")]),
    f"{META}.Timestamp": ("Timestamp", [(1, "int64"), (2, "int32")]),
    f"{META}.Duration": ("Duration", [(1, "int64")]),
    f"{META}.FieldsV1": ("FieldsV1", [(1, "bytes")]),
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": (
        "IntOrString",
        [(1, "int64"), (2, "int32"), (3, "string")],
    ),
    "k8s.io.apimachinery.pkg.api.resource.Quantity": ("Quantity", [(1, "string")]),
    "k8s.io.apimachinery.pkg.runtime.RawExtension": ("RawExtension", [(1, "bytes")]),
}

SCALARS = {"string": "Str", "int32": "I32", "int64": "I64", "bool": "Bool", "bytes": "Bytes"}


def norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def lower_camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def fail(msg: str) -> None:
    sys.exit(f"gen_protobuf_schema: {msg}")


# --------------------------------------------------------------------------
# k8s-pb: prost structs


@dataclass
class PbField:
    rust: str  # prost field name (without r#)
    tag: int
    kind: str  # string|int32|int64|bool|bytes|message|double|...
    repeated: bool
    map_value: str | None  # for btree_map: string|bytes|message
    ref: tuple | None  # (module parts, struct name) of a message type


@dataclass
class PbStruct:
    module: tuple
    rust: str
    fields: list[PbField] = field(default_factory=list)


STD_PATHS = [
    "::core::option::Option",
    "::prost::alloc::vec::Vec",
    "::prost::alloc::boxed::Box",
    "::prost::alloc::collections::BTreeMap",
    "::prost::alloc::string::String",
]


def split_type(text: str) -> tuple[str, str]:
    """Returns (type text up to the field's closing comma, rest)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth == 0:
            return text[:i], text[i + 1 :]
    fail(f"unterminated field type: {text[:80]!r}")
    raise AssertionError


def resolve_ref(module: tuple, ty: str) -> tuple | None:
    for std in STD_PATHS:
        ty = ty.replace(std, "")
    paths = [p for p in re.findall(r"[A-Za-z_][\w:]*", ty) if p not in ("u8", "i32", "i64")]
    if not paths:
        return None
    if len(paths) != 1:
        fail(f"ambiguous message type {ty!r} in {module}")
    parts = paths[0].split("::")
    base = list(module)
    while parts and parts[0] == "super":
        parts.pop(0)
        base.pop()
    return (tuple(base + parts[:-1]), parts[-1])


def parse_attr(attr: str) -> tuple[str, bool, str | None, int]:
    tag = int(re.search(r'tag\s*=\s*"(\d+)"', attr).group(1))
    m = re.match(r'btree_map\s*=\s*"string,\s*(\w+)"', attr)
    if m:
        return "map", False, m.group(1), tag
    kind = re.match(r"(\w+)", attr).group(1)
    return kind, bool(re.search(r"\brepeated\b", attr)), None, tag


def parse_struct_body(module: tuple, body: str, st: PbStruct) -> None:
    attr_re = re.compile(r"#\[prost\((.*?)\)\]\s*pub\s+(?:r#)?(\w+)\s*:\s*", re.S)
    pos = 0
    while m := attr_re.search(body, pos):
        ty, rest = split_type(body[m.end() :])
        pos = len(body) - len(rest)
        kind, repeated, map_value, tag = parse_attr(m.group(1))
        needs_ref = kind == "message" or map_value == "message"
        ref = resolve_ref(module, ty) if needs_ref else None
        st.fields.append(PbField(m.group(2), tag, kind, repeated, map_value, ref))


def parse_pb(src: str) -> dict[tuple, PbStruct]:
    structs: dict[tuple, PbStruct] = {}
    for path in sorted(glob.glob(os.path.join(src, "**", "mod.rs"), recursive=True)):
        module = tuple(os.path.relpath(os.path.dirname(path), src).split(os.sep))
        lines = open(path, encoding="utf-8").read().split("\n")
        body: list[str] | None = None
        for line in lines:
            if body is None:
                m = re.match(r"pub struct (\w+) \{$", line)
                if m:
                    st, body = PbStruct(module, m.group(1)), []
            elif line == "}":
                parse_struct_body(module, "\n".join(body), st)
                structs[(module, st.rust)] = st
                body = None
            elif not line.lstrip().startswith("///"):
                body.append(line)
    return structs


# --------------------------------------------------------------------------
# k8s-openapi: original message names and JSON keys


@dataclass
class ApiStruct:
    package: str  # proto package, e.g. k8s.io.api.core.v1
    name: str  # message name, e.g. TCPSocketAction
    json_keys: list[str]


def parse_openapi(src: str) -> dict[tuple, ApiStruct]:
    """Keyed by (proto package, normalised name)."""
    out: dict[tuple, ApiStruct] = {}
    for path in sorted(glob.glob(os.path.join(src, "**", "*.rs"), recursive=True)):
        text = open(path, encoding="utf-8").read()
        m = re.match(r"// Generated from definition io\.k8s\.(\S+)\.(\w+)\n", text)
        if not m:
            continue
        package = "k8s.io." + m.group(1)
        keys = re.findall(r'^\s*"([^"]+)" => Field::Key_\w+,$', text, re.M)
        out[(package, norm(m.group(2)))] = ApiStruct(package, m.group(2), keys)
    return out


# --------------------------------------------------------------------------
# kubectl: Go struct tags and field types from the runtime type metadata


@dataclass
class GoField:
    json: str  # "" for ,inline
    omitempty: bool
    pointer: bool
    scalar: bool  # bool/int/uint/float/string/[]byte: affected by omitempty


class GoBinary:
    """Minimal reader of Go (1.2x, amd64) runtime type descriptors."""

    KIND_PTR, KIND_SLICE, KIND_ARRAY, KIND_MAP, KIND_STRUCT = 22, 23, 17, 21, 25
    SCALAR_KINDS = set(range(1, 17)) | {24}  # bool..complex128, string

    def __init__(self, path: str):
        self.data = open(path, "rb").read()
        if self.data[:4] != b"\x7fELF":
            fail(f"{path} is not an ELF binary")
        self.sections = self._sections()
        rodata = self.sections[".rodata"]
        self.types_base = rodata[0]

    def _sections(self) -> dict[str, tuple[int, int, int]]:
        d = self.data
        shoff = struct.unpack_from("<Q", d, 0x28)[0]
        entsize, num, strndx = struct.unpack_from("<HHH", d, 0x3A)
        raw = [struct.unpack_from("<IIQQQQ", d, shoff + i * entsize) for i in range(num)]
        stroff = raw[strndx][4]
        out = {}
        for name, typ, _flags, addr, off, size in raw:
            end = d.index(b"\0", stroff + name)
            if typ != 8:  # skip NOBITS
                out[d[stroff + name : end].decode()] = (addr, off, size)
        return out

    def off(self, addr: int) -> int:
        for start, off, size in self.sections.values():
            if start and start <= addr < start + size:
                return off + addr - start
        raise ValueError(f"address {addr:#x} outside the binary")

    def u64(self, addr: int) -> int:
        return struct.unpack_from("<Q", self.data, self.off(addr))[0]

    def name(self, addr: int) -> tuple[str, str]:
        """Decodes a runtime name: (name, tag)."""
        o = self.off(addr)
        flags = self.data[o]
        n, o = self._varint(o + 1)
        text = self.data[o : o + n].decode("utf-8", "replace")
        tag = ""
        if flags & 2:
            tn, o2 = self._varint(o + n)
            tag = self.data[o2 : o2 + tn].decode("utf-8", "replace")
        return text, tag

    def _varint(self, o: int) -> tuple[int, int]:
        result = shift = 0
        while True:
            b = self.data[o]
            o += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result, o

    def kind(self, t: int) -> int:
        return self.data[self.off(t) + 23] & 0x1F

    def type_name(self, t: int) -> str:
        o = self.off(t)
        name_off = struct.unpack_from("<i", self.data, o + 40)[0]
        text = self.name(self.types_base + name_off)[0]
        return text[1:] if self.data[o + 20] & 2 else text

    def pkg_path(self, t: int) -> str:
        if not self.data[self.off(t) + 20] & 1:  # no uncommon type
            return ""
        path_off = struct.unpack_from("<i", self.data, self.off(t + 80))[0]
        return self.name(self.types_base + path_off)[0]

    def structs(self):
        """Yields (pkg path, type name, [(field name, tag, type)]) of all
        struct types reachable from the type links."""
        addr, off, size = self.sections[".typelink"]
        links = struct.unpack_from(f"<{size // 4}i", self.data, off)
        stack = [self.types_base + x for x in links]
        seen = set()
        while stack:
            t = stack.pop()
            if t in seen:
                continue
            seen.add(t)
            k = self.kind(t)
            if k in (self.KIND_PTR, self.KIND_SLICE, self.KIND_ARRAY):
                stack.append(self.u64(t + 48))
            elif k == self.KIND_MAP:
                stack += [self.u64(t + 48), self.u64(t + 56)]
            elif k == self.KIND_STRUCT:
                fields = self._fields(t)
                stack += [ft for _, _, ft in fields]
                yield self.pkg_path(t), self.type_name(t), fields

    def _fields(self, t: int) -> list[tuple[str, str, int]]:
        ptr, count = self.u64(t + 56), self.u64(t + 64)
        out = []
        for i in range(count):
            name, tag = self.name(self.u64(ptr + i * 24))
            out.append((name, tag, self.u64(ptr + i * 24 + 8)))
        return out

    def go_field(self, tag: str, ft: int) -> GoField:
        json_tag = re.search(r'json:"([^"]*)"', tag).group(1).split(",")
        k = self.kind(ft)
        scalar = k in self.SCALAR_KINDS or (
            k == self.KIND_SLICE and self.type_name(ft) == "[]uint8"
        )
        return GoField(
            json=json_tag[0],
            omitempty="omitempty" in json_tag[1:],
            pointer=k == self.KIND_PTR,
            scalar=scalar,
        )


def parse_go(path: str) -> dict[str, dict[int, GoField]]:
    """Proto message full name -> field number -> Go field facts."""
    go = GoBinary(path)
    out: dict[str, dict[int, GoField]] = {}
    for pkg, tname, fields in go.structs():
        if not (pkg.startswith("k8s.io/api/") or pkg.startswith("k8s.io/apimachinery/")):
            continue
        message = pkg.replace("/", ".") + "." + tname.rsplit(".", 1)[-1]
        by_tag = {}
        for _name, tag, ft in fields:
            m = re.search(r'protobuf:"\w+,(\d+),', tag)
            if m and 'json:"' in tag:
                by_tag[int(m.group(1))] = go.go_field(tag, ft)
        out[message] = by_tag
    return out


# --------------------------------------------------------------------------
# schema assembly


@dataclass
class Field:
    tag: int
    json: str
    shape: str  # One|Rep|Map|Inline
    ty: str  # Rust Ty expression, or message name for Inline
    omit_zero: bool = False


@dataclass
class Report:
    acronyms: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)
    fallback: list[str] = field(default_factory=list)
    not_in_go: list[str] = field(default_factory=list)


class Builder:
    def __init__(self, pb, api, go):
        self.pb, self.api, self.go = pb, api, go
        self.by_full: dict[str, PbStruct] = {}
        self.full_of: dict[tuple, str] = {}
        for key, st in pb.items():
            package = "k8s.io." + ".".join(st.module)
            found = api.get((package, norm(st.rust)))
            full = f"{package}.{found.name if found else st.rust}"
            self.by_full[full] = st
            self.full_of[key] = full
        self.report = Report()

    def api_keys(self, full: str) -> list[str]:
        """JSON keys of a message; for a message with no OpenAPI definition
        of its own (one that is only ever inlined, like VolumeSource), the
        keys of the definitions embedding it."""
        package, name = full.rsplit(".", 1)
        found = self.api.get((package, norm(name)))
        if found:
            return found.json_keys
        keys: list[str] = []
        for parent, st in self.by_full.items():
            api = self.api.get((parent.rsplit(".", 1)[0], norm(st.rust)))
            for f in st.fields:
                embeds = f.kind == "message" and not f.repeated
                if api and embeds and self.full_of.get(f.ref) == full:
                    if norm(f.rust) not in {norm(k) for k in api.json_keys}:
                        keys += api.json_keys
        return keys

    def ty_of(self, f: PbField, kind: str) -> tuple[str, str | None]:
        """Returns (Rust Ty expression, referenced ordinary message or None)."""
        if kind != "message":
            if kind not in SCALARS:
                fail(f"unsupported field type {kind} ({f.rust})")
            return SCALARS[kind], None
        target = self.full_of.get(f.ref)
        if target is None:
            fail(f"unresolved message type {f.ref}")
        if target in SPECIAL:
            return SPECIAL[target][0], None
        return f'Msg("{target}")', target

    def json_name(self, full: str, f: PbField) -> str | None:
        keys = self.api_keys(full)
        matches = [k for k in keys if norm(k) == norm(f.rust)]
        if len(matches) == 1:
            return matches[0]
        if f.kind == "message" and not f.repeated:
            return None  # maybe inline, decided by the caller
        return self.fallback(full, f)

    def fallback(self, full: str, f: PbField) -> str:
        name = lower_camel(f.rust)
        self.report.fallback.append(f"{full}.{name}")
        return name

    def is_inline(self, full: str, f: PbField) -> bool:
        target = self.full_of.get(f.ref)
        if target is None or target in SPECIAL:
            return False
        parent = {norm(k) for k in self.api_keys(full)}
        sub = self.by_full[target].fields
        return bool(sub) and all(norm(s.rust) in parent for s in sub)

    def build_field(self, full: str, f: PbField) -> tuple[Field, str | None]:
        if f.kind == "map":
            ty, ref = self.ty_of(f, f.map_value)
            return Field(f.tag, self.json_name(full, f), "Map", ty), ref
        ty, ref = self.ty_of(f, f.kind)
        json = self.json_name(full, f)
        if json is None:
            if self.is_inline(full, f):
                self.report.inline.append(f"{full}.{f.rust} -> {ref}")
                return Field(f.tag, "", "Inline", ref), ref
            json = self.fallback(full, f)
        self.note_name(full, f, json)
        return Field(f.tag, json, "Rep" if f.repeated else "One", ty), ref

    def note_name(self, full: str, f: PbField, json: str) -> None:
        camel = lower_camel(f.rust)
        if json != camel:
            self.report.acronyms.append(f"{full.rsplit('.', 1)[1]}.{json} (prost {f.rust})")
        if f.rust in ("type", "ref", "continue", "override"):
            self.report.keywords.append(f"{full.rsplit('.', 1)[1]}.{json} (r#{f.rust})")

    def check_special(self, full: str) -> None:
        want = SPECIAL[full][1]
        have = [(f.tag, f.kind) for f in self.by_full[full].fields]
        if have != want:
            fail(f"{full}: wire layout {have} differs from the decoder's {want}")

    def build(self) -> dict[str, list[Field]]:
        out: dict[str, list[Field]] = {}
        todo = [r[3] for r in ROOTS]
        while todo:
            full = todo.pop()
            if full in out:
                continue
            if full not in self.by_full:
                fail(f"message {full} not found in {PB_CRATE}")
            fields = []
            for f in sorted(self.by_full[full].fields, key=lambda f: f.tag):
                built, ref = self.build_field(full, f)
                fields.append(built)
                if ref:
                    todo.append(ref)
            out[full] = fields
        for full in {self.full_of[st] for st in self.pb} & SPECIAL.keys():
            self.check_special(full)
        return out

    def apply_go(self, schema: dict[str, list[Field]]) -> list[str]:
        """Sets omit_zero from Go; returns mismatches (fatal)."""
        errors = []
        for full, fields in schema.items():
            go = self.go.get(full)
            if go is None:
                self.report.not_in_go.append(f"{full} (whole message)")
                continue
            for f in fields:
                g = go.get(f.tag)
                if g is None:
                    self.report.not_in_go.append(f"{full}.{f.json or f.ty}")
                    continue
                if g.json != f.json:
                    errors.append(f"{full} field {f.tag}: json {f.json!r}, Go says {g.json!r}")
                f.omit_zero = f.shape == "One" and g.scalar and g.omitempty and not g.pointer
        return errors


# --------------------------------------------------------------------------
# output

HEADER = """\
// generated by sim/tools/gen_protobuf_schema.py from k8s-pb 0.9.0 and k8s-openapi 0.29.0; do not edit
// (omit-zero flags: Go struct tags and field types of kubectl {kubectl})
//! Field table of the Kubernetes protobuf messages the decoder understands.
//
// `f` = field kept as decoded; `z` = non-pointer Go `omitempty` scalar whose
// zero value is dropped, as Go's JSON encoder would.

use super::Shape::{{{shapes}}};
use super::Ty::*;
use super::{{{items}}};
"""


def render(schema: dict[str, list[Field]], kubectl_version: str) -> str:
    used = [f for fields in schema.values() for f in fields]
    shapes = ", ".join(sorted({f.shape for f in used}))
    makers = sorted({"z" if f.omit_zero else "f" for f in used})
    items = ", ".join(["Message"] + makers)
    out = [HEADER.format(kubectl=kubectl_version, shapes=shapes, items=items)]
    out.append("/// Kinds accepted as top-level objects: (group, version, kind, message).")
    out.append("#[rustfmt::skip]")
    out.append("pub(super) static ROOTS: &[(&str, &str, &str, &str)] = &[")
    for g, v, k, m in sorted(ROOTS):
        out.append(f'    ("{g}", "{v}", "{k}", "{m}"),')
    out.append("];\n")
    out.append(f"/// {len(schema)} messages, sorted by name (binary-searched).")
    out.append("#[rustfmt::skip]")
    out.append("pub(super) static MESSAGES: &[Message] = &[")
    for full in sorted(schema):
        out.append(f'    Message {{ name: "{full}", fields: &[')
        for f in schema[full]:
            fn = "z" if f.omit_zero else "f"
            shape = f'Inline("{f.ty}")' if f.shape == "Inline" else f"{f.shape}({f.ty})"
            out.append(f'        {fn}({f.tag}, "{f.json}", {shape}),')
        out.append("    ] },")
    out.append("];")
    return "\n".join(out) + "\n"


def kubectl_version(path: str) -> str:
    data = open(path, "rb").read()
    m = re.search(rb"k8s\.io/client-go/pkg/version\.gitVersion=(v[\w.\-+]+)", data)
    if m:
        return m.group(1).decode()
    m = re.search(rb"\x00(v1\.\d+\.\d+)\x00", data)
    return m.group(1).decode() if m else os.path.basename(path)


def find_crate(registry: str | None, name: str) -> str:
    pattern = os.path.join(
        registry or os.path.expanduser("~/.cargo/registry/src/*"), name
    )
    found = sorted(glob.glob(pattern))
    if not found:
        fail(f"{name} not found ({pattern}); run `cargo fetch` for it first")
    return found[0]


def print_report(schema, report: Report) -> None:
    def show(title, items):
        print(f"{title}: {len(items)}", file=sys.stderr)
        for item in sorted(set(items)):
            print(f"    {item}", file=sys.stderr)

    fields = sum(len(v) for v in schema.values())
    omit = sum(f.omit_zero for v in schema.values() for f in v)
    print(f"{len(schema)} messages, {fields} fields ({omit} omit-zero)", file=sys.stderr)
    show("json names differing from prost's lowerCamelCase", report.acronyms)
    show("raw-identifier fields", report.keywords)
    show("inline (embedded) fields", report.inline)
    show("json names guessed (no k8s-openapi key)", report.fallback)
    show("fields unknown to kubectl's Go types (zeros kept)", report.not_in_go)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--registry", help="cargo registry src dir holding the crates")
    ap.add_argument("--kubectl", default=DEFAULT_KUBECTL, help="kubectl ELF binary")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "src", "protobuf", "schema.rs"))
    ap.add_argument("--check", action="store_true", help="fail if --out is stale")
    args = ap.parse_args()

    pb = parse_pb(os.path.join(find_crate(args.registry, PB_CRATE), "src"))
    api_src = os.path.join(find_crate(args.registry, OPENAPI_CRATE), "src", OPENAPI_VERSION_DIR)
    api = parse_openapi(api_src)
    if not os.path.exists(args.kubectl):
        fail(f"kubectl binary {args.kubectl} not found (use --kubectl)")
    builder = Builder(pb, api, parse_go(args.kubectl))
    schema = builder.build()
    errors = builder.apply_go(schema)
    if errors:
        fail("Go type cross-check failed:\n  " + "\n  ".join(errors))
    print_report(schema, builder.report)
    text = render(schema, kubectl_version(args.kubectl))
    if args.check:
        current = open(args.out, encoding="utf-8").read() if os.path.exists(args.out) else ""
        if current != text:
            fail(f"{args.out} is stale; rerun without --check")
        return
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
