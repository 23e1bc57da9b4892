"""What the infra tests know of the Swift code, read from the sources by this one reader: the AWS
services and the operations their clients call, the operations each function can reach, and the
environment variables each function reads.

A small static reading of the code, enough for this project's style, not a Swift compiler. Where
the code no longer has the shape it expects (a configuration built another way, an environment read
without an `EnvironmentReader`), it fails saying which shape it looked for and where.

Operations: it finds the types and their methods, and follows calls from a function's entry point
(`Functions.<entry>()` in Sources/<product>/main.swift) through the methods it can reach, to the
service clients' `client.json(.service, "Operation", …)` and `client.rest(.s3, "Operation", …)`.

A call's receiver is resolved by its declared type where the code names one (a stored property,
a parameter, `let x = Type(…)`, `Type(…).method`); through a protocol it reaches every
conforming type's method of that name. A receiver whose type cannot be read reaches every
non-private method of that name: the reading errs towards more operations, never fewer, so a
policy that passes lacks nothing the code can call. The runtime reaches `handle` of each
`LambdaHandler` the entry point builds.

Environment: the configuration type the entry point builds, every `EnvironmentReader` it holds
(whatever the variable is called) and the names it is asked for, the control's threshold variable,
and the configuration types the reader is handed on to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

TYPE_DECLARATION = re.compile(r"\b(struct|class|enum|protocol|extension|actor)\s+([A-Za-z_][\w.]*)([^{;]*)\{")
FUNC_DECLARATION = re.compile(r"((?:\b(?:private|fileprivate)\s+)?)((?:\b\w+\s+)*?)\bfunc\s+(\w+)")
MEMBER = re.compile(r"(\w+|\))?\s*\.\s*(\w+)\s*(\()?")
BARE_CALL = re.compile(r"(?<![.\w])(\w+)\s*\(")
TYPED_NAME = re.compile(r"\b(\w+)\s*:\s*(?:inout\s+)?(?:@\w+\s+)*(?:any\s+|some\s+)?([A-Z]\w*)")
CONSTRUCTED = re.compile(r"\b(?:let|var)\s+(\w+)\s*=\s*(?:try\s+)?(?:await\s+)?([A-Z]\w*)\s*\(")
OPERATION = re.compile(r'client\.(?:json|rest|restJSON|query)\(\s*\.(\w+)\s*,\s*"(\w+)"')
PROTOCOL_CALL = re.compile(r'client\.(json|rest|restJSON|query)\(\s*\.(\w+)\s*,\s*"(\w+)"')
SERVICE = re.compile(r'static\s+let\s+(\w+)\s*=\s*AWSService\(\s*id:\s*"([A-Z0-9_]+)"')
ENTRY_CALL = re.compile(r"\bFunctions\.(\w+)\((?:\.(\w+))?\)")
CONFIGURATION_BUILT = re.compile(r"\b([A-Z]\w*Configuration)\s*\(")
ENVIRONMENT_READER = "EnvironmentReader"
ENVIRONMENT_SUBSCRIPT = re.compile(r'environment\["([A-Za-z0-9_]+)"\]')
SWIFT_KEYWORDS = {"case", "return", "try", "await", "in", "throw", "else", "if", "guard", "where", "let", "var", "is", "as"}


def blank_comments_and_strings(text: str, strings: bool = True) -> str:
    """`text` with comments and (unless `strings` is false) string literal contents replaced by
    spaces, offsets unchanged, so braces and parentheses inside them do not count."""
    out, i, n = list(text), 0, len(text)

    def blank(start: int, end: int) -> None:
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
        elif text[i] == '"' or (text[i] == "#" and text.startswith('#"', i)):
            hashes = 0
            while text[i + hashes] == "#":
                hashes += 1
            quote = '"""' if text.startswith('"""', i + hashes) else '"'
            start = i + hashes + len(quote)
            closing = quote + "#" * hashes
            j = start
            while j < n and not text.startswith(closing, j):
                j += 2 if text[j] == "\\" and not hashes else 1
            if strings:
                blank(start, j)
            i = j + len(closing)
        else:
            i += 1
    return "".join(out)


def matching(text: str, open_at: int, pair: str = "{}") -> int:
    """The offset of the bracket that closes the one at `open_at`."""
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == pair[0]:
            depth += 1
        elif text[k] == pair[1]:
            depth -= 1
            if depth == 0:
                return k
    raise ValueError(f"unbalanced {pair} from offset {open_at}")


def opening_of(text: str, close_at: int) -> int:
    """The offset of the parenthesis that the one at `close_at` closes."""
    depth = 0
    for k in range(close_at, -1, -1):
        depth += {")": 1, "(": -1}.get(text[k], 0)
        if depth == 0:
            return k
    raise ValueError(f"unbalanced () before offset {close_at}")


@dataclass
class TypeInfo:
    name: str
    kind: str
    conforms: set[str] = field(default_factory=set)
    variables: dict[str, str] = field(default_factory=dict)
    # Its declarations' bodies, comments blanked and string literals kept (extensions included).
    sources: list[str] = field(default_factory=list)


@dataclass
class Method:
    type: str | None
    name: str
    private: bool
    static: bool
    signature: str
    body: str
    raw_body: str


@dataclass
class Program:
    types: dict[str, TypeInfo] = field(default_factory=dict)
    methods: list[Method] = field(default_factory=list)

    def add_file(self, raw: str) -> None:
        text = blank_comments_and_strings(raw)
        uncommented = blank_comments_and_strings(raw, strings=False)
        spans = []  # (open, close, type name, kind)
        for match in TYPE_DECLARATION.finditer(text):
            kind, name, header = match.group(1), match.group(2).split(".")[-1], match.group(3)
            header = re.sub(r"\bwhere\b.*", "", header, flags=re.S)
            open_at = match.end() - 1
            spans.append((open_at, matching(text, open_at), name, kind))
            info = self.types.setdefault(name, TypeInfo(name, kind))
            if kind != "extension":
                info.kind = kind
            if header.strip().startswith(":"):
                info.conforms |= {part.strip().split("<")[0] for part in header.strip()[1:].split(",") if part.strip()}
            body = text[open_at:spans[-1][1]]
            info.variables.update(dict(TYPED_NAME.findall(body)))
            info.sources.append(uncommented[open_at:spans[-1][1]])

        def enclosing(offset: int):
            inside = [s for s in spans if s[0] < offset < s[1]]
            return min(inside, key=lambda s: s[1] - s[0]) if inside else None

        for match in FUNC_DECLARATION.finditer(text):
            owner = enclosing(match.start())
            if owner and owner[3] == "protocol":
                continue  # a requirement, no body (a protocol extension's methods have one)
            k, depth = match.end(), 0
            while k < len(text) and not (text[k] == "{" and depth == 0):
                depth += {"(": 1, ")": -1}.get(text[k], 0)
                k += 1
            end = matching(text, k)
            self.methods.append(Method(
                type=owner[2] if owner else None, name=match.group(3), private=bool(match.group(1).strip()),
                static="static" in match.group(2).split(),
                signature=text[match.end():k], body=text[k:end], raw_body=raw[k:end]))

    # --- resolution
    def conforming(self, protocol: str) -> set[str]:
        found, frontier = {protocol}, [protocol]
        while frontier:
            current = frontier.pop()
            for info in self.types.values():
                if current in info.conforms and info.name not in found:
                    found.add(info.name)
                    frontier.append(info.name)
        return found

    def named(self, name: str, types: set[str] | None = None, include_private: bool = True) -> list[Method]:
        return [m for m in self.methods if m.name == name and (types is None or m.type in types)
                and (include_private or not m.private)]

    def on_type(self, type_name: str, name: str) -> list[Method]:
        """`name` on a value of `type_name`: its own, or, for a protocol, any conforming type's."""
        return self.named(name, self.conforming(type_name))

    def variable_type(self, method: Method, variable: str) -> str | None:
        scope = dict(TYPED_NAME.findall(method.signature))
        scope.update(CONSTRUCTED.findall(method.body))
        if variable in scope:
            return scope[variable]
        owner = self.types.get(method.type or "")
        return owner.variables.get(variable) if owner else None

    def callees(self, method: Method) -> list[Method]:
        found: list[Method] = []
        body = method.body
        for match in MEMBER.finditer(body):
            receiver, name, is_call = match.group(1), match.group(2), match.group(3)
            receiver_type = None
            if receiver in SWIFT_KEYWORDS:
                receiver = None  # `case .run(`, `return .summary(`: a leading dot, no receiver
            if receiver in ("self", "Self"):
                receiver_type = method.type
            elif receiver == ")":  # `Type(…).name`: the type whose value the parentheses make
                before = re.search(r"(\w+)\s*$", body[:opening_of(body, match.start(1))])
                if before and before.group(1) in self.types:
                    receiver_type = before.group(1)
            elif receiver and receiver in self.types:
                receiver_type = receiver
            elif receiver:
                receiver_type = self.variable_type(method, receiver)
            if receiver_type:
                found += self.on_type(receiver_type, name)
            elif is_call and receiver is None:
                # `.name(…)` with a leading dot is an enum case or a static member of a type the
                # context implies: never an instance method.
                found += [m for m in self.named(name, include_private=False) if m.static]
            elif is_call:
                found += self.named(name, include_private=False)
        for match in BARE_CALL.finditer(body):
            name = match.group(1)
            # Its own type's method; in a protocol extension, any conforming type's.
            own = self.on_type(method.type, name) if method.type else []
            if own:
                found += own
            elif name in self.types and "LambdaHandler" in self.types[name].conforms:
                found += self.on_type(name, "handle")  # what the runtime calls on it
            else:
                found += [m for m in self.named(name) if m.type is None]
        return found

    def operations_from(self, roots: list[Method]) -> set[tuple[str, str]]:
        seen, frontier, operations = set(), list(roots), set()
        while frontier:
            method = frontier.pop()
            if id(method) in seen:
                continue
            seen.add(id(method))
            operations |= set(OPERATION.findall(method.raw_body))
            frontier += self.callees(method)
        return operations


