"""Every file a page or a player needs at run time is shipped in the wheel, not only present in a checkout."""

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "cnnlab"


def _shipped(path: Path, package_data: dict[str, list[str]]) -> bool:
    relative = path.relative_to(PACKAGE.parent)
    for package, patterns in package_data.items():
        folder = PACKAGE.parent / package.replace(".", "/")
        if folder in path.parents and any(
            fnmatch.fnmatch(str(path.relative_to(folder)), pattern) for pattern in patterns
        ):
            return True
    return str(relative).endswith(".py")


def test_every_static_file_is_package_data():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    static = sorted(path for path in PACKAGE.rglob("static/*") if path.is_file())
    assert len(static) >= 10  # the lab's, the published page's and the animation player's
    missing = [str(path.relative_to(ROOT)) for path in static if not _shipped(path, package_data)]
    assert not missing, f"not in pyproject's [tool.setuptools.package-data], so not in a wheel: {missing}"
