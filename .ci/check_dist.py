"""Checks the built wheel and sdist hold what a user installs, and nothing generic.

Usage: python .ci/check_dist.py DIST_DIR (one wheel and one sdist in it). The wheel must carry
exactly the modules of server/, tools/ and bookings/ under wix_meetings_mcp/ (a subpackage missing
from pyproject's package list would otherwise vanish silently); the sdist must carry LICENSE and
README.md.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "wix_meetings_mcp"


def expected_modules() -> set[str]:
    modules = {f"{NAMESPACE}/__init__.py", f"{NAMESPACE}/__main__.py"}
    for folder in ("server", "tools", "bookings"):
        for path in (ROOT / folder).rglob("*.py"):
            modules.add(f"{NAMESPACE}/{path.relative_to(ROOT).as_posix()}")
    # The public pages' templates and assets (pyproject's package-data).
    for pattern in (
        "server/templates/*.html",
        "server/static/*.css",
        "server/static/*.js",
        "server/static/*.svg",
    ):
        for path in ROOT.glob(pattern):
            modules.add(f"{NAMESPACE}/{path.relative_to(ROOT).as_posix()}")
    return modules


def main(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    info = {n for n in names if n.split("/")[0].endswith(".dist-info")}
    tops = sorted({n.split("/")[0] for n in names - info})
    if tops != [NAMESPACE]:
        sys.exit(f"wheel: top-level entries {tops}, expected only {NAMESPACE}")
    missing, extra = sorted(expected_modules() - names), sorted(names - info - expected_modules())
    if missing or extra:
        sys.exit(f"wheel: missing {missing}, unexpected {extra}")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in info):
        sys.exit("wheel: no LICENSE in its dist-info")

    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    absent = sorted({"LICENSE", "README.md", "pyproject.toml", "PKG-INFO"} - members)
    if absent:
        sys.exit(f"sdist: missing {absent}")
    print(f"dist ok: {wheel.name} ({len(names - info)} modules), {sdist.name} ({len(members)} entries)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