def read_program(sources: Path) -> Program:
    program = Program()
    for folder in ("Compliance", "AWSAdapters", "AWSClient/Services", "FunctionSupport"):
        for path in sorted((sources / folder).glob("*.swift")):
            program.add_file(path.read_text())
    return program


# --- services and operations ---------------------------------------------------------------------

def service_ids(sources: Path) -> dict[str, str]:
    """AWSService's cases (`dynamoDB`) and their ids (`DYNAMODB`), from AWSService.swift."""
    ids = dict(SERVICE.findall((sources / "AWSClient" / "AWSService.swift").read_text()))
    assert ids, "no `static let <case> = AWSService(id: \"…\")` in Sources/AWSClient/AWSService.swift"
    return ids


def client_operations(sources: Path) -> set[tuple[str, str, str]]:
    """Every (protocol, AWSService case, operation) some client in Sources/AWSClient/Services calls."""
    found = set()
    for path in sorted((sources / "AWSClient" / "Services").glob("*.swift")):
        found |= set(PROTOCOL_CALL.findall(blank_comments_and_strings(path.read_text(), strings=False)))
    return found


def entry_points(sources: Path, products: list[str]) -> dict[str, tuple[str, str | None]]:
    """Each product's `Functions.<entry>(.<control>)` call in its main.swift."""
    found = {}
    for product in products:
        calls = ENTRY_CALL.findall((sources / product / "main.swift").read_text())
        assert len(calls) == 1, f"Sources/{product}/main.swift should call one Functions entry point, found {calls}"
        entry, control = calls[0]
        found[product] = (entry, control or None)
    return found


