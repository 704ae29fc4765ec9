"""The layering of the code, checked from its source with ``ast`` (nothing is imported):

- the engine (``memviz/`` outside ``memviz/ui/``) never imports streamlit;
- the app's pages (``app_pages/``) reach the store only through the engine: no ``memviz.store`` imports, no
  store helpers (``sql_str_list``, ``memory_from_row``) by name;
- files stay small enough to read: a page at most 160 lines, ``memviz/engine.py`` at most 300, any file in
  ``memviz/`` at most 500.

ruff's banned-api rule (TID251, pyproject.toml) enforces the first one at lint time as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "memviz"
PAGES = REPO / "app_pages"

MAX_PAGE_LINES = 160
MAX_ENGINE_LINES = 300
MAX_PACKAGE_FILE_LINES = 500
STORE_HELPERS = {"sql_str_list", "memory_from_row"}

# SQL fragments no code outside memviz/store/ may hold: filters are typed (memviz.filters), the store renders them.
SQL_MARKS = (" IN (", "IS NULL", "IS NOT NULL", "array_has(", "batch_id = '")


def _py_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, at any depth (lazy imports included).

    ``from a import b`` yields both ``a`` and ``a.b`` (b may be a submodule); relative imports are resolved
    against the file's package.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                base_parts = base_parts[: len(base_parts) - (node.level - 1)] if node.level > 1 else base_parts
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
    return found


def _is_or_under(module: str, root: str) -> bool:
    return module == root or module.startswith(root + ".")


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_the_scan_sees_the_code():
    engine_files = [p for p in _py_files(PACKAGE) if "ui" not in p.relative_to(PACKAGE).parts]
    assert len(engine_files) > 10 and (PACKAGE / "engine.py") in engine_files
    assert len(_py_files(PAGES)) >= 5
    # The import scan itself: memviz/ui/ does import streamlit.
    assert any(_is_or_under(m, "streamlit") for p in _py_files(PACKAGE / "ui") for _, m in _imported_modules(p))


def test_engine_does_not_import_streamlit():
    bad = [
        f"{_rel(path)}:{line} imports {module}"
        for path in _py_files(PACKAGE)
        if "ui" not in path.relative_to(PACKAGE).parts
        for line, module in _imported_modules(path)
        if _is_or_under(module, "streamlit")
    ]
    assert not bad, "only memviz/ui/, app_pages/ and app.py may import streamlit:\n" + "\n".join(bad)


def _names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of every bare name, attribute and imported name in the tree."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_pages_do_not_reach_into_the_store():
    bad: dict[tuple[str, int], set[str]] = {}
    for path in _py_files(PAGES):
        for line, module in _imported_modules(path):
            if _is_or_under(module, "memviz.store"):
                bad.setdefault((_rel(path), line), set()).add("imports memviz.store")
        for line, name in _names(ast.parse(path.read_text(encoding="utf-8"))):
            if name in STORE_HELPERS:
                bad.setdefault((_rel(path), line), set()).add(f"names {name}")
            if name == "store":
                bad.setdefault((_rel(path), line), set()).add("touches engine.store")
    listing = [f"{file}:{line} " + ", ".join(sorted(why)) for (file, line), why in sorted(bad.items())]
    assert not listing, "pages go through the engine, not the store:\n" + "\n".join(listing)


def test_pages_are_short():
    long = [f"{_rel(p)}: {_lines(p)} lines" for p in _py_files(PAGES) if _lines(p) > MAX_PAGE_LINES]
    assert not long, f"a page is at most {MAX_PAGE_LINES} lines:\n" + "\n".join(long)


def test_engine_module_is_short():
    n = _lines(PACKAGE / "engine.py")
    assert n <= MAX_ENGINE_LINES, f"memviz/engine.py has {n} lines (at most {MAX_ENGINE_LINES})"


def test_package_files_are_short():
    long = [f"{_rel(p)}: {_lines(p)} lines" for p in _py_files(PACKAGE) if _lines(p) > MAX_PACKAGE_FILE_LINES]
    assert not long, f"a file in memviz/ is at most {MAX_PACKAGE_FILE_LINES} lines:\n" + "\n".join(long)


def test_no_sql_outside_the_store():
    bad = [
        f"{_rel(path)}:{node.lineno} {node.value[:60]!r}"
        for folder in (PACKAGE, PAGES)
        for path in _py_files(folder)
        if "store" not in path.relative_to(REPO).parts[1:2]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and not _is_docstring_like(node.value)
        and any(mark in node.value for mark in SQL_MARKS)
    ]
    assert not bad, "SQL is written only by memviz/store/sql.py (use memviz.filters):\n" + "\n".join(bad)


def _is_docstring_like(text: str) -> bool:
    return "\n" in text or "``" in text
