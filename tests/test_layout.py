"""The house's structure, checked: packages import each other one way only (function-level
imports included), each rule of SPEC §3 has one definition (a second one appearing fails
here), and only the clock says what time it is."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from reception.cases import workflow
from reception.cases.delivery import METHODS
from reception.documents.kinds import KIND_CODES, KINDS

SRC = Path(__file__).resolve().parent.parent / "src" / "reception"


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        out[".".join(rel.parts).removesuffix(".__init__")] = (path, ast.parse(path.read_text()))
    return out


MODULES = _modules()


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(tree: ast.Module) -> list[str]:
    """Every reception module a file imports, at the top or inside a function."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "reception":
                out += [f"reception.{a.name}" for a in node.names]
            else:
                out.append(node.module)
    return [m for m in out if m.startswith("reception.")]


def test_packages_import_each_other_one_way_only() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for module, (path, tree) in MODULES.items():
        for target in _imports(tree):
            a, b = _package(module), _package(target)
            if a != b:
                edges[a].add(b)
                where.setdefault((a, b), f"{path.relative_to(SRC)} imports {target}")
    both = sorted(
        f"{a} <-> {b}: {where[(a, b)]}; {where[(b, a)]}"
        for a in edges
        for b in edges[a]
        if a < b and a in edges.get(b, set())
    )
    assert not both, both
    # Not vacuous: the graph is there (cases builds on org, scheduling on cases …).
    assert {"org", "workcal"} <= edges["cases"] and "cases" in edges["scheduling"]


def _sources() -> dict[str, str]:
    return {str(path.relative_to(SRC)): path.read_text() for path, _ in MODULES.values()}


SOURCES = _sources()


def _only_in(pattern: str, allowed: set[str]) -> list[str]:
    found = re.compile(pattern)
    return sorted(
        f"{name}:{i}"
        for name, text in SOURCES.items()
        if name not in allowed
        for i, line in enumerate(text.splitlines(), start=1)
        if found.search(line) and not line.lstrip().startswith("#")
    )


def test_overdue_is_decided_in_the_workflow_only() -> None:
    # A due date compared with "today" or an as-of day is the overdue rule.
    assert _only_in(r"current_due\s*<=?\s*(today|as_of|day\b)", {"cases/workflow.py"}) == []


def test_the_unit_subtree_is_decided_in_org_access_only() -> None:
    unit_path = r"(unit_path|\bu\.path|unit\.path|\.unit_path)\)?\.startswith\("
    assert _only_in(unit_path, {"org/access.py", "expr.py"}) == []
    assert _only_in(r"\.role\s*==\s*\"clerk\".*(subtree|path)", {"org/access.py"}) == []


def test_what_an_appointment_status_means_is_decided_in_scheduling_rules_only() -> None:
    pattern = (
        r"(Appointment\.status\)?|\ba\.status|A\.c\.status)\s*[!=]=\s*\"cancelled\""
        r"|\"booked\",\s*\"checked_in\"|\"checked_in\",\s*\"completed\""
    )
    assert _only_in(pattern, {"scheduling/rules.py"}) == []


def test_who_sees_whole_values_is_the_privacy_policy() -> None:
    # An admin's exception is the policy's (and the feeds' own list of feeds).
    assert _only_in(r"\.is_admin\b", {"privacy.py", "auth.py", "feeds/tokens.py"}) == []


def test_the_review_request_window_is_a_clock_rule() -> None:
    assert _only_in(r"timedelta\(days=30\)", set()) == []


def test_the_as_of_day_is_decided_once() -> None:
    assert _only_in(r"\bas_of or \b", {"cases/workflow.py"}) == []


def test_a_savepoint_is_opened_in_one_place() -> None:
    # db.flush_refused; the two previews that try an import and roll it back.
    allowed = {"db.py", "workcal/pages.py", "scheduling/rule_pages.py"}
    assert _only_in(r"begin_nested\(", allowed) == []
    assert _only_in(r"except IntegrityError", {"db.py"}) == []


def test_only_the_clock_reads_the_time() -> None:
    # The wall clock: the SystemClock, and the signatures of webhooks and robots.
    allowed = {"context.py", "notify/worker.py"}
    assert _only_in(r"datetime\.now\(|time\.time\(\)|date\.today\(\)", allowed) == []
    assert _only_in(r"\butcnow\b", set()) == []


def _sequences_with(members: set[str]) -> list[str]:
    """Places where every member of a vocabulary is written out in one literal."""
    out = []
    for path, tree in MODULES.values():
        # A Literal[…]'s tuple is the Literal itself: one place, not two.
        slices = {id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript)}
        for node in ast.walk(tree):
            elements: list[ast.expr] = []
            if id(node) in slices:
                continue
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                elements = list(node.elts)
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
                elements = list(node.slice.elts)
            strings = {e.value for e in elements if isinstance(e, ast.Constant)}
            if members <= strings:
                out.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return out


def test_each_vocabulary_is_written_out_once() -> None:
    """Stages, channels, sources, delivery methods and notice kinds are named in one
    Literal each; tables, bodies and labels take them from there."""
    for members, home in [
        (set(workflow.STAGES), "cases/workflow.py"),
        (set(workflow.CHANNELS), "cases/workflow.py"),
        (set(workflow.SATISFACTION), "cases/workflow.py"),
        (set(METHODS), "cases/delivery.py"),
        (set(KIND_CODES), "documents/kinds.py"),
    ]:
        places = _sequences_with(members)
        assert len(places) == 1 and places[0].startswith(home), (members, places)
    # The label tables cover exactly the vocabulary they label.
    assert set(workflow.STAGE_LABELS) == set(workflow.STAGES)
    assert set(workflow.CHANNEL_LABELS) == set(workflow.CHANNELS)
    assert set(KINDS) == set(KIND_CODES)


def test_no_room_too_big() -> None:
    """A file over ~500 lines, or a function over ~80, has more than one reason to change
    (STYLE.md): split it by reason."""
    files = {name: len(text.splitlines()) for name, text in SOURCES.items()}
    assert [f"{n}: {lines}" for n, lines in files.items() if lines > 520] == []
    long = [
        f"{path.relative_to(SRC)}:{node.name} {node.end_lineno - node.lineno + 1}"
        for path, tree in MODULES.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (node.end_lineno or 0) - node.lineno + 1 > 90
    ]
    assert long == []