def operations_by_product(sources: Path, products: list[str]) -> dict[str, set[tuple[str, str]]]:
    """Each product's reachable operations, as (AWSService case, operation name)."""
    program = read_program(sources)
    result = {}
    for product, (entry, _) in entry_points(sources, products).items():
        roots = program.named(entry, {"Functions"})
        assert roots, f"no Functions.{entry} in Sources/FunctionSupport"
        result[product] = program.operations_from(roots)
    return result


# --- environment variables -----------------------------------------------------------------------

def environment_readers(text: str) -> set[str]:
    """The names the text gives its `EnvironmentReader`s, as parameters, properties or locals."""
    typed = {name for name, type_name in TYPED_NAME.findall(text) if type_name == ENVIRONMENT_READER}
    built = {name for name, type_name in CONSTRUCTED.findall(text) if type_name == ENVIRONMENT_READER}
    return typed | built


def names_asked_of(reader: str, text: str) -> set[str]:
    """Every variable name `reader.<method>("NAME"…)` asks for, and IDENTITY_STORE_ID for
    `reader.identityStoreId()`."""
    names = set(re.findall(rf'\b{reader}\s*\.\s*\w+\(\s*"([A-Z0-9_]+)"', text))
    if re.search(rf"\b{reader}\s*\.\s*identityStoreId\(\s*\)", text):
        names.add("IDENTITY_STORE_ID")
    return names


