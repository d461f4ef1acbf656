"""Check the built wheel and sdist in dist/: one of each, LICENSE and NOTICE inside both.

``twine check`` validates the metadata and the README rendering; this checks what it does not: that
the licence texts travel with the package, as the Apache License requires for redistribution.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

REQUIRED = ("LICENSE", "NOTICE")


def main(dist: Path) -> int:
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
        return 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel_names = {Path(name).name for name in wheel.namelist() if ".dist-info/licenses/" in name}
    with tarfile.open(sdists[0]) as sdist:
        # Top level of the sdist: <name>-<version>/LICENSE
        sdist_names = {Path(name).name for name in sdist.getnames() if name.count("/") == 1}
    problems = [
        f"{archive.name} lacks {required}"
        for archive, names in ((wheels[0], wheel_names), (sdists[0], sdist_names))
        for required in REQUIRED
        if required not in names
    ]
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{wheels[0].name} and {sdists[0].name} carry {', '.join(REQUIRED)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "dist")))
