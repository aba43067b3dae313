"""Runs named top-level definitions of a peer's source file, so that the generators in this
directory record what the peer's own code returns without importing (or copying) the rest of it."""
import ast
import sys


def load(path, names, namespace):
    """Executes the top-level functions or classes `names` of the file at `path` in `namespace`;
    exits naming the file when any of them is missing or defined twice."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found = [n for n in tree.body
             if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in names]
    if sorted(n.name for n in found) != sorted(names):
        sys.exit(f"{path}: expected definitions {names}, found {[n.name for n in found]}")
    exec(compile(ast.Module(body=found, type_ignores=[]), path, "exec"), namespace)