def threshold_variables(program: Program) -> dict[str, str]:
    """Control case -> its threshold variable, from `Control.thresholdVariable`."""
    for text in program.types.get("Control", TypeInfo("Control", "enum")).sources:
        match = re.search(r"\bvar\s+thresholdVariable\b[^{]*\{", text)
        if match:
            body = text[match.end() - 1:matching(blank_comments_and_strings(text), match.end() - 1) + 1]
            return dict(re.findall(r'case\s+\.(\w+)\s*:\s*"([A-Z0-9_]+)"', body))
    raise AssertionError("no `var thresholdVariable` in enum Control: where does each control name its threshold variable now?")


def variables_read_by(program: Program, type_name: str, control: str | None, seen: frozenset = frozenset()) -> set[str]:
    """The variables `type_name` reads through its `EnvironmentReader`s, and through the types it
    hands a reader to (`Nested(reader)`)."""
    info = program.types.get(type_name)
    assert info and info.sources, f"configuration type {type_name} not found in the Swift sources"
    text = "\n".join(info.sources)
    readers = environment_readers(text)
    assert readers, (f"{type_name} holds no {ENVIRONMENT_READER}: the infra tests read a configuration's variables "
                     f"from the calls on its {ENVIRONMENT_READER}, so read the environment through one")
    names: set[str] = set()
    for reader in readers:
        names |= names_asked_of(reader, text)
        for nested in set(re.findall(rf"\b([A-Z]\w+)\(\s*(?:\w+\s*:\s*)?{reader}\s*\)", text)) - seen - {ENVIRONMENT_READER}:
            names |= variables_read_by(program, nested, control, seen | {type_name})
    if re.search(r"\bcontrol\s*\.\s*thresholdVariable\b", text):
        assert control, f"{type_name} reads a control's threshold, but its product's entry point names no control"
        names.add(threshold_variables(program)[control])
    return names


def environment_by_product(sources: Path, products: list[str]) -> dict[str, set[str]]:
    """Each product's variables: main.swift -> its Functions entry point -> the configuration type
    that entry point builds -> what that configuration reads."""
    program = read_program(sources)
    result = {}
    for product, (entry, control) in entry_points(sources, products).items():
        roots = program.named(entry, {"Functions"})
        assert roots, f"no Functions.{entry} in Sources/FunctionSupport"
        built = {name for root in roots for name in CONFIGURATION_BUILT.findall(root.body)}
        assert len(built) == 1, (f"Functions.{entry} should build one <Name>Configuration from the environment, "
                                 f"found {sorted(built)}")
        result[product] = variables_read_by(program, built.pop(), control)
    return result


def environment_read_anywhere(sources: Path) -> set[str]:
    """Every variable any Swift source reads through an `EnvironmentReader` or an
    `environment["NAME"]` subscript, and every control's threshold variable."""
    names: set[str] = set()
    for path in sorted(sources.rglob("*.swift")):
        text = blank_comments_and_strings(path.read_text(), strings=False)
        for reader in environment_readers(text):
            names |= names_asked_of(reader, text)
        names |= set(ENVIRONMENT_SUBSCRIPT.findall(text))
    return names | set(threshold_variables(read_program(sources)).values())
